//! A `blast serve` process on 127.0.0.1:0 with a token it may send, on
//! the shared child and raw client of `support::serve`.

pub use crate::support::serve::Reply;
use crate::support::serve::{self, serve_cmd, Served};
use crate::support::Scratch;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// A running `blast serve`, killed (by its pid) when dropped.
pub struct Serve {
    served: Served,
    pub addr: SocketAddr,
    /// Sent as `Authorization: Bearer` on every call when set.
    pub token: Option<String>,
}

impl Serve {
    /// `blast serve --listen 127.0.0.1:0 --data-dir DIR ARGS...`; the address
    /// is stdout's first line.
    pub fn start(dir: &Path, args: &[&str]) -> Serve {
        let mut cmd = serve_cmd(dir, args);
        cmd.stderr(Stdio::null());
        let served = Served::spawn(cmd);
        Serve {
            addr: served.addr,
            served,
            token: None,
        }
    }

    /// SIGTERM, then its exit status once it has gone.
    pub fn terminate(&mut self) -> Option<i32> {
        unsafe { libc::kill(self.served.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Some(st) = self.served.child.try_wait().unwrap() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> Reply {
        call(self.addr, self.token.as_deref(), method, path, body)
    }

    pub fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None)
    }

    pub fn post(&self, path: &str, body: &str) -> Reply {
        self.call("POST", path, Some(body))
    }

    /// `POST /benchmark?wait=true` with `body`: answered 200, the run's
    /// JSON.
    pub fn run_waiting(&self, body: &str) -> Value {
        let r = self.post("/benchmark?wait=true", body);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    /// Open `path` (an event stream) and return its reader, past the head.
    pub fn stream(&self, path: &str) -> BufReader<TcpStream> {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let host = self.addr;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut r = BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(line.starts_with("HTTP/1.1 200"), "{line}");
        loop {
            line.clear();
            r.read_line(&mut line).unwrap();
            if line == "\r\n" {
                return r;
            }
        }
    }
}

/// A fresh, empty data dir for one test.
pub fn data_dir(name: &str) -> Scratch {
    Scratch::new(&format!("serve-it-{name}"))
}

/// One JSON call, with the token as `Authorization: Bearer` when given.
pub fn call(
    addr: SocketAddr,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Reply {
    let auth = token.map(|t| format!("Authorization: Bearer {t}"));
    let mut headers = vec!["Content-Type: application/json"];
    headers.extend(auth.as_deref());
    serve::call(addr, method, path, &headers, body.unwrap_or(""))
}

/// Send `head` (request line and headers, each ending in CRLF) as it is.
pub fn raw(addr: SocketAddr, head: &str) -> Reply {
    let head = format!("{head}Host: {addr}\r\nConnection: close\r\n\r\n");
    serve::send(addr, head.as_bytes(), b"")
}

/// The next event of an event stream: (name, data).
pub fn next_event(r: &mut BufReader<TcpStream>) -> Option<(String, Value)> {
    let (mut name, mut data) = (String::new(), String::new());
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end();
        // Chunk-size lines of the chunked encoding carry no colon.
        if let Some(v) = l.strip_prefix("event: ") {
            name = v.to_string();
        } else if let Some(v) = l.strip_prefix("data: ") {
            data = v.to_string();
        } else if l.is_empty() && !name.is_empty() && !data.is_empty() {
            return Some((name, serde_json::from_str(&data).unwrap()));
        }
    }
}
