//! A `blast serve` child with its pid (for /proc), and a raw client that
//! sends heads exactly as given, so a test can send what no well-behaved
//! client would: a foreign Host, a cross-site Origin, a body that never
//! comes.

use crate::support::{self, Scratch};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::time::Duration;

/// `blast serve --listen 127.0.0.1:0 --data-dir DIR ARGS...`, killed by
/// its own handle when dropped.
pub struct Serve {
    child: Child,
    pub addr: SocketAddr,
}

impl Serve {
    pub fn start(dir: &Scratch, args: &[&str]) -> Serve {
        let mut all = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        let mut cmd = support::command(&all);
        cmd.env_remove("BLAST_TOKEN").stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn blast serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("first line is not the address: {line:?}"))
            .parse()
            .unwrap();
        Serve { child, addr }
    }

    /// (VmRSS, VmHWM) in KiB, from /proc.
    pub fn rss_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let field = |k: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Open file descriptors of the server.
    pub fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).map_or(0, |d| d.count())
    }

    /// This server's own Host value.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// One call: `method path`, the extra header lines `headers` (each
    /// `Name: value`), and `body` with its Content-Length.
    pub fn call(&self, method: &str, path: &str, headers: &[&str], body: &str) -> Reply {
        let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
        for h in headers {
            head.push_str(h);
            head.push_str("\r\n");
        }
        if !headers
            .iter()
            .any(|h| h.to_ascii_lowercase().starts_with("host:"))
        {
            head.push_str(&format!("Host: {}\r\n", self.addr));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        send(self.addr, head.as_bytes(), body.as_bytes())
    }

    /// A POST of JSON, as a same-origin client sends it.
    pub fn post_json(&self, path: &str, body: &str) -> Reply {
        self.call("POST", path, &["Content-Type: application/json"], body)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Write `head` and `body`, read the whole answer.
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

/// An answer: status, headers (names lowercased), body.
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
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: rest.to_string(),
    }
}
