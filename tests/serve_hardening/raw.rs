//! A `blast serve` child with its pid (for /proc), called through the raw
//! client of `support::serve`, which sends heads exactly as given, so a
//! test can send what no well-behaved client would: a foreign Host, a
//! cross-site Origin, a body that never comes.

use crate::support::serve::{self, serve_cmd, Reply, Served};
use crate::support::Scratch;
use std::net::SocketAddr;
use std::process::Stdio;

/// `blast serve --listen 127.0.0.1:0 --data-dir DIR ARGS...`, killed by
/// its own handle when dropped.
pub struct Serve {
    served: Served,
    pub addr: SocketAddr,
}

impl Serve {
    pub fn start(dir: &Scratch, args: &[&str]) -> Serve {
        let mut cmd = serve_cmd(dir, args);
        cmd.stderr(Stdio::inherit());
        let served = Served::spawn(cmd);
        Serve {
            addr: served.addr,
            served,
        }
    }

    /// (VmRSS, VmHWM) in KiB, from /proc.
    pub fn rss_kib(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.served.child.id())).unwrap();
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
        std::fs::read_dir(format!("/proc/{}/fd", self.served.child.id())).map_or(0, |d| d.count())
    }

    /// This server's own Host value.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// One call: `method path`, the extra header lines `headers` (each
    /// `Name: value`), and `body` with its Content-Length.
    pub fn call(&self, method: &str, path: &str, headers: &[&str], body: &str) -> Reply {
        serve::call(self.addr, method, path, headers, body)
    }

    /// A POST of JSON, as a same-origin client sends it.
    pub fn post_json(&self, path: &str, body: &str) -> Reply {
        self.call("POST", path, &["Content-Type: application/json"], body)
    }
}
