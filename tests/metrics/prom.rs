//! A real Prometheus (Debian's `prometheus` package) as a child of the
//! test: a config the test writes (scrape interval 1 s), its own TSDB in a
//! Scratch directory, 127.0.0.1 on a free port; killed by its own handle
//! when dropped. `query` asks its HTTP API; `get` is the raw HTTP/1.1 GET
//! the tests use for `/metrics` too.

use crate::support::nginx::free_port;
use crate::support::{have, wait_until, Scratch};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const PROMETHEUS: &str = "/usr/bin/prometheus";
pub const PROMTOOL: &str = "/usr/bin/promtool";

/// True when Debian's prometheus package is installed (a CI failure when
/// it is not: .ci/run installs it).
pub fn have_prometheus() -> bool {
    have(
        "prometheus",
        std::path::Path::new(PROMETHEUS).exists() && std::path::Path::new(PROMTOOL).exists(),
        "apt-get install prometheus (see .ci/run)",
    )
}

pub struct Prometheus {
    child: Child,
    pub addr: SocketAddr,
    _dir: Scratch,
}

impl Prometheus {
    /// Scrape `target` (host:port) at `/metrics` every second, with `token`
    /// as its Bearer credentials if given; `receiver`: accept remote writes.
    pub fn start(target: Option<SocketAddr>, token: Option<&str>, receiver: bool) -> Prometheus {
        let dir = Scratch::new("prom");
        let mut cfg = String::from("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n");
        if let Some(t) = target {
            cfg.push_str(&format!(
                "scrape_configs:\n  - job_name: blast\n    scrape_interval: 1s\n    \
                 scrape_timeout: 900ms\n    static_configs:\n      - targets: ['{t}']\n"
            ));
            if let Some(tok) = token {
                cfg.push_str(&format!("    authorization:\n      credentials: '{tok}'\n"));
            }
        }
        let config = dir.write("prometheus.yml", &cfg);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(Ipv4Addr::LOCALHOST)));
        let mut cmd = Command::new(PROMETHEUS);
        cmd.arg(format!("--config.file={config}"))
            .arg(format!("--storage.tsdb.path={}", dir.path_str("data")))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if receiver {
            cmd.arg("--web.enable-remote-write-receiver");
        }
        let child = cmd.spawn().expect("spawn prometheus");
        let p = Prometheus {
            child,
            addr,
            _dir: dir,
        };
        wait_until(Duration::from_secs(30), "prometheus ready", || {
            get(p.addr, "/-/ready", &[]).is_some_and(|(s, _)| s == 200)
        });
        // Its scrape manager takes up new targets every 5 s: wait for the
        // first scrape (up or down) so the run is scraped from its start.
        if target.is_some() {
            wait_until(Duration::from_secs(30), "prometheus scraping", || {
                !p.query("up").is_empty()
            });
        }
        p
    }

    /// An instant query's result vector (`data.result`).
    pub fn query(&self, expr: &str) -> Vec<Value> {
        let q: String =
            percent_encoding::utf8_percent_encode(expr, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let (status, body) = get(self.addr, &format!("/api/v1/query?query={q}"), &[])
            .unwrap_or_else(|| panic!("prometheus did not answer {expr}"));
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(status, 200, "{expr}: {body}");
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// The one number an instant query returns (None: empty result).
    pub fn scalar(&self, expr: &str) -> Option<f64> {
        let r = self.query(expr);
        assert!(r.len() <= 1, "{expr}: {r:?}");
        r.first()
            .map(|s| s["value"][1].as_str().unwrap().parse::<f64>().unwrap())
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET `path` from `addr` with the header lines `headers`: (status, body),
/// or None when nothing answered within 5 s.
pub fn get(addr: SocketAddr, path: &str, headers: &[&str]) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (h, body) = text.split_once("\r\n\r\n")?;
    let status = h.split(' ').nth(1)?.parse().ok()?;
    let chunked = h
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Some((
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_string()
        },
    ))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}
