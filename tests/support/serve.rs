//! `blast serve` as a child on 127.0.0.1:0 (`serve_cmd`, `Served`), and the
//! one raw HTTP client the tests that call it share (`call`, `send`,
//! `parse`): one call per connection, heads written exactly as given, so a
//! test can send what no well-behaved client would (a foreign Host, a
//! cross-site Origin, a body that never comes).

use super::runner::command;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

/// `blast serve --listen 127.0.0.1:0 --data-dir DIR ARGS...`, without the
/// caller's BLAST_TOKEN; stdout and stderr piped (set stderr as needed).
pub fn serve_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut all = vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let mut cmd = command(&all);
    cmd.env_remove("BLAST_TOKEN");
    cmd
}

/// A `blast serve` child, killed by its own handle when dropped.
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Served {
    /// Start `cmd` (a `serve_cmd`, maybe wrapped) and read its address from
    /// stdout's first line. Where there is none, the panic carries stderr
    /// if the caller left it piped.
    pub fn spawn(mut cmd: Command) -> Served {
        let mut child = cmd.spawn().expect("spawn blast serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(addr) = line.trim().strip_prefix("http://") else {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let _ = child.wait();
            panic!("blast serve did not start: stdout {line:?}, stderr:\n{err}");
        };
        let addr = addr.parse().unwrap();
        Served { child, addr }
    }

    /// Stop it (SIGKILL) and return what it wrote on stderr (if piped).
    pub fn stderr_after_stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        err
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One call to `addr`: `method path`, `Connection: close`, the header
/// lines `headers` (each `Name: value`), `Host: addr` unless `headers`
/// holds a Host, and `body` with its Content-Length.
pub fn call(addr: SocketAddr, method: &str, path: &str, headers: &[&str], body: &str) -> Reply {
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    if !headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("host:"))
    {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    send(addr, head.as_bytes(), body.as_bytes())
}

/// Write `head` and `body` on a new connection, read the whole answer.
pub fn send(addr: SocketAddr, head: &[u8], body: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(head).unwrap();
    // A refused call may close before reading all of a body.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse(&raw)
}

/// An answer: status, headers (names lowercased), body (dechunked).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The JSON error's text.
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Status 0: the server closed without an answer.
pub fn parse(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let Some((head, rest)) = text.split_once("\r\n\r\n") else {
        return Reply {
            status: 0,
            headers: Vec::new(),
            body: text.to_string(),
        };
    };
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        // A body cut short (a partial read) keeps what came whole.
        let Some(chunk) = rest.get(..n) else { break };
        out.push_str(chunk);
        s = rest.get(n + 2..).unwrap_or("");
    }
    out
}
