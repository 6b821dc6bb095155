//! HTTPS against servers blast was not written with (nginx, through
//! `support::nginx`) and against its own `blast target --tls`: what the
//! server logged or counted against what blast reported. `failures` covers
//! the runs that cannot get through (wrong CA, wrong name, no client
//! certificate, not TLS at all).

mod failures;

use crate::support::nginx::{static_bytes, Nginx, NginxOptions};
use crate::support::{run_line, Scratch, TargetProcess};
use crate::{json_run, ok_server, u};
use serde_json::Value;

both_engines!(
    exact_count_against_nginx,
    exact_count_against_blast_target,
    resumption_on_and_off,
);

/// `blast target --tls` as a child process of the test, with the
/// certificate it wrote.
struct Target {
    process: TargetProcess,
    cert: String,
    _dir: Scratch,
}

impl Target {
    fn start(tag: &str) -> Target {
        let dir = Scratch::new(&format!("tls-{tag}"));
        let cert_out = dir.path_str("target.pem");
        let process = TargetProcess::start(&["--tls", "--threads", "1", "--cert-out", &cert_out]);
        // listening on https://ADDR (certificate: PATH)
        assert!(process.url.starts_with("https://"), "{:?}", process.line);
        let cert = process
            .line
            .split_once(" (certificate: ")
            .unwrap_or_else(|| panic!("no certificate path in {:?}", process.line))
            .1
            .trim_end_matches(')')
            .to_string();
        assert_eq!(cert, cert_out);
        Target {
            process,
            cert,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("{}/", self.process.url)
    }

    /// Stop the target (SIGTERM to its pid) and return the requests it
    /// served, from its last line `served N requests on M connections`.
    fn served(self) -> u64 {
        self.process.served()
    }
}

fn no_errors(j: &Value) {
    for k in [
        "connect", "read", "write", "timeout", "status", "parse", "tls",
    ] {
        assert_eq!(u(j, &format!("errors.{k}")), 0, "errors.{k} in {j}");
    }
}

/// 10,000 requests over TLS to nginx, which closes each connection after
/// 100: exactly 10,000 answered, one handshake per connection nginx saw,
/// and the resumed ones agree on both sides.
fn exact_count_against_nginx(engine: &str) {
    let ngx = Nginx::start(NginxOptions {
        keepalive_requests: Some(100),
        ..NginxOptions::tls()
    });
    let flags = format!("-n 10000 -c 10 --cacert {}", ngx.ca());
    let j = json_run(engine, &flags, &ngx.url("/"));
    assert_eq!(u(&j, "requests"), 10_000);
    assert_eq!(u(&j, "status_codes.200"), 10_000);
    no_errors(&j);
    let log = ngx.log();
    assert_eq!(log.len(), 10_000);
    assert!(log.iter().all(|l| l.status == 200 && l.tls == "TLSv1.3"));
    assert_eq!(u(&j, "tls.handshakes"), ngx.connections(), "{}", j["tls"]);
    assert!(ngx.connections() >= 100, "{}", ngx.connections());
    assert_eq!(u(&j, "tls.resumed"), ngx.resumed_connections());
    eprintln!(
        "{engine}: nginx logged {} requests on {} connections, {} resumed; blast: {}",
        log.len(),
        ngx.connections(),
        ngx.resumed_connections(),
        j["tls"]
    );
}

/// The same against `blast target --tls`, trusting the certificate it wrote.
fn exact_count_against_blast_target(engine: &str) {
    let t = Target::start(engine);
    let flags = format!("-n 10000 -c 10 --cacert {}", t.cert);
    let j = json_run(engine, &flags, &t.url());
    assert_eq!(u(&j, "requests"), 10_000);
    no_errors(&j);
    assert_eq!(j["tls"]["version"], "TLSv1.3");
    assert_eq!(t.served(), 10_000);
}

/// Without keep-alive every request is a handshake: with resumption on,
/// later ones resume (and nginx agrees which); off, none does.
fn resumption_on_and_off(engine: &str) {
    let ngx = Nginx::start(NginxOptions::tls());
    for resume in ["on", "off"] {
        ngx.clear_log();
        let flags = format!(
            "--no-keepalive -n 500 -c 4 --tls-resume {resume} --cacert {}",
            ngx.ca()
        );
        let j = json_run(engine, &flags, &ngx.url("/"));
        assert_eq!(u(&j, "requests"), 500);
        no_errors(&j);
        assert_eq!(u(&j, "tls.handshakes"), 500, "{}", j["tls"]);
        assert_eq!(ngx.requests(), 500);
        assert_eq!(ngx.connections(), 500);
        let resumed = u(&j, "tls.resumed");
        assert_eq!(resumed, ngx.resumed_connections(), "--tls-resume {resume}");
        eprintln!(
            "{engine} --tls-resume {resume}: 500 handshakes, {resumed} resumed (nginx agrees)"
        );
        if resume == "on" {
            // The first connection of each worker has no ticket yet.
            assert!(resumed >= 400, "only {resumed} of 500 resumed");
        } else {
            assert_eq!(resumed, 0);
        }
    }
}

/// `-k` needs no CA; `--cacert` with the right CA passes too.
#[test]
fn insecure_and_cacert_both_pass() {
    let ngx = Nginx::start(NginxOptions::tls());
    let url = ngx.url("/");
    let j = json_run("epoll", "-n 200 -c 2 -k", &url);
    assert_eq!(u(&j, "requests"), 200);
    no_errors(&j);
    assert_eq!(ngx.requests(), 200);
    let j = json_run("epoll", &format!("-n 200 -c 2 --cacert {}", ngx.ca()), &url);
    assert_eq!(u(&j, "requests"), 200);
    assert_eq!(ngx.requests(), 400);
    // The name in the certificate, as well as its address.
    let by_name = url.replace("127.0.0.1", "localhost");
    let j = json_run(
        "epoll",
        &format!("-n 200 -c 2 --cacert {}", ngx.ca()),
        &by_name,
    );
    assert_eq!(u(&j, "requests"), 200);
    assert_eq!(ngx.requests(), 600);
}

/// What was negotiated, in JSON and in the text report; none of it over http://.
#[test]
fn report_shows_what_was_negotiated() {
    let ngx = Nginx::start(NginxOptions::tls());
    let flags = format!("-n 100 -c 2 --cacert {}", ngx.ca());
    let j = json_run("epoll", &flags, &ngx.url("/"));
    let tls = &j["tls"];
    assert_eq!(tls["version"], "TLSv1.3", "{tls}");
    let cipher = tls["cipher"].as_str().unwrap();
    assert!(cipher.starts_with("TLS13_"), "{cipher}");
    assert_eq!(tls["alpn"], "http/1.1", "{tls}");
    assert_eq!(u(&j, "tls.handshakes"), 2, "{tls}");
    // tls_handshake_us has connect_us's shape, and sane values.
    let (hs, conn) = (&j["tls_handshake_us"], &j["connect_us"]);
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(hs), keys(conn), "{hs} vs {conn}");
    let (min, p50, max) = (
        u(&j, "tls_handshake_us.min"),
        u(&j, "tls_handshake_us.p50"),
        u(&j, "tls_handshake_us.max"),
    );
    assert!(0 < min && min <= p50 && p50 <= max, "{hs}");

    let r = run_line(&flags, &ngx.url("/"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = r
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("TLS:"))
        .unwrap_or_else(|| panic!("no TLS: line in\n{}", r.stdout));
    for want in ["TLSv1.3", cipher, "ALPN http/1.1", "handshakes"] {
        assert!(line.contains(want), "{want:?} not in {line:?}");
    }

    let plain = ok_server();
    let j = json_run("epoll", "-n 10 -c 1", &plain.url());
    assert!(j["tls"].is_null() && j["tls_handshake_us"].is_null(), "{j}");
    let r = run_line("-n 10 -c 1", &plain.url());
    assert!(!r.stdout.contains("TLS:"), "{}", r.stdout);
}

/// `--body-file https://...` is fetched over TLS with the run's --cacert,
/// and the target receives exactly those bytes.
#[test]
fn body_file_fetched_over_https() {
    let size = 100_000;
    let ngx = Nginx::start(NginxOptions {
        static_size: size,
        ..NginxOptions::tls()
    });
    let target = ok_server();
    let body_url = ngx.url("/static");
    let flags = format!("-n 3 -c 1 --cacert {} --body-file {body_url}", ngx.ca());
    let r = run_line(&flags, &target.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(target.requests(), 3);
    let want = static_bytes(size);
    for got in target.received() {
        assert_eq!(got.method, "POST");
        assert_eq!(got.body.len(), size);
        assert!(
            got.body == want,
            "the body differs from the file nginx served"
        );
    }
    let log = ngx.log();
    assert_eq!(log.len(), 1, "fetched once: {log:?}");
    assert_eq!((log[0].method.as_str(), log[0].status), ("GET", 200));
    // --cacert served the fetch: it is not "ignored for an http:// URL"
    // (as it is without an https:// body).
    assert!(!r.stderr.contains("ignored"), "{}", r.stderr);
    let r = run_line(&format!("-n 1 --cacert {}", ngx.ca()), &target.url());
    assert!(r.stderr.contains("TLS flags are ignored"), "{}", r.stderr);

    // Without the CA the fetch fails before the run, naming the flag.
    let r = run_line(
        &format!("-n 3 --cacert {} --body-file {body_url}", ngx.other_ca()),
        &target.url(),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--body-file"), "{}", r.stderr);
    assert_eq!(target.requests(), 4);
}

/// The harness's `http2` option (for the HTTP/2 tests to come) gives a
/// working nginx; blast offers only http/1.1 in ALPN, and gets it.
#[test]
fn nginx_with_http2_enabled_negotiates_http1() {
    let ngx = Nginx::start(NginxOptions {
        http2: true,
        ..NginxOptions::tls()
    });
    let flags = format!("-n 100 -c 2 --cacert {}", ngx.ca());
    let j = json_run("epoll", &flags, &ngx.url("/"));
    assert_eq!(u(&j, "requests"), 100);
    assert_eq!(j["tls"]["alpn"], "http/1.1");
    let log = ngx.log();
    assert_eq!(log.len(), 100);
    assert!(log.iter().all(|l| l.protocol == "HTTP/1.1"), "{:?}", log[0]);
}
