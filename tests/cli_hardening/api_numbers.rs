//! Defect 8 (a): `POST /benchmark` with a whole number above u64 (`seed`,
//! `num_workers`, ...) was clamped to u64::MAX, and one above 2^53 lost
//! its last digits on the way through a float. Now a number a u64 cannot
//! hold is refused (400, naming the field), and one it can is kept exactly.

use crate::support::{self, Scratch};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};

/// `blast serve` on 127.0.0.1:0, killed (by its pid) when dropped.
struct Serve {
    child: Child,
    addr: SocketAddr,
    _dir: Scratch,
}

impl Serve {
    fn start() -> Serve {
        let dir = Scratch::new("api-numbers");
        let mut cmd = support::command(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.to_str().unwrap(),
        ]);
        cmd.env_remove("BLAST_TOKEN").stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line.trim().trim_start_matches("http://").parse().unwrap();
        Serve {
            child,
            addr,
            _dir: dir,
        }
    }

    /// POST `body` to /benchmark: the status and the JSON answer.
    fn post(&self, body: &str) -> (u16, Value) {
        let mut s = TcpStream::connect(self.addr).unwrap();
        write!(
            s,
            "POST /benchmark HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut all = String::new();
        s.read_to_string(&mut all).unwrap();
        let status = all[9..12].parse().unwrap();
        let json = all.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        (status, serde_json::from_str(json).unwrap_or(Value::Null))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn whole_numbers_above_u64_are_refused_naming_the_field() {
    let s = Serve::start();
    for (field, value) in [
        ("seed", "18446744073709551616"),
        ("seed", "1e30"),
        ("num_workers", "1e20"),
        ("connections", "36893488147419103232"),
        ("requests", "1e300"),
        ("threads", "18446744073709551616"),
    ] {
        let body = format!(r#"{{"url": "http://127.0.0.1:9/", "{field}": {value}}}"#);
        let (status, j) = s.post(&body);
        assert_eq!(status, 400, "{body}: {j}");
        assert_eq!(j["field"], field, "{body}: {j}");
    }
}
