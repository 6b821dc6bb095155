//! SPEC's fault table, each case on both engines: what the server does
//! wrong, and that blast counts it, recovers, and reports what it received.

use crate::support::{self, command_line, run_line, wait_until, Behavior, Server};
use crate::{json_run, ok_server, u};
use std::time::{Duration, Instant};

both_engines!(
    exact_request_count,
    keepalive_reuses_connections,
    server_closes_between_responses_silently,
    server_closes_with_connection_close,
    peer_close_leaves_no_close_wait,
    mid_response_close_is_read_error,
    reset_mid_response_is_read_error,
    timeout_replaces_connection,
    garbage_is_parse_error,
    accept_then_close_backs_off,
    chunked_bodies,
    close_delimited_bodies,
    head_has_no_body,
    no_body_statuses,
    large_bodies_memory_flat,
    non_2xx_counted,
    refused_mid_run_backs_off,
    no_keepalive_one_request_per_connection,
);

fn exact_request_count(engine: &str) {
    let s = ok_server();
    let j = json_run(engine, "-n 1000 -c 10 -t 2", &s.url());
    assert_eq!(s.requests(), 1000, "server must see exactly -n requests");
    assert_eq!(u(&j, "requests"), 1000);
    assert_eq!(u(&j, "status_codes.200"), 1000);
    assert_eq!(j["config"]["engine"], engine);
    assert!(s.connections() <= 10);
    // Every byte the server wrote was read.
    assert_eq!(u(&j, "bytes_read"), s.bytes_written());
}

fn keepalive_reuses_connections(engine: &str) {
    let s = ok_server();
    let j = json_run(engine, "-c 8 -t 2 -d 1s", &s.url());
    assert_eq!(s.connections(), 8, "one connection per -c, kept alive");
    assert!(u(&j, "requests") > 100);
    // Every request the server saw was either answered or is reported in flight.
    assert_eq!(s.requests(), u(&j, "requests") + u(&j, "in_flight_at_end"));
    assert!(u(&j, "in_flight_at_end") <= 8);
    assert_eq!(j["errors"]["read"], 0);
}

fn server_closes_between_responses_silently(engine: &str) {
    let s = Server::start(Behavior::CloseAfter {
        n: 5,
        connection_header: false,
    });
    let j = json_run(engine, "-n 400 -c 4 -t 1", &s.url());
    assert_eq!(u(&j, "requests"), 400);
    let e = &j["errors"];
    assert_eq!(
        (u(e, "read"), u(e, "write"), u(e, "connect")),
        (0, 0, 0),
        "{j}"
    );
    assert!(
        s.connections() >= 80,
        "reconnected after each close: {}",
        s.connections()
    );
}

fn peer_close_leaves_no_close_wait(engine: &str) {
    // The server closes after every response; blast must close its side too,
    // or sockets pile up in CLOSE_WAIT.
    let s = Server::start(Behavior::CloseAfter {
        n: 1,
        connection_header: false,
    });
    let child = command_line(
        &format!("-c 4 -t 1 -d 1500ms --engine {engine} --json"),
        &s.url(),
    )
    .spawn()
    .unwrap();
    let pid = child.id();
    let start = Instant::now();
    let mut most = 0;
    while start.elapsed() < Duration::from_millis(1200) {
        std::thread::sleep(Duration::from_millis(100));
        let sockets = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| {
                        std::fs::read_link(e.path())
                            .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
                    })
                    .count()
            })
            .unwrap_or(0);
        most = most.max(sockets);
    }
    let r = support::wait_child(child, start, Duration::from_secs(10));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert!(u(&j, "requests") > 50, "{j}");
    assert_eq!(u(&j, "errors.read"), 0, "{j}");
    assert!(most <= 4, "blast held {most} sockets with -c 4");
    assert!(s.connections() > 50);
}

fn server_closes_with_connection_close(engine: &str) {
    let s = Server::start(Behavior::CloseAfter {
        n: 3,
        connection_header: true,
    });
    let j = json_run(engine, "-n 300 -c 3 -t 1", &s.url());
    assert_eq!(u(&j, "requests"), 300);
    assert_eq!(s.requests(), 300, "no request sent twice");
    // 3 requests per server connection; each blast connection may end on a
    // partial set of 3.
    assert!(
        (100..=103).contains(&s.connections()),
        "{}",
        s.connections()
    );
    assert_eq!(u(&j["errors"], "read"), 0);
}

fn mid_response_close_is_read_error(engine: &str) {
    let s = Server::start(Behavior::CutMidBody {
        every: 2,
        reset: false,
    });
    let j = json_run(engine, "-n 100 -c 2 -t 1", &s.url());
    assert_eq!(u(&j, "requests") + u(&j, "errors.read"), 100, "{j}");
    // Every second response of a server connection is cut: 50, or 49 when
    // both blast connections end on an odd count.
    let cut = u(&j, "errors.read");
    assert!((49..=50).contains(&cut), "{j}");
    assert_eq!(s.requests(), 100, "failed requests are not retried");
    let details = j["error_details"].as_array().unwrap();
    assert_eq!(details[0]["cause"], "read: EOF mid-body", "{j}");
    assert_eq!(details[0]["count"], cut);
}

fn reset_mid_response_is_read_error(engine: &str) {
    let s = Server::start(Behavior::CutMidBody {
        every: 2,
        reset: true,
    });
    let j = json_run(engine, "-n 60 -c 1 -t 1", &s.url());
    assert_eq!(u(&j, "requests"), 30, "{j}");
    assert_eq!(u(&j, "errors.read"), 30, "{j}");
    assert_eq!(s.requests(), 60);
}

fn timeout_replaces_connection(engine: &str) {
    let s = Server::start(Behavior::Silent);
    let start = Instant::now();
    let j = json_run(engine, "-c 2 -t 1 -d 1500ms --timeout 300ms", &s.url());
    let timeouts = u(&j, "errors.timeout");
    // 1.5 s / 0.3 s per attempt, on 2 connections: about 8-10.
    assert!((6..=10).contains(&timeouts), "timeouts {timeouts}: {j}");
    assert_eq!(u(&j, "requests"), 0);
    // Each timed-out connection is closed and replaced, never left open.
    assert_eq!(s.connections(), timeouts + u(&j, "in_flight_at_end"));
    let max_open = s
        .counters
        .max_open
        .load(std::sync::atomic::Ordering::SeqCst);
    // The server notices a close when its thread next runs, so under load
    // its gauge can lag by a connection or two; a pile-up would reach ~10.
    assert!(max_open <= 4, "open sockets stay near -c: {max_open}");
    assert!(start.elapsed() < Duration::from_secs(3));
}

fn accept_then_close_backs_off(engine: &str) {
    let s = Server::start(Behavior::CloseAtOnce);
    let j = json_run(engine, "-c 2 -t 1 -d 1500ms", &s.url());
    let failed = u(&j, "errors.read");
    assert!(failed > 0, "{j}");
    // 10 ms doubling to 1 s: a handful per connection, not thousands.
    assert!(failed <= 2 * 10, "{failed} attempts: no back-off? {j}");
    assert_eq!(s.connections(), failed + u(&j, "in_flight_at_end"));
    assert_eq!(j["error_details"][0]["cause"], "read: EOF before response");
}

fn garbage_is_parse_error(engine: &str) {
    let s = Server::start(Behavior::Garbage);
    let j = json_run(engine, "-n 20 -c 2 -t 1", &s.url());
    assert_eq!(u(&j, "errors.parse"), 20, "{j}");
    assert_eq!(u(&j, "requests"), 0);
    assert_eq!(s.connections(), 20, "closed and reconnected after each");
}

fn chunked_bodies(engine: &str) {
    let body: Vec<u8> = (0..10_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let s = Server::start(Behavior::Chunked { body, chunk: 777 });
    let j = json_run(engine, "-n 200 -c 4 -t 1", &s.url());
    assert_eq!(u(&j, "requests"), 200);
    assert_eq!(s.connections(), 4, "chunked responses keep the connection");
    assert_eq!(u(&j, "bytes_read"), s.bytes_written());
    assert_eq!(u(&j, "errors.parse") + u(&j, "errors.read"), 0);
}

fn close_delimited_bodies(engine: &str) {
    let s = Server::start(Behavior::CloseDelimited {
        body: vec![b'q'; 3000],
    });
    let j = json_run(engine, "-n 50 -c 2 -t 1", &s.url());
    assert_eq!(u(&j, "requests"), 50, "{j}");
    assert_eq!(
        u(&j, "errors.read"),
        0,
        "the server's close ends the body, not an error"
    );
    assert_eq!(s.connections(), 50);
    assert_eq!(u(&j, "bytes_read"), s.bytes_written());
}

fn head_has_no_body(engine: &str) {
    let s = Server::start(Behavior::HeadOnly { length: 1000 });
    let j = json_run(engine, "-n 100 -c 2 -t 1 -X HEAD", &s.url());
    assert_eq!(u(&j, "requests"), 100, "{j}");
    assert_eq!(s.connections(), 2);
    assert_eq!(s.received()[0].method, "HEAD");
}

fn no_body_statuses(engine: &str) {
    for status in ["204", "304"] {
        let s = Server::start(Behavior::NoBody {
            status: status.parse().unwrap(),
        });
        let r = run_line(
            &format!("-n 100 -c 2 -t 1 --engine {engine} --json"),
            &s.url(),
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let j = r.json();
        assert_eq!(u(&j, &format!("status_codes.{status}")), 100, "{j}");
        assert_eq!(u(&j, "errors.status"), 0, "{status} is not an error");
        assert_eq!(s.connections(), 2);
    }
}

fn large_bodies_memory_flat(engine: &str) {
    let size = 50 * 1024 * 1024;
    let s = Server::start(Behavior::Large { size });
    let r = run_line(
        &format!("-n 4 -c 1 -t 1 --engine {engine} --json"),
        &s.url(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(u(&j, "requests"), 4, "{j}");
    assert!(u(&j, "bytes_read") > 4 * size);
    // 200 MB streamed through; resident memory stays that of an idle blast.
    assert!(r.max_rss_kb < 40 * 1024, "peak RSS {} KiB", r.max_rss_kb);
}

fn non_2xx_counted(engine: &str) {
    let s = Server::start(Behavior::Fixed {
        status: 503,
        body: b"busy".to_vec(),
    });
    let r = run_line(&format!("-n 50 -c 2 -t 1 --engine {engine}"), &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("  Non-2xx or 3xx responses: 50\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("  50 requests in "), "{}", r.stdout);
    assert!(!r.stdout.contains("Socket errors"), "{}", r.stdout);
}

fn refused_mid_run_backs_off(engine: &str) {
    let s = ok_server();
    let url = s.url();
    let child = command_line(&format!("-c 4 -t 1 -d 2s --engine {engine} --json"), &url)
        .spawn()
        .unwrap();
    // Under way (requests answered) before the server goes.
    wait_until(Duration::from_secs(10), "a request at the server", || {
        s.requests() > 0
    });
    // Stop listening: open connections end when blast next writes, and every
    // reconnect is refused.
    s.stop();
    let r = support::wait_child(child, Instant::now(), Duration::from_secs(10));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert!(u(&j, "requests") > 0);
    let connect = u(&j, "errors.connect");
    assert!(connect > 0, "{j}");
    // Back-off: 10 ms doubling to 1 s gives well under 10 attempts per
    // connection in 1.5 s; a busy loop would give thousands.
    assert!(connect <= 4 * 10, "connect errors {connect}: no back-off?");
    assert!(r.cpu_s < 1.0, "blast spun: {} CPU s", r.cpu_s);
    assert!(
        j["error_details"].to_string().contains("connect: refused"),
        "{j}"
    );
}

fn no_keepalive_one_request_per_connection(engine: &str) {
    let s = ok_server();
    let j = json_run(engine, "-n 30 -c 2 -t 1 --no-keepalive", &s.url());
    assert_eq!(u(&j, "requests"), 30, "{j}");
    assert_eq!(s.connections(), 30);
    assert_eq!(s.received()[0].header("connection"), Some("close"));
}
