//! HTTPS runs that cannot get through: blast must exit 3 at once with one
//! line naming the cause and its remedy, and the server must have answered
//! nothing. A server that does answer (nginx answers a missing client
//! certificate with HTTP 400) is reported as it answered.

use crate::support::nginx::{free_port, make_certificates, Nginx, NginxOptions};
use crate::support::{command_line, run_cmd, Run, Scratch};
use crate::{json_run, u};
use std::net::{Ipv4Addr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

both_engines!(
    unknown_issuer_exits_3_at_once,
    name_mismatch_exits_3,
    plain_http_server_on_https_url,
    client_certificate_refused_in_handshake,
    ca_certificate_as_server_certificate,
);

/// Run blast on `engine`, killed after 20 s; `ca_file` replaces the
/// system's trust store (SSL_CERT_FILE) when given.
fn blast(engine: &str, flags: &str, url: &str, ca_file: Option<&str>) -> Run {
    let mut cmd = command_line(&format!("{flags} --engine {engine}"), url);
    if let Some(f) = ca_file {
        cmd.env("SSL_CERT_FILE", f);
    }
    run_cmd(cmd, Duration::from_secs(20))
}

/// Exit 3 within `limit`, one line on stderr holding every `want`. The
/// runs ask for 10 s, so a limit well under that shows blast gave up at
/// once rather than retrying; only the unknown-issuer test holds blast to
/// 2 s, as the cli tests do for a refused connection (the others allow for
/// a loaded machine).
fn fails_at_once(r: &Run, want: &[&str], limit: Duration) {
    assert_eq!(r.code, 3, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    for w in want {
        assert!(r.stderr.contains(w), "{w:?} not in {}", r.stderr);
    }
    assert!(r.elapsed < limit, "took {:?}", r.elapsed);
    eprintln!("exit 3 after {:?}: {}", r.elapsed, r.stderr.trim());
}

/// The server's CA is not trusted: not by the system (no --cacert), not by
/// a --cacert holding another CA.
fn unknown_issuer_exits_3_at_once(engine: &str) {
    let ngx = Nginx::start(NginxOptions::tls());
    let url = ngx.url("/");
    let want = ["unknown issuer", "--cacert", "-k"];
    // The system's roots where it has them; else a store without our CA.
    let system = Path::new("/etc/ssl/certs/ca-certificates.crt").is_file();
    let other = ngx.other_ca();
    let r = blast(engine, "-d 10s", &url, (!system).then_some(other.as_str()));
    fails_at_once(&r, &want, Duration::from_secs(2));
    let r = blast(engine, &format!("-d 10s --cacert {other}"), &url, None);
    fails_at_once(&r, &want, Duration::from_secs(2));
    assert_eq!(ngx.requests(), 0);
}

/// The certificate names localhost and 127.0.0.1; the URL says 127.0.0.2.
fn name_mismatch_exits_3(engine: &str) {
    let ngx = Nginx::start(NginxOptions {
        ip: "127.0.0.2".parse().unwrap(),
        ..NginxOptions::tls()
    });
    let url = ngx.url("/");
    assert!(url.starts_with("https://127.0.0.2:"), "{url}");
    let r = blast(engine, &format!("-d 10s --cacert {}", ngx.ca()), &url, None);
    fails_at_once(
        &r,
        &["not valid for the host name", "-k"],
        Duration::from_secs(5),
    );
    assert_eq!(ngx.requests(), 0);
    // The server itself is fine: -k gets through.
    let j = json_run(engine, "-n 50 -c 1 -k", &url);
    assert_eq!(u(&j, "requests"), 50);
    assert_eq!(ngx.requests(), 50);
}

/// A plain HTTP server behind an https:// URL: named at once, no hang.
fn plain_http_server_on_https_url(engine: &str) {
    let ngx = Nginx::start(NginxOptions::default());
    let url = ngx.url("/").replace("http://", "https://");
    let r = blast(engine, "-d 10s -k", &url, None);
    fails_at_once(
        &r,
        &["did not answer in TLS", "http://"],
        Duration::from_secs(5),
    );
}

/// nginx with `ssl_verify_client on`: with the client certificate every
/// request gets through; without it nginx completes the handshake and
/// answers each request 400, which blast must report as such and explain.
#[test]
fn client_certificate() {
    let ngx = Nginx::start(NginxOptions {
        client_auth: true,
        ..NginxOptions::tls()
    });
    let url = ngx.url("/");
    let (cert, key) = ngx.client_cert();
    let flags = format!(
        "-n 1000 -c 4 --cacert {} --cert {cert} --key {key}",
        ngx.ca()
    );
    for engine in ["epoll", "uring"] {
        if engine == "uring" && !crate::support::uring_available() {
            continue;
        }
        ngx.clear_log();
        let j = json_run(engine, &flags, &url);
        assert_eq!(u(&j, "requests"), 1000);
        assert_eq!(u(&j, "status_codes.200"), 1000);
        assert_eq!(ngx.requests(), 1000);
        assert!(ngx.log().iter().all(|l| l.status == 200));
    }

    ngx.clear_log();
    let r = blast(
        "epoll",
        &format!("-n 20 -c 2 --cacert {}", ngx.ca()),
        &url,
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(ngx.requests(), 20);
    assert!(ngx.log().iter().all(|l| l.status == 400));
    assert!(
        r.stdout.contains("Non-2xx or 3xx responses: 20"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("asked for a client certificate") && r.stderr.contains("--cert"),
        "stderr does not explain the 400s:\n{}",
        r.stderr
    );
}

/// `openssl s_server -www` with the certificates of `make_certificates`
/// in its directory. With `-Verify 1`, unlike nginx, it aborts the
/// handshake when the client has no certificate (TLS 1.3: a
/// certificate_required alert after the client's Finished, so blast sees it
/// on its first read; TLS 1.2: a bare handshake_failure during the handshake).
struct SServer {
    child: Child,
    port: u16,
    /// Shared with the failed tries of `start`, so only the last owner removes it.
    dir: Arc<Scratch>,
}

impl SServer {
    /// `args`: the server's certificate and key (`-cert`, `-key`) and any other options.
    fn start(args: &[&str]) -> SServer {
        let dir = Arc::new(Scratch::new("s_server"));
        make_certificates(&dir);
        for _ in 0..5 {
            let port = free_port(Ipv4Addr::LOCALHOST);
            let mut cmd = Command::new("openssl");
            cmd.args(["s_server", "-quiet", "-www"])
                .args(args)
                .args(["-accept", &format!("127.0.0.1:{port}")])
                .current_dir(&**dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // SAFETY: prctl is async-signal-safe; the server dies with the test.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            let mut s = SServer {
                child: cmd.spawn().expect("start openssl s_server"),
                port,
                dir: dir.clone(),
            };
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until {
                if let Ok(Some(_)) = s.child.try_wait() {
                    break; // could not bind: try another port
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return s;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("openssl s_server did not start");
    }

    fn ca(&self) -> String {
        self.dir.join("ca.crt").to_str().unwrap().to_string()
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        // Our own child, by its pid.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server that refuses the handshake without a client certificate: exit
/// 3 naming the certificate requirement, on TLS 1.3 and 1.2 alike.
fn client_certificate_refused_in_handshake(engine: &str) {
    for version in ["-tls1_3", "-tls1_2"] {
        let s = SServer::start(&[
            "-Verify",
            "1",
            version,
            "-cert",
            "server.crt",
            "-key",
            "server.key",
            "-CAfile",
            "ca.crt",
        ]);
        let url = format!("https://127.0.0.1:{}/", s.port);
        let r = blast(
            engine,
            &format!("-d 10s -c 2 --cacert {}", s.ca()),
            &url,
            None,
        );
        fails_at_once(
            &r,
            &["requires a client certificate", "--cert"],
            Duration::from_secs(5),
        );
    }
}

/// A self-signed certificate as `openssl req -x509` makes it (marked as a
/// CA, which WebPKI refuses as a server's own). Given with --cacert it is
/// trusted as itself, as curl does; otherwise blast names what the server
/// presented and how to trust it.
fn ca_certificate_as_server_certificate(engine: &str) {
    let s = SServer::start(&["-cert", "self.crt", "-key", "self.key"]);
    let url = format!("https://127.0.0.1:{}/", s.port);
    let own = s.dir.join("self.crt");
    let r = blast(
        engine,
        &format!("-n 5 -c 1 --json --cacert {}", own.display()),
        &url,
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(u(&r.json(), "requests"), 5, "{}", r.stdout);
    assert_eq!(u(&r.json(), "status_codes.200"), 5, "{}", r.stdout);
    // Trusting another CA instead: the cause and both remedies.
    let r = blast(engine, &format!("-d 10s --cacert {}", s.ca()), &url, None);
    fails_at_once(
        &r,
        &["is a CA certificate", "--cacert", "-k"],
        Duration::from_secs(5),
    );
}
