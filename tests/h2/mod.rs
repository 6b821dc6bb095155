//! HTTP/2 (`--http2`, `-m`): h2c and h2 over TLS against `blast target
//! --http2` (which counts what it served), and GOAWAY and RST_STREAM
//! against a test server on the `h2` crate that counts what it answered,
//! reset and refused.

mod nginx;
mod server;

use crate::support::{run_line, Scratch, TargetProcess};
use crate::u;
use blast::target::{self, StreamOptions, Target, TargetOptions};
use server::{H2Behavior, H2Server};
use std::time::Duration;

fn h2_target(delay_ms: u64, body_size: usize, tls: Option<&std::path::Path>) -> Target {
    target::start(TargetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        delay: Duration::from_millis(delay_ms),
        body_size,
        tls_cert: tls.map(|p| p.to_path_buf()),
        http2: true,
        ..Default::default()
    })
    .expect("start the target")
}

/// Run blast (`flags` then the URL), expect exit 0, return its JSON.
fn json(flags: &str, url: &str) -> serde_json::Value {
    let r = run_line(&format!("--http2 --json {flags}"), url);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.json()
}

#[test]
fn exact_n_over_h2c() {
    let cases = crate::support::engines()
        .into_iter()
        .flat_map(|e| [(1, e), (50, e)]);
    for (m, engine) in cases {
        let t = h2_target(0, 13, None);
        let url = format!("http://{}/", t.addr());
        let j = json(
            &format!("-n 10000 -c 4 -t 2 -m {m} --engine {engine}"),
            &url,
        );
        let served = t.requests();
        t.stop();
        assert_eq!(u(&j, "requests"), 10_000, "-m {m} {engine}: {j}");
        assert_eq!(served, 10_000, "-m {m} {engine}: the server saw {served}");
        assert_eq!(u(&j, "status_codes.200"), 10_000);
        assert_eq!(j["error_details"], serde_json::json!([]), "{j}");
        assert_eq!(j["config"]["engine"], engine);
        assert!(u(&j, "bytes_read") > 10_000 * 13, "{j}");
        assert!(u(&j, "connect_us.max") > 0, "{j}");
    }
}

#[test]
fn exact_n_over_tls_with_alpn_h2() {
    let cases = crate::support::engines()
        .into_iter()
        .flat_map(|e| [(1, e), (50, e)]);
    for (m, engine) in cases {
        let dir = Scratch::new("h2-tls");
        let cert = dir.join("target.pem");
        let t = h2_target(0, 13, Some(&cert));
        let url = format!("https://localhost:{}/", t.addr().port());
        let flags = format!(
            "-n 3000 -c 2 -t 1 -m {m} --engine {engine} --cacert {}",
            cert.display()
        );
        let j = json(&flags, &url);
        let served = t.requests();
        t.stop();
        assert_eq!(j["config"]["engine"], engine, "{j}");
        assert_eq!(u(&j, "requests"), 3000, "-m {m} {engine}: {j}");
        assert_eq!(served, 3000, "-m {m}: the server saw {served}");
        assert_eq!(j["tls"]["alpn"], "h2", "{j}");
        assert_eq!(j["tls"]["version"], "TLSv1.3", "{j}");
        assert_eq!(u(&j, "tls.handshakes"), 2, "{j}");
        assert!(u(&j, "tls_handshake_us.max") > 0, "{j}");
        assert_eq!(j["error_details"], serde_json::json!([]), "{j}");
    }
}

#[test]
fn streams_multiply_requests_in_flight() {
    // 2 connections x 100 streams against a 100 ms delay: 200 in flight,
    // so about 2,000 req/s (HTTP/1.1 would manage 20).
    let t = h2_target(100, 13, None);
    let url = format!("http://{}/", t.addr());
    let j = json("-c 2 -t 1 -m 100 -d 3s --timeout 5s", &url);
    t.stop();
    let rps = j["rps"].as_f64().unwrap();
    assert!((1200.0..=2050.0).contains(&rps), "{rps} req/s: {j}");
    // At most one request per stream; nearly all out when time is up.
    let in_flight = u(&j, "in_flight_at_end");
    assert!(
        (150..=200).contains(&in_flight),
        "{in_flight} in flight: {j}"
    );
    let p50 = u(&j, "latency_us.p50");
    assert!((100_000..=200_000).contains(&p50), "p50 {p50} us: {j}");
    assert_eq!(j["error_details"], serde_json::json!([]), "{j}");
}

#[test]
fn open_loop_paces_streams() {
    let t = h2_target(0, 13, None);
    let url = format!("http://{}/", t.addr());
    let j = json("-c 2 -t 1 -m 10 -R 500 -d 2s", &url);
    let served = t.requests();
    t.stop();
    let n = u(&j, "requests");
    assert!(
        (900..=1000).contains(&n),
        "{n} responses at 500/s for 2 s: {j}"
    );
    assert!(served >= n, "the server saw {served}, blast reports {n}");
    assert!(j["offered_rps"].as_f64().unwrap() > 450.0, "{j}");
    assert_eq!(u(&j, "not_sent_at_end"), 0, "{j}");
}

/// 2,000 requests at `-m 10` against a server that ends connections as
/// `b` says, on each engine: every one answered, no error, and at least
/// `min_conns` connections (blast reconnected after each end).
fn loses_no_request(b: H2Behavior, min_conns: u64) {
    for engine in crate::support::engines() {
        let s = H2Server::start(b);
        let flags = format!("-n 2000 -c 2 -t 1 -m 10 --engine {engine}");
        let j = json(&flags, &s.url());
        assert_eq!(u(&j, "requests"), 2000, "{engine}: {j}");
        let answered = s.answered();
        assert_eq!(answered, 2000, "{engine}: the server answered {answered}");
        assert_eq!(j["error_details"], serde_json::json!([]), "{engine}: {j}");
        let conns = s.connections();
        assert!(conns >= min_conns, "{engine}: {conns} connections");
    }
}

#[test]
fn graceful_goaway_costs_no_error_and_loses_no_request() {
    // Each connection serves about 50.
    loses_no_request(H2Behavior::GoAwayAfter(50), 30);
}

#[test]
fn goaway_under_open_loop_delays_no_request() {
    // 20 lanes, each sending every 100 ms; a GOAWAY every 20 requests. A
    // lane that finds the connection gone moves to a new one at once
    // rather than waiting for the other lanes' turns (up to 100 ms).
    let s = H2Server::start(H2Behavior::GoAwayAfter(20));
    let j = json("-c 1 -t 1 -m 20 -R 200 -d 3s", &s.url());
    let n = u(&j, "requests");
    assert!((560..=600).contains(&n), "{n} responses: {j}");
    assert_eq!(j["error_details"], serde_json::json!([]), "{j}");
    assert!(s.connections() >= 25, "{} connections", s.connections());
    // Waiting for the other lanes' turns gave a p99 of 136 ms here.
    let p99 = u(&j, "latency_us.p99");
    assert!(p99 < 80_000, "p99 {p99} us: {j}");
}

#[test]
fn abrupt_goaway_and_close_lose_no_request() {
    // nginx's way at keepalive_requests: GOAWAY, then close. Streams the
    // server refused or never read are sent again on a new connection.
    loses_no_request(H2Behavior::AbruptAfter(50), 40);
}

#[test]
fn refused_streams_are_sent_again() {
    let s = H2Server::start(H2Behavior::ResetEvery(7, h2::Reason::REFUSED_STREAM));
    let j = json("-n 500 -c 1 -t 1 -m 5", &s.url());
    assert_eq!(u(&j, "requests"), 500, "{j}");
    assert_eq!(s.answered(), 500);
    assert!(s.reset() >= 70, "{} refused", s.reset());
    assert_eq!(j["error_details"], serde_json::json!([]), "{j}");
}

#[test]
fn reset_stream_is_an_error_naming_its_code() {
    let s = H2Server::start(H2Behavior::ResetEvery(10, h2::Reason::INTERNAL_ERROR));
    let j = json("-n 200 -c 1 -t 1 -m 5", &s.url());
    assert_eq!(s.reset(), 20);
    assert_eq!(s.answered(), 180);
    assert_eq!(u(&j, "requests"), 180, "{j}");
    assert_eq!(u(&j, "errors.read"), 20, "{j}");
    let details = j["error_details"].as_array().unwrap();
    assert_eq!(details.len(), 1, "{j}");
    assert_eq!(details[0]["kind"], "read");
    let cause = details[0]["cause"].as_str().unwrap();
    assert!(cause.contains("INTERNAL_ERROR"), "{cause}");
    assert_eq!(u(&details[0], "count"), 20);
    // The text report names it too.
    let r = run_line("--http2 -n 20 -c 1 -t 1", &s.url());
    assert!(r.stdout.contains("INTERNAL_ERROR"), "{}", r.stdout);
}

#[test]
fn timeout_is_per_stream() {
    // Every answer is later than --timeout: each stream is cancelled and
    // counted, and the connection stays (one per -c).
    for engine in crate::support::engines() {
        let t = h2_target(400, 13, None);
        let url = format!("http://{}/", t.addr());
        let j = json(
            &format!("-n 20 -c 2 -t 1 -m 5 --timeout 100ms --engine {engine}"),
            &url,
        );
        let conns = t.connections();
        t.stop();
        assert_eq!(u(&j, "errors.timeout"), 20, "{engine}: {j}");
        assert_eq!(u(&j, "requests"), 0, "{engine}: {j}");
        assert_eq!(conns, 2, "{engine}: timeouts must not replace connections");
    }
}

#[test]
fn large_bodies_stream_with_flat_memory() {
    // The 50 MB body out of the test process, in a child: a spawned
    // child's peak RSS counts its parent's at exec.
    let size: u64 = 50 * 1024 * 1024;
    let t = TargetProcess::start(&["--http2", "--body-size", "50M"]);
    let r = run_line("--http2 --json -n 4 -c 1 -t 1 --timeout 20s", &t.url);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(u(&j, "requests"), 4, "{j}");
    assert!(u(&j, "bytes_read") > 4 * size, "{j}");
    // 200 MB streamed through; the windows bound what h2 queues.
    assert!(r.max_rss_kb < 60 * 1024, "peak RSS {} KiB", r.max_rss_kb);
}

#[test]
fn h2c_against_an_http1_only_server_fails_each_request() {
    // The built-in target without --http2 speaks HTTP/1.1 only.
    let t = target::start(TargetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    })
    .unwrap();
    let url = format!("http://{}/", t.addr());
    let j = json("-n 3 -c 1 -t 1", &url);
    let served = t.requests();
    t.stop();
    assert_eq!(served, 0);
    assert_eq!(u(&j, "requests"), 0, "{j}");
    assert_eq!(u(&j, "errors.read") + u(&j, "errors.parse"), 3, "{j}");
}

/// Request bodies larger than a send's worth arrive whole on both engines
/// (the ring gathers h2's frames and sends them in turns, one send in
/// flight per connection).
#[test]
fn large_request_bodies_arrive_whole() {
    let dir = Scratch::new("h2-upload");
    let body = dir.join("body.bin");
    let size = 3_000_000usize;
    let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&body, bytes).unwrap();
    for engine in crate::support::engines() {
        let s = H2Server::start(H2Behavior::ReadBodies);
        let flags = format!(
            "-n 40 -c 2 -t 1 -m 10 --engine {engine} -X POST --body-file {}",
            body.display()
        );
        let j = json(&flags, &s.url());
        assert_eq!(u(&j, "requests"), 40, "{engine}: {j}");
        assert_eq!(j["error_details"], serde_json::json!([]), "{engine}: {j}");
        assert_eq!(s.answered(), 40, "{engine}");
        assert_eq!(s.body_bytes(), 40 * size as u64, "{engine}");
    }
}

#[test]
fn flags_and_refusals() {
    let s = H2Server::start(H2Behavior::Ok);
    let r = run_line("-m 2 -n 1", &s.url());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--http2"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    let r = run_line("--http2 --engine tokio-uring -n 1", &s.url());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--engine tokio-uring"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    // auto runs HTTP/2 on the ring, as it does HTTP/1.1, and says nothing.
    let r = run_line("--http2 --engine auto -n 5 --json", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    if crate::support::uring_available() {
        assert_eq!(r.json()["config"]["engine"], "uring", "{}", r.stdout);
        assert_eq!(r.stderr, "", "{}", r.stderr);
    }
    assert_eq!(s.answered(), 5);
}

#[test]
fn server_without_h2_in_alpn_exits_3() {
    let dir = Scratch::new("h2-noalpn");
    let cert = dir.join("target.pem");
    let t = target::start(TargetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls_cert: Some(cert.clone()),
        ..Default::default()
    })
    .unwrap();
    let url = format!("https://localhost:{}/", t.addr().port());
    let r = run_line(
        &format!("--http2 -n 3 -c 1 --cacert {}", cert.display()),
        &url,
    );
    let served = t.requests();
    t.stop();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("ALPN"), "{}", r.stderr);
    assert!(r.stderr.contains("--http2"), "{}", r.stderr);
    assert_eq!(served, 0);
}

#[test]
fn reports_slo_and_find_work_over_h2() {
    let t = h2_target(0, 13, None);
    let url = format!("http://{}/", t.addr());
    let dir = Scratch::new("h2-reports");
    let csv = dir.join("run");
    let hlog = dir.join("run.hlog");
    let html = dir.join("run.html");
    let flags = format!(
        "-c 2 -t 1 -m 4 -d 2s --slo p99<1s,errors<1% --csv {} --hlog {} --html {}",
        csv.display(),
        hlog.display(),
        html.display()
    );
    let j = json(&flags, &url);
    assert_eq!(j["slo_pass"], true, "{j}");
    for f in [
        dir.join("run_stats.csv"),
        dir.join("run_stats_history.csv"),
        hlog.clone(),
        html.clone(),
    ] {
        let len = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        assert!(len > 100, "{} is missing or empty", f.display());
    }
    let stats = std::fs::read_to_string(dir.join("run_stats.csv")).unwrap();
    assert!(stats.contains(&u(&j, "requests").to_string()), "{stats}");

    let r = run_line(
        "find --http2 --json -c 2 -t 1 -m 10 --slo errors<1% --start 100 --max 400 --step-duration 500ms --precision 50%",
        &url,
    );
    t.stop();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = r.json();
    let max = f["max_sustainable_rps"].as_f64().unwrap_or(0.0);
    assert!(max >= 200.0, "{f}");
}

#[test]
fn ttfb_is_the_first_data_frame() {
    // An SSE stream whose role event comes with the head and whose three
    // tokens follow 60 ms apart: the first DATA frame is read, then the
    // stream waits, so its time to first byte is taken then, long before
    // the end. A body that comes whole in one read is timed at its end.
    let t = target::start(TargetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        http2: true,
        stream: Some(StreamOptions {
            tokens: 3,
            first_token: Duration::from_millis(60),
            token_interval: Duration::from_millis(60),
            usage: false,
        }),
        ..Default::default()
    })
    .expect("start the target");
    let j = json("-n 6 -c 2 -t 1", &format!("http://{}/", t.addr()));
    t.stop();
    assert_eq!(u(&j, "requests"), 6, "{j}");
    assert!(u(&j, "latency_us.min") >= 180_000, "{j}");
    assert!(u(&j, "ttfb_us.max") < 60_000, "{j}");
    let t = h2_target(0, 13, None);
    let j = json("-n 50 -c 1 -t 1", &format!("http://{}/", t.addr()));
    t.stop();
    assert_eq!(u(&j, "ttfb_us.max"), u(&j, "latency_us.max"), "{j}");
}
