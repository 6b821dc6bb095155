//! HTTP/2 against nginx, a server blast was not written with: h2 over TLS
//! (ALPN) and h2c (prior knowledge), what nginx logged against what blast
//! reported.

use crate::support::nginx::{Nginx, NginxOptions};
use crate::support::run_line;
use crate::u;
use serde_json::Value;

fn h2_nginx(tls: bool, keepalive_requests: Option<u64>, static_size: usize) -> Nginx {
    Nginx::start(NginxOptions {
        tls,
        http2: true,
        keepalive_requests,
        static_size,
        ..Default::default()
    })
}

/// Run `blast --http2 --json FLAGS` against `path` of `ngx` (trusting its
/// CA over TLS); expect exit 0.
fn blast(ngx: &Nginx, tls: bool, flags: &str, path: &str) -> (Value, i64) {
    let trust = if tls {
        format!("--cacert {}", ngx.ca())
    } else {
        String::new()
    };
    let r = run_line(&format!("--http2 --json {trust} {flags}"), &ngx.url(path));
    assert_eq!(r.code, 0, "{}", r.stderr);
    (r.json(), r.max_rss_kb)
}

fn no_errors(j: &Value) {
    assert_eq!(j["error_details"], serde_json::json!([]), "{j}");
    for (k, v) in j["errors"].as_object().unwrap() {
        assert_eq!(v.as_u64(), Some(0), "errors.{k}: {j}");
    }
}

/// `-n` is exact with one stream and with 50 per connection, over h2 and
/// h2c; nginx logged every request as HTTP/2.0.
#[test]
fn exact_n_against_nginx() {
    for tls in [true, false] {
        let ngx = h2_nginx(tls, None, 1024);
        for m in [1, 50] {
            ngx.clear_log();
            let (j, _) = blast(&ngx, tls, &format!("-n 5000 -c 4 -t 2 -m {m}"), "/");
            no_errors(&j);
            assert_eq!(u(&j, "requests"), 5000, "tls {tls} -m {m}: {j}");
            assert_eq!(u(&j, "status_codes.200"), 5000, "{j}");
            let log = ngx.log();
            assert_eq!(
                log.len(),
                5000,
                "tls {tls} -m {m}: nginx logged {}",
                log.len()
            );
            assert!(log.iter().all(|l| l.protocol == "HTTP/2.0"), "{:?}", log[0]);
            if tls {
                assert_eq!(j["tls"]["alpn"], "h2", "{j}");
                assert!(log.iter().all(|l| l.tls == "TLSv1.3"), "{:?}", log[0]);
            } else {
                assert_eq!(j["tls"], Value::Null, "{j}");
            }
            eprintln!(
                "tls {tls} -m {m}: 5000 requests on {} nginx connections",
                ngx.connections()
            );
        }
    }
}

/// nginx ends a connection with GOAWAY after `keepalive_requests`: blast
/// opens another without an error and loses no request.
#[test]
fn goaway_after_keepalive_requests_costs_nothing() {
    for tls in [true, false] {
        let ngx = h2_nginx(tls, Some(100), 1024);
        let (j, _) = blast(&ngx, tls, "-n 5000 -c 4 -t 1 -m 10", "/");
        no_errors(&j);
        assert_eq!(u(&j, "requests"), 5000, "tls {tls}: {j}");
        let log = ngx.log();
        assert_eq!(log.len(), 5000, "tls {tls}: nginx logged {}", log.len());
        // 100 requests per connection: at least 50 connections were used.
        let conns = ngx.connections();
        assert!(conns >= 50, "tls {tls}: {conns} connections");
        eprintln!("tls {tls}: 5000 requests, {conns} connections, 0 errors");
    }
}

/// 50 MB bodies over h2 from nginx's static file: all bytes arrive and
/// blast's memory stays flat.
#[test]
fn large_bodies_from_nginx_with_flat_memory() {
    let size: u64 = 50 * 1024 * 1024;
    for tls in [true, false] {
        let ngx = h2_nginx(tls, None, size as usize);
        let (j, rss_kb) = blast(&ngx, tls, "-n 4 -c 1 -t 1 --timeout 30s", "/static");
        no_errors(&j);
        assert_eq!(u(&j, "requests"), 4, "{j}");
        assert!(u(&j, "bytes_read") >= 4 * size, "{j}");
        assert!(
            rss_kb < 60 * 1024,
            "tls {tls}: peak RSS {rss_kb} KiB for 4 x 50 MB"
        );
        eprintln!("tls {tls}: 4 x 50 MB, peak RSS {rss_kb} KiB");
    }
}

/// The report says what was spoken: the JSON config and the text header.
#[test]
fn report_names_the_protocol() {
    let ngx = h2_nginx(true, None, 1024);
    let (j, _) = blast(&ngx, true, "-n 20 -c 2 -t 1 -m 5", "/");
    assert_eq!(j["config"]["protocol"], "h2", "{j}");
    assert_eq!(u(&j, "config.streams"), 5, "{j}");
    let r = run_line(
        &format!("--http2 -n 20 -c 2 -t 1 -m 5 --cacert {}", ngx.ca()),
        &ngx.url("/"),
    );
    assert!(
        r.stdout
            .contains("  1 threads and 2 connections, h2 with 5 streams each\n"),
        "{}",
        r.stdout
    );
    let plain = h2_nginx(false, None, 1024);
    let (j, _) = blast(&plain, false, "-n 20 -c 2 -t 1", "/");
    assert_eq!(j["config"]["protocol"], "h2c", "{j}");
    assert_eq!(u(&j, "config.streams"), 1, "{j}");
}
