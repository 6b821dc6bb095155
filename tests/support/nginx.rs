//! A real nginx (Debian's `nginx-light`) as a test server, so blast's TLS
//! (and later HTTP/2) is checked against a server it was not written with.
//!
//! Everything lives in one temporary directory: the config, pid file, logs,
//! temp paths, the static file and (with TLS) a test CA with the server and
//! client certificates it signed, made with the `openssl` CLI. nginx runs in
//! the foreground as one process (`master_process off`, so the pid we hold
//! is the pid that serves, and killing it leaves no orphan worker) on
//! 127.0.0.1 or another loopback address. nginx cannot bind port 0, so a
//! free port is found by binding port 0 and letting it go; if someone takes
//! it in between, nginx fails to bind and is started again on another.
//!
//! The access log has one line per request nginx answered, so a test counts
//! what the server actually received: `requests()`, `connections()` and
//! `resumed_connections()` read it.
//!
//! A missing nginx or openssl fails the test (it does not skip): CI installs
//! both (`.ci/run`).

use super::Scratch;
use std::collections::HashSet;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The fixed answer of every path but `/static`.
pub const BODY: &str = "hello from nginx\n";

/// How to configure nginx. `Default` is plain HTTP/1.1 on 127.0.0.1.
#[derive(Clone, Debug)]
pub struct NginxOptions {
    /// `listen ... ssl`, with a certificate for `localhost` and `127.0.0.1`
    /// signed by the instance's test CA (`Nginx::ca`).
    pub tls: bool,
    /// `ssl_verify_client on`, trusting the test CA (`Nginx::client_cert`).
    pub client_auth: bool,
    /// `http2` on the listen line (h2 with TLS, h2c without).
    pub http2: bool,
    /// `keepalive_requests N`; nginx's default (1000) when None.
    pub keepalive_requests: Option<u64>,
    /// Size of the file served at `/static` (its bytes: `static_bytes`).
    pub static_size: usize,
    /// Loopback address to listen on.
    pub ip: Ipv4Addr,
}

impl Default for NginxOptions {
    fn default() -> Self {
        NginxOptions {
            tls: false,
            client_auth: false,
            http2: false,
            keepalive_requests: None,
            static_size: 1024,
            ip: Ipv4Addr::LOCALHOST,
        }
    }
}

impl NginxOptions {
    /// HTTPS with the test CA's certificate.
    pub fn tls() -> Self {
        NginxOptions {
            tls: true,
            ..Default::default()
        }
    }
}

/// One request as nginx logged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub status: u16,
    pub method: String,
    /// `HTTP/1.1`, `HTTP/2.0`.
    pub protocol: String,
    /// `TLSv1.3`, or `-` without TLS.
    pub tls: String,
    /// nginx's connection serial number.
    pub connection: u64,
    /// The TLS session was resumed (`$ssl_session_reused`).
    pub resumed: bool,
    /// Request line, headers and body.
    pub request_length: u64,
}

pub struct Nginx {
    pub addr: SocketAddr,
    /// Shared with the failed tries of `start`, so only the last owner removes it.
    dir: Arc<Scratch>,
    tls: bool,
    child: Child,
}

/// nginx on PATH, else Debian's /usr/sbin/nginx (not on a user's PATH).
fn nginx_bin() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "nginx not found (on PATH or /usr/sbin): these tests need a real nginx; \
                 install Debian's nginx-light (apt-get install nginx-light), as .ci/run does"
            )
        })
}

/// Bytes of the static file of `size`: a pattern a test can compare.
pub fn static_bytes(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Write `static_bytes(size)` in pieces. The test process must not hold a
/// large file in memory: a child spawned later (vfork, then exec) reports
/// this process's peak RSS as part of its own `ru_maxrss`.
fn write_static(path: &Path, size: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let period: Vec<u8> = static_bytes(26 * 2520);
    let mut left = size;
    while left > 0 {
        let n = left.min(period.len());
        f.write_all(&period[..n]).unwrap();
        left -= n;
    }
    f.flush().unwrap();
}

impl Nginx {
    pub fn start(o: NginxOptions) -> Nginx {
        let dir = Arc::new(Scratch::new("nginx"));
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        std::fs::create_dir_all(dir.join("www")).unwrap();
        write_static(&dir.join("www/static"), o.static_size);
        if o.tls {
            make_certificates(&dir);
        }
        let bin = nginx_bin();
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port(o.ip);
            let addr = SocketAddr::new(IpAddr::V4(o.ip), port);
            std::fs::write(dir.join("nginx.conf"), config(&o, &dir, addr)).unwrap();
            let _ = std::fs::remove_file(dir.join("nginx.pid"));
            let _ = std::fs::remove_file(dir.join("error.log"));
            let mut cmd = Command::new(&bin);
            cmd.arg("-p")
                .arg(&**dir)
                .arg("-e")
                .arg(dir.join("error.log"))
                .arg("-c")
                .arg(dir.join("nginx.conf"))
                .args(["-g", "daemon off; master_process off;"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // SAFETY: prctl is async-signal-safe. If the test process dies
            // without dropping us, nginx goes with it.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            let child = cmd.spawn().expect("start nginx");
            let mut n = Nginx {
                addr,
                dir: dir.clone(),
                tls: o.tls,
                child,
            };
            if n.wait_ready() {
                return n;
            }
            last_log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
            if !last_log.contains("Address already in use") {
                break;
            }
        }
        panic!(
            "nginx did not start ({}); error log:\n{last_log}\nconfig:\n{}",
            dir.display(),
            std::fs::read_to_string(dir.join("nginx.conf")).unwrap_or_default()
        );
    }

    /// Up when nginx has written its pid file (after binding its sockets)
    /// and the port accepts; false if it exited first (it is reaped).
    fn wait_ready(&mut self) -> bool {
        let pid = self.child.id().to_string();
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            let written =
                std::fs::read_to_string(self.dir.join("nginx.pid")).is_ok_and(|p| p.trim() == pid);
            if written && TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok() {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        false
    }

    fn kill(&mut self) {
        // Our own child, by its pid (Child::kill), then reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `https://127.0.0.1:PORT{path}` (or http://).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// The test CA's certificate (PEM), for `--cacert`.
    pub fn ca(&self) -> String {
        self.path("ca.crt")
    }

    /// A CA that did not sign the server's certificate.
    pub fn other_ca(&self) -> String {
        self.path("other-ca.crt")
    }

    /// A client certificate and key (PEM) the test CA signed, for `--cert`/`--key`.
    pub fn client_cert(&self) -> (String, String) {
        (self.path("client.crt"), self.path("client.key"))
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    /// Every request nginx answered so far, in order. nginx writes a line
    /// just after sending its response, so a client may have read the
    /// response and exited first: read until the log stops growing.
    pub fn log(&self) -> Vec<Logged> {
        let read = || std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default();
        let until = Instant::now() + Duration::from_secs(5);
        let mut text = read();
        loop {
            thread::sleep(Duration::from_millis(100));
            let again = read();
            let settled = again.len() == text.len();
            text = again;
            if settled || Instant::now() > until {
                break;
            }
        }
        text.lines().map(parse_line).collect()
    }

    pub fn requests(&self) -> u64 {
        self.log().len() as u64
    }

    /// Connections that carried at least one request.
    pub fn connections(&self) -> u64 {
        let set: HashSet<u64> = self.log().iter().map(|l| l.connection).collect();
        set.len() as u64
    }

    /// Connections whose TLS session was resumed.
    pub fn resumed_connections(&self) -> u64 {
        let set: HashSet<u64> = self
            .log()
            .iter()
            .filter(|l| l.resumed)
            .map(|l| l.connection)
            .collect();
        set.len() as u64
    }

    /// Forget what was logged so far (between two runs on one server).
    pub fn clear_log(&self) {
        std::fs::write(self.dir.join("access.log"), "").unwrap();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // The directory (config and logs) goes with `dir`, or stays for a
        // failing test.
        self.kill();
    }
}

fn parse_line(line: &str) -> Logged {
    let f: Vec<&str> = line.split(' ').collect();
    assert_eq!(f.len(), 7, "unexpected access log line: {line}");
    let num = |s: &str| -> u64 {
        s.parse()
            .unwrap_or_else(|_| panic!("unexpected access log line: {line}"))
    };
    Logged {
        status: num(f[0]) as u16,
        method: f[1].to_string(),
        protocol: f[2].to_string(),
        tls: f[3].to_string(),
        resumed: f[4] == "r",
        connection: num(f[5]),
        request_length: num(f[6]),
    }
}

/// A port that was free a moment ago on `ip`.
pub fn free_port(ip: Ipv4Addr) -> u16 {
    TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("bind {ip}:0: {e}"))
        .port()
}

fn config(o: &NginxOptions, dir: &Path, addr: SocketAddr) -> String {
    let d = dir.display();
    let mut listen = format!("listen {addr}");
    if o.tls {
        listen.push_str(" ssl");
    }
    if o.http2 {
        listen.push_str(" http2");
    }
    let mut tls = String::new();
    if o.tls {
        // nginx 1.22 leaves TLS 1.3 out of its default protocols.
        tls = format!(
            "ssl_certificate {d}/server.crt;\n    ssl_certificate_key {d}/server.key;\n    \
             ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_session_tickets on;\n    \
             ssl_session_cache shared:tls:1m;\n"
        );
        if o.client_auth {
            tls.push_str(&format!(
                "    ssl_client_certificate {d}/ca.crt;\n    ssl_verify_client on;\n"
            ));
        }
    }
    let keepalive = o
        .keepalive_requests
        .map(|n| format!("keepalive_requests {n};"))
        .unwrap_or_default();
    format!(
        r#"worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log notice;
events {{ worker_connections 4096; }}
http {{
  log_format blast '$status $request_method $server_protocol $ssl_protocol $ssl_session_reused $connection $request_length';
  access_log {d}/access.log blast;
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  default_type application/octet-stream;
  server {{
    {listen};
    server_name localhost;
    {keepalive}
    {tls}
    location = /static {{ root {d}/www; }}
    location / {{ return 200 "{body}"; }}
  }}
}}
"#,
        body = BODY.escape_default(),
    )
}

/// Write into `dir` a test CA (`ca.crt`), a server certificate for
/// localhost/127.0.0.1 (`server.crt`, `server.key`) and a client
/// certificate (`client.crt`, `client.key`), both signed by it, and another
/// CA that signed nothing (`other-ca.crt`), and a self-signed server
/// certificate as `openssl req -x509` makes it, marked as a CA (`self.crt`,
/// `self.key`); EC P-256 keys, fast to make.
pub fn make_certificates(dir: &Path) {
    let ssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("openssl: {e} (install Debian's openssl package, as .ci/run does)")
            });
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-days",
        "2",
        "-subj",
        "/CN=blast test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    ssl(&ca);
    // A CA that signed nothing here: trusting it is trusting the wrong CA.
    let other: Vec<&str> = ca
        .iter()
        .map(|a| match *a {
            "/CN=blast test CA" => "/CN=blast other CA",
            "ca.key" => "other-ca.key",
            "ca.crt" => "other-ca.crt",
            a => a,
        })
        .collect();
    ssl(&other);
    // A server certificate made the quick way: self-signed, so marked as a
    // CA by openssl's defaults, for localhost and 127.0.0.1.
    let mut own = vec!["req", "-x509"];
    own.extend(ec);
    own.extend([
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout",
        "self.key",
        "-out",
        "self.crt",
    ]);
    ssl(&own);
    for (who, cn, ext) in [
        (
            "server",
            "/CN=localhost",
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
        ),
        (
            "client",
            "/CN=blast test client",
            "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n",
        ),
    ] {
        let (key, csr, crt, extfile) = (
            format!("{who}.key"),
            format!("{who}.csr"),
            format!("{who}.crt"),
            format!("{who}.ext"),
        );
        std::fs::write(dir.join(&extfile), ext).unwrap();
        let mut req = vec!["req"];
        req.extend(ec);
        req.extend(["-subj", cn, "-keyout", &key, "-out", &csr]);
        ssl(&req);
        ssl(&[
            "x509", "-req", "-in", &csr, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", &extfile, "-out", &crt,
        ]);
    }
}
