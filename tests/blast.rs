//! Integration tests: real servers on 127.0.0.1:0, the real blast binary,
//! and assertions on what the server actually received against what blast
//! reports. Engine-dependent behaviour runs on both engines; the io_uring
//! variant skips (with a message) where the kernel refuses io_uring.

mod reports;
mod support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::{
    command, command_line, delay_server, run, run_cmd, run_line, uring_available, Behavior, Server,
};

/// Generate `epoll` and `uring` tests from one function taking the engine.
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn epoll() {
                    super::$name("epoll");
                }
                #[test]
                fn uring() {
                    if super::uring_available() {
                        super::$name("uring");
                    }
                }
            }
        )*
    };
}

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

fn u(v: &Value, path: &str) -> u64 {
    let mut cur = v;
    for k in path.split('.') {
        cur = &cur[k];
    }
    cur.as_u64()
        .unwrap_or_else(|| panic!("{path} is not a number in {v}"))
}

/// Run blast with space-separated `args` on `engine`, expect exit 0, and
/// return its JSON report.
fn json_run(engine: &str, args: &str, url: &str) -> Value {
    let mut all: Vec<&str> = args.split_whitespace().collect();
    all.extend(["--engine", engine, "--json", url]);
    let r = run(&all);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.json()
}

fn ok_server() -> Server {
    Server::start(Behavior::Fixed {
        status: 200,
        body: b"hello".to_vec(),
    })
}

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
    let j = json_run(engine, "-n 100 -c 2 -t 1 -m HEAD", &s.url());
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
    std::thread::sleep(Duration::from_millis(500));
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

#[test]
fn unreachable_target_exits_3_at_once() {
    // Bind then drop to get a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let r = run_line("-d 5s", &url);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("connection refused"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(r.elapsed < Duration::from_secs(2), "took {:?}", r.elapsed);
    let r = run(&["-d", "1s", "http://no-such-host.invalid/"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("no-such-host.invalid"), "{}", r.stderr);
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let file_missing = "/nonexistent/blast-body.json";
    let cases: &[(&[&str], &str)] = &[
        (&["-c", "0", "http://127.0.0.1:1/"], "--connections"),
        (&["-c", "many", "http://127.0.0.1:1/"], "'many'"),
        (&["-d", "10x", "http://127.0.0.1:1/"], "'10x'"),
        (&["--timeout", "0s", "http://127.0.0.1:1/"], "--timeout"),
        (&["ftp://127.0.0.1/"], "unsupported scheme 'ftp'"),
        (&["127.0.0.1:8080/"], "no scheme"),
        (&["http://127.0.0.1:99999/"], "invalid port '99999'"),
        (&["-H", "NoColon", "http://127.0.0.1:1/"], "-H 'NoColon'"),
        (
            &["--body-file", file_missing, "http://127.0.0.1:1/"],
            file_missing,
        ),
        (&["-F", "x", "http://127.0.0.1:1/"], "-F 'x'"),
        (&["--engine", "kqueue", "http://127.0.0.1:1/"], "'kqueue'"),
        (&["--no-such-flag", "http://127.0.0.1:1/"], "--no-such-flag"),
        (&[], "no URL"),
    ];
    for (args, needle) in cases {
        let r = run(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(needle),
            "{args:?}: stderr lacks {needle:?}: {}",
            r.stderr
        );
        assert_eq!(
            r.stderr.trim().lines().count(),
            1,
            "{args:?}: not one line: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        assert!(r.stdout.is_empty());
    }
}

#[test]
fn body_headers_and_content_type_reach_the_server() {
    let s = ok_server();
    let r = run(&[
        "-n",
        "3",
        "-c",
        "1",
        "-t",
        "1",
        "-b",
        "{\"a\":1}",
        "-H",
        "X-Test: yes",
        "-H",
        "Accept: text/plain",
        &format!("{}p?q=1", s.url()),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = s.received();
    assert_eq!(got.len(), 3);
    let g = &got[0];
    assert_eq!((g.method.as_str(), g.path.as_str()), ("POST", "/p?q=1"));
    assert_eq!(g.body, b"{\"a\":1}");
    assert_eq!(g.header("content-type"), Some("application/json"));
    assert_eq!(g.header("content-length"), Some("7"));
    assert_eq!(g.header("x-test"), Some("yes"));
    assert_eq!(
        g.header("accept"),
        Some("text/plain"),
        "-H replaces a default"
    );
    assert_eq!(
        g.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("accept"))
            .count(),
        1
    );
    assert_eq!(g.header("host"), Some(s.addr.to_string().as_str()));
    assert!(g.header("user-agent").unwrap().starts_with("blast/"));
}

#[test]
fn body_file_env_and_url_sources() {
    let dir = std::env::temp_dir().join(format!("blast-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("pixel.png");
    std::fs::write(&png, [0x89, b'P', b'N', b'G', 0, 1, 2, 3]).unwrap();

    // --body-file from a path, URL from BLAST_URL.
    let s = ok_server();
    let mut cmd = command_line("-n 2 -c 1 -t 1 --body-file", png.to_str().unwrap());
    cmd.env("BLAST_URL", s.url());
    let r = run_cmd(cmd, Duration::from_secs(20));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let g = &s.received()[0];
    assert_eq!(g.body, [0x89, b'P', b'N', b'G', 0, 1, 2, 3]);
    assert_eq!(g.header("content-type"), Some("image/png"));
    assert_eq!(g.method, "POST");

    // BLAST_PAYLOAD naming an http URL, fetched once; -H Content-Type wins.
    let payload = Server::start(Behavior::Fixed {
        status: 200,
        body: b"{\"from\":\"url\"}".to_vec(),
    });
    let s = ok_server();
    let mut cmd = command(&[
        "-n",
        "3",
        "-c",
        "1",
        "-t",
        "1",
        "-m",
        "PUT",
        "-H",
        "content-type: text/x-custom",
        &s.url(),
    ]);
    cmd.env("BLAST_PAYLOAD", format!("{}payload.json", payload.url()));
    let r = run_cmd(cmd, Duration::from_secs(20));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(payload.requests(), 1, "fetched once");
    let g = &s.received()[2];
    assert_eq!(g.method, "PUT");
    assert_eq!(g.body, b"{\"from\":\"url\"}");
    assert_eq!(g.header("content-type"), Some("text/x-custom"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn multipart_form_as_received() {
    let dir = std::env::temp_dir().join(format!("blast-form-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("doc.json");
    std::fs::write(&f, b"{\"k\":[1,2]}").unwrap();
    let s = ok_server();
    let field = format!("upload=@{}", f.display());
    let r = run(&[
        "-n",
        "1",
        "-c",
        "1",
        "-t",
        "1",
        "-F",
        "name=blast",
        "-F",
        &field,
        &s.url(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let g = &s.received()[0];
    assert_eq!(g.method, "POST");
    let ct = g.header("content-type").unwrap().to_string();
    let boundary = ct
        .strip_prefix("multipart/form-data; boundary=")
        .expect("multipart type");
    let body = String::from_utf8_lossy(&g.body).into_owned();
    let parts: Vec<&str> = body.split(&format!("--{boundary}")).collect();
    assert_eq!(parts.len(), 4, "{body}");
    assert!(
        parts[1].contains("name=\"name\"\r\n\r\nblast\r\n"),
        "{body}"
    );
    assert!(parts[2].contains("name=\"upload\"; filename=\"doc.json\"\r\nContent-Type: application/json\r\n\r\n{\"k\":[1,2]}\r\n"), "{body}");
    assert_eq!(parts[3], "--\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn json_report_has_every_key() {
    let s = ok_server();
    let r = run_line("-n 100 -c 2 -t 2 --json", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    for k in [
        "url",
        "config",
        "duration_s",
        "requests",
        "rps",
        "bytes_read",
        "status_codes",
        "errors",
        "latency_us",
        "connect_us",
        "timeline",
        "error_details",
        "in_flight_at_end",
        "not_sent_at_end",
    ] {
        assert!(j.get(k).is_some(), "missing {k}: {j}");
    }
    for k in [
        "connections",
        "threads",
        "duration_s",
        "requests_limit",
        "rate",
        "method",
        "timeout_s",
        "engine",
    ] {
        assert!(j["config"].get(k).is_some(), "missing config.{k}");
    }
    for k in ["connect", "read", "write", "timeout", "status", "parse"] {
        assert!(j["errors"][k].is_u64(), "missing errors.{k}");
    }
    for k in [
        "min", "mean", "stdev", "max", "p50", "p75", "p90", "p97", "p99", "p99_9", "p99_99",
    ] {
        assert!(j["latency_us"][k].is_number(), "missing latency_us.{k}");
    }
    assert_eq!(j["config"]["requests_limit"], 100);
    assert_eq!(j["url"], s.url());
    let lat = &j["latency_us"];
    assert!(
        lat["min"].as_f64() <= lat["p50"].as_f64() && lat["p50"].as_f64() <= lat["max"].as_f64()
    );
    assert!(u(&j, "connect_us.p50") > 0);
}

#[test]
fn text_report_has_wrk_layout() {
    let s = ok_server();
    let r = run_line("-c 4 -t 2 -d 1s --latency", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], format!("Running 1s test @ {}", s.url()));
    assert_eq!(lines[1], "  2 threads and 4 connections");
    assert_eq!(
        lines[2],
        "  Thread Stats   Avg      Stdev     Max   +/- Stdev"
    );
    assert!(lines[3].starts_with("    Latency "), "{}", r.stdout);
    assert!(lines[4].starts_with("    Req/Sec "), "{}", r.stdout);
    assert_eq!(lines[5], "  Latency Distribution");
    for (i, p) in ["50%", "75%", "90%", "99%", "99.9%"].iter().enumerate() {
        assert!(lines[6 + i].trim_start().starts_with(p), "{}", r.stdout);
    }
    assert!(
        lines[11].contains(" requests in ") && lines[11].ends_with(" read"),
        "{}",
        r.stdout
    );
    assert!(lines.iter().any(|l| l.starts_with("Requests/sec: ")));
    assert!(lines.last().unwrap().starts_with("Transfer/sec: "));
}

#[test]
fn latency_is_honest_against_delayed_target() {
    let t = blast::target::start(blast::target::TargetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        delay: Duration::from_millis(20),
        ..Default::default()
    })
    .unwrap();
    let url = format!("http://{}/", t.addr());
    let r = run_line("-c 4 -t 1 -d 2s --json", &url);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let p50 = u(&j, "latency_us.p50");
    assert!(
        (20_000..=22_000).contains(&p50),
        "p50 {p50} us for a 20 ms delay"
    );
    // Server-side truth: the target counts a request when it answers, so
    // it served every reported response, plus some of those in flight.
    let served = t.requests();
    t.stop();
    let answered = u(&j, "requests");
    assert!(
        (answered..=answered + u(&j, "in_flight_at_end")).contains(&served),
        "{served} {j}"
    );
    // 4 connections, 20 ms each: about 200 req/s.
    let rps = j["rps"].as_f64().unwrap();
    assert!((150.0..=200.0).contains(&rps), "rps {rps}");
}

#[test]
fn in_flight_at_end_is_reported() {
    let s = delay_server(400);
    let r = run_line("-c 3 -t 1 -d 1s --timeout 5s --latency", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Requests at 0, 0.4, 0.8 s on each connection; the third batch is unanswered at 1 s.
    assert!(r.stdout.contains("  In flight at end: 3\n"), "{}", r.stdout);
    assert_eq!(s.requests(), 9);
    assert!(r.stdout.contains("  6 requests in "), "{}", r.stdout);
}

#[test]
fn threads_lowered_to_connections_with_notice() {
    let s = ok_server();
    let r = run_line("-c 2 -t 8 -n 10 --json", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("-t 8 is more than -c 2"), "{}", r.stderr);
    assert_eq!(r.json()["config"]["threads"], 2);
    assert_eq!(s.requests(), 10);
}

#[test]
fn warmup_is_not_recorded() {
    let s = ok_server();
    let r = run_line("-c 2 -t 1 --warmup 500ms -d 1s --json", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let d = j["duration_s"].as_f64().unwrap();
    assert!((0.95..1.2).contains(&d), "measured duration {d}");
    let reported = u(&j, "requests") + u(&j, "in_flight_at_end");
    assert!(
        s.requests() > reported + 10,
        "warm-up requests hit the server but are not reported"
    );
    assert!(r.elapsed >= Duration::from_millis(1500));
}

#[test]
fn ctrl_c_prints_the_report() {
    let s = ok_server();
    let child = command_line("-c 2 -t 1 -d 20s", &s.url()).spawn().unwrap();
    let pid = child.id() as i32;
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(800));
    unsafe { libc::kill(pid, libc::SIGINT) };
    let r = support::wait_child(child, start, Duration::from_secs(10));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);
    assert!(r.stdout.contains("Interrupted"), "{}", r.stdout);
    assert!(r.stdout.contains("Requests/sec:"), "{}", r.stdout);
    assert!(s.requests() > 0);
}

// ---- open loop (-R), SLOs, ramp-up and `blast find` ----

fn f(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for k in path.split('.') {
        cur = &cur[k];
    }
    cur.as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number in {v}"))
}

#[test]
fn rate_is_exact_against_target() {
    let t = blast::target::start(blast::target::TargetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    })
    .unwrap();
    let url = format!("http://{}/", t.addr());
    let r = run_line("-R 2000 -d 5s -c 16 -t 2 --json", &url);
    let served = t.requests();
    t.stop();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let rps = f(&j, "rps");
    assert!((1960.0..=2040.0).contains(&rps), "achieved {rps} req/s");
    assert!((9800..=10200).contains(&served), "target served {served}");
    assert_eq!(f(&j, "offered_rps"), 2000.0);
    assert_eq!(f(&j, "config.rate"), 2000.0);
    // On a 2-core machine running the whole suite, a starved worker may miss
    // the last few due times; they must be reported, and few.
    assert!(u(&j, "not_sent_at_end") <= 50, "{j}");
    assert!(j["service_time_us"]["p50"].is_u64());
}

#[test]
fn low_rate_run_ends_on_time() {
    // At 2 req/s a connection waits 500 ms for its next due time; the run
    // must still end when its time is up, not when that wait does.
    let s = ok_server();
    let r = run_line("-R 2 -c 2 -t 1 -d 1200ms --json", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(u(&r.json(), "requests"), 3);
    // Without the early end, the 200 ms stop grace would be spent waiting.
    assert!(r.elapsed < Duration::from_millis(1390), "{:?}", r.elapsed);
}

#[test]
fn rate_below_thread_count_is_exact() {
    // wrk2 runs away when -R is below -t; blast interleaves the threads.
    let s = ok_server();
    let r = run_line("-R 3 -t 4 -c 4 -d 2s --json", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Due at 0, 1/3, 2/3, ... 5/3 s: six requests in 2 s.
    assert_eq!(s.requests(), 6);
    assert_eq!(u(&r.json(), "requests"), 6);
}

#[test]
fn coordinated_omission_is_not_hidden() {
    // The server stalls 1 s at the start of every 2 s.
    let stall = || Behavior::Stall {
        origin: Instant::now(),
        period: Duration::from_secs(2),
        stall: Duration::from_secs(1),
    };
    let open = Server::start(stall());
    let closed = Server::start(stall());
    let (o, c) = std::thread::scope(|sc| {
        let o = sc.spawn(|| run_line("-R 200 -c 50 -t 1 -d 6s --json", &open.url()));
        let c = sc.spawn(|| run_line("-c 4 -t 1 -d 6s --json", &closed.url()));
        (o.join().unwrap(), c.join().unwrap())
    });
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(c.code, 0, "{}", c.stderr);
    let (o, c) = (o.json(), c.json());
    // Open loop: requests due during a stall wait for it, and that wait is latency.
    assert!(
        u(&o, "latency_us.p99") >= 500_000,
        "open-loop p99 {}",
        o["latency_us"]
    );
    assert!(
        u(&o, "latency_us.p50") > u(&o, "service_time_us.p50"),
        "{}",
        o
    );
    // Closed loop: each connection waits out the stall once per stall, so
    // the stall shows only in the maximum.
    assert!(
        u(&c, "latency_us.max") >= 500_000,
        "closed max {}",
        c["latency_us"]
    );
    assert!(
        u(&c, "latency_us.p99") < 100_000,
        "closed p99 {}",
        c["latency_us"]
    );
}

#[test]
fn rate_shortfall_is_warned() {
    // 2 connections, 50 ms each: at most 40 req/s; 200 are offered.
    let s = delay_server(50);
    let r = run_line("-R 200 -c 2 -t 1 -d 1s", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("  Offered rate: 200.00 req/s, achieved "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("of the offered requests were never sent: increase -c"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("  Not sent at end: "), "{}", r.stdout);
}

#[test]
fn ramp_up_shows_in_timeline() {
    let s = ok_server();
    let r = run_line("-R 1000 --ramp-up 2s -d 3s -c 8 -t 1 --json", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let tl: Vec<f64> = j["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rps"].as_f64().unwrap())
        .collect();
    // Linear 0 -> 1000 over 2 s, then 1000: 250, 750, 1000 per second.
    assert!(tl.len() >= 3, "{tl:?}");
    for (got, want) in tl.iter().zip([250.0, 750.0, 1000.0]) {
        assert!((got - want).abs() <= want * 0.05 + 5.0, "timeline {tl:?}");
    }
    assert_eq!(s.requests(), 2000);
}

#[test]
fn closed_loop_ramp_opens_connections_gradually() {
    let s = delay_server(10);
    let child = command_line("-c 4 -t 1 --ramp-up 1s -d 1500ms", &s.url())
        .spawn()
        .unwrap();
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    let early = s.connections();
    let r = support::wait_child(child, start, Duration::from_secs(10));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        (1..=2).contains(&early),
        "{early} connections after 0.3 s of a 1 s ramp"
    );
    assert_eq!(s.connections(), 4);
}

#[test]
fn slo_pass_and_fail_exit_codes() {
    let s = delay_server(20);
    let r = run_line("-c 2 -t 1 -d 1s --slo p99<500ms,errors<1%", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("SLO:\n"), "{}", r.stdout);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("p99<500ms") && l.ends_with("PASS")),
        "{}",
        r.stdout
    );

    let r = run_line("-c 2 -t 1 -d 1s --slo p99<5ms,errors<1% --json", &s.url());
    assert_eq!(r.code, 1, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["slo_pass"], false);
    let failed: Vec<&str> = j["slo"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["pass"] == false)
        .map(|v| v["condition"].as_str().unwrap())
        .collect();
    assert_eq!(failed, vec!["p99<5ms"]);
    assert!(f(&j["slo"][0], "measured") >= 20_000.0);

    let r = run_line("-d 1s --slo p99<fast", &s.url());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("'p99<fast'"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1);
}

#[test]
fn find_reports_the_known_capacity() {
    // One request at a time, 5 ms each: capacity 200 req/s.
    let s = Server::start(Behavior::Capacity {
        per_request: Duration::from_millis(5),
        lock: Default::default(),
    });
    let start = Instant::now();
    let r = run_cmd(
        command_line(
            "find --slo p99<50ms --start 50 --step-duration 1s -c 32 -t 1 --json",
            &s.url(),
        ),
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(start.elapsed() < Duration::from_secs(60));
    let j = r.json();
    let max = f(&j, "max_sustainable_rps");
    assert!(
        (170.0..=230.0).contains(&max),
        "found {max} req/s for a capacity of 200: {j}"
    );
    let steps = j["steps"].as_array().unwrap();
    assert!(steps.len() >= 4, "{j}");
    assert!(steps.iter().any(|s| s["pass"] == false));
    // Same connection pool for every step.
    assert!(s.connections() <= 32, "{} connections", s.connections());
}

#[test]
fn find_text_and_first_step_failure() {
    let s = delay_server(30);
    let r = run_line(
        "find --slo p99<10ms --start 20 --step-duration 500ms -c 4",
        &s.url(),
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("fail: p99<10ms"), "{}", r.stdout);
    assert!(
        r.stdout.contains("Maximum sustainable throughput: none"),
        "{}",
        r.stdout
    );

    let r = run_line("find -R 10 --slo p99<10ms", &s.url());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("unexpected argument '-R'"),
        "{}",
        r.stderr
    );
    let r = run_line("find", &s.url());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("needs --slo"), "{}", r.stderr);
    let r = run_line("find --slo p99<10ms --hlog x.hlog", &s.url());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("unexpected argument '--hlog'"),
        "{}",
        r.stderr
    );
}

#[test]
fn find_ctrl_c_prints_what_was_found() {
    let s = ok_server();
    let child = command_line(
        "find --slo p99<1s --start 50 --step-duration 500ms -c 4",
        &s.url(),
    )
    .spawn()
    .unwrap();
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(1800));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let r = support::wait_child(child, start, Duration::from_secs(10));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
    assert!(r.stdout.contains("Interrupted by Ctrl-C"), "{}", r.stdout);
    assert!(
        r.stdout.contains("Maximum sustainable throughput: "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.lines().filter(|l| l.ends_with("  pass")).count() >= 2,
        "{}",
        r.stdout
    );
}

// ---- HdrHistogram interval logs and merging several load boxes ----

#[test]
fn hlog_is_readable_with_the_hdrhistogram_crate() {
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    let s = ok_server();
    let dir = std::env::temp_dir().join(format!("blast-hlog-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("run.hlog");
    let r = run(&[
        "-c",
        "2",
        "-t",
        "1",
        "-d",
        "2500ms",
        "--json",
        "--hlog",
        log.to_str().unwrap(),
        &s.url(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let text = std::fs::read(&log).unwrap();
    let (mut start, mut total, mut intervals) = (None, 0u64, 0);
    let mut merged = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
    let mut de = hdrhistogram::serialization::Deserializer::new();
    use base64::Engine as _;
    for e in IntervalLogIterator::new(&text) {
        match e.expect("a valid interval log") {
            LogEntry::StartTime(t) => start = Some(t),
            LogEntry::BaseTime(_) => {}
            LogEntry::Interval(h) => {
                intervals += 1;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(h.encoded_histogram())
                    .unwrap();
                let hist: hdrhistogram::Histogram<u64> =
                    de.deserialize(&mut std::io::Cursor::new(bytes)).unwrap();
                total += hist.len();
                merged.add(&hist).unwrap();
            }
        }
    }
    assert!(start.is_some(), "StartTime header");
    assert_eq!(
        intervals, 3,
        "one histogram per second (the last one partial)"
    );
    assert_eq!(total, u(&j, "requests"), "every response is in the log");
    assert_eq!(merged.value_at_quantile(0.99), u(&j, "latency_us.p99"));
    assert_eq!(merged.max(), u(&j, "latency_us.max"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Network namespaces this test made, removed when it ends.
struct Netns(Vec<String>);

impl Drop for Netns {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", ns])
                .status();
        }
    }
}

fn ip(args: &[&str]) -> bool {
    std::process::Command::new("ip")
        .args(args)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn merge_of_three_boxes_in_network_namespaces_is_exact() {
    // Three load boxes, each in its own network namespace, against one
    // target in a fourth; every address belongs to namespaces made here.
    let tag = std::process::id() % 100_000;
    let server_ns = format!("bt{tag}s");
    if !ip(&["netns", "add", &server_ns]) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must be able to create network namespaces"
        );
        eprintln!("skipping: cannot create network namespaces here (needs root and iproute2)");
        return;
    }
    let mut guard = Netns(vec![server_ns.clone()]);
    assert!(ip(&["-n", &server_ns, "link", "set", "lo", "up"]));
    let mut urls = Vec::new();
    for i in 1..=3 {
        let ns = format!("bt{tag}c{i}");
        assert!(ip(&["netns", "add", &ns]));
        guard.0.push(ns.clone());
        let (a, b) = (format!("bv{tag}a{i}"), format!("bv{tag}b{i}"));
        assert!(ip(&[
            "link", "add", &a, "netns", &server_ns, "type", "veth", "peer", "name", &b, "netns",
            &ns
        ]));
        let (sa, ca) = (format!("10.213.{i}.1/30"), format!("10.213.{i}.2/30"));
        assert!(ip(&["-n", &server_ns, "addr", "add", &sa, "dev", &a]));
        assert!(ip(&["-n", &server_ns, "link", "set", &a, "up"]));
        assert!(ip(&["-n", &ns, "addr", "add", &ca, "dev", &b]));
        assert!(ip(&["-n", &ns, "link", "set", &b, "up"]));
        assert!(ip(&["-n", &ns, "link", "set", "lo", "up"]));
        urls.push((ns, format!("http://10.213.{i}.1:8080/")));
    }
    // The target, in its namespace (ip netns exec runs blast itself: its pid is ours to end).
    let mut target = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &server_ns,
            support::bin(),
            "target",
            "--listen",
            "0.0.0.0:8080",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(target.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("listening on"), "{line}");

    let dir = std::env::temp_dir().join(format!("blast-merge-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let start_at = (std::time::SystemTime::now() + Duration::from_millis(1500))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        .to_string();
    let children: Vec<_> = urls
        .iter()
        .enumerate()
        .map(|(i, (ns, url))| {
            let log = dir
                .join(format!("box{i}.hlog"))
                .to_str()
                .unwrap()
                .to_string();
            let mut cmd = std::process::Command::new("ip");
            cmd.args([
                "netns",
                "exec",
                ns,
                support::bin(),
                "-n",
                "3000",
                "-c",
                "4",
                "-t",
                "1",
            ])
            .args(["--start-at", &start_at, "--hlog", &log, "--json", url])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
            (cmd.spawn().unwrap(), log)
        })
        .collect();
    let boxes: Vec<_> = children
        .into_iter()
        .map(|(child, log)| {
            (
                support::wait_child(child, Instant::now(), Duration::from_secs(30)),
                log,
            )
        })
        .collect();
    let mut logs = Vec::new();
    let mut sum = 0;
    let mut starts = Vec::new();
    for (r, log) in &boxes {
        assert_eq!(r.code, 0, "{}", r.stderr);
        sum += u(&r.json(), "requests");
        let head = std::fs::read_to_string(log).unwrap();
        let t: f64 = head
            .lines()
            .find_map(|l| l.strip_prefix("#[StartTime: "))
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        starts.push(t);
        logs.push(log.as_str());
    }
    unsafe { libc::kill(target.id() as i32, libc::SIGTERM) };
    let mut err = String::new();
    std::io::Read::read_to_string(target.stderr.as_mut().unwrap(), &mut err).unwrap();
    let _ = target.wait();
    let served: u64 = err
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("target said: {err}"));

    let mut args = vec!["merge", "--json"];
    args.extend(logs.iter().copied());
    let m = run(&args);
    assert_eq!(m.code, 0, "{}", m.stderr);
    let j = m.json();
    assert_eq!(sum, 9000);
    assert_eq!(
        u(&j, "requests"),
        sum,
        "merged total is the sum of the boxes"
    );
    assert_eq!(served, sum, "and what the target served");
    assert_eq!(u(&j, "status_codes.200"), 9000);
    assert_eq!(u(&j, "config.connections"), 12);
    let spread = starts.iter().cloned().fold(f64::MIN, f64::max)
        - starts.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread < 0.1, "--start-at lined the boxes up to {spread} s");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn find_short_low_rate_steps_are_not_failed_by_in_flight_requests() {
    // 20 req/s for 500 ms with 80 ms responses: 10 due, the last (sent at
    // 450 ms) still in flight when the step ends, so only 90% are answered.
    // That request was sent; the step passes.
    let s = delay_server(80);
    let r = run_line(
        "find --slo p99<1s --start 20 --max 40 --step-duration 500ms -c 4 -t 1 --json",
        &s.url(),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(f(&j, "max_sustainable_rps"), 40.0, "{j}");
    assert!(
        j["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["pass"] == true),
        "{j}"
    );
}

#[test]
fn ipv6_loopback_target() {
    let Ok(t) = blast::target::start(blast::target::TargetOptions {
        listen: "[::1]:0".parse().unwrap(),
        ..Default::default()
    }) else {
        eprintln!("skipping: no IPv6 loopback here");
        return;
    };
    let url = format!("http://{}/", t.addr());
    assert!(url.starts_with("http://[::1]:"), "{url}");
    let r = run_line("-n 200 -c 2 -t 1 --json", &url);
    let served = t.requests();
    t.stop();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(u(&r.json(), "requests"), 200);
    assert_eq!(served, 200);
}

#[test]
fn calibrate_measures_this_box() {
    // README's first command: the built-in target in-process, blast against it.
    let r = run(&["calibrate", "-d", "1s", "-c", "8"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("Running 1s test @ http://127.0.0.1:"),
        "{}",
        r.stdout
    );
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("Calibration: this box generates "))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    let rps: f64 = line.split_whitespace().nth(4).unwrap().parse().unwrap();
    assert!(rps > 1000.0, "{line}");
}

#[test]
fn progress_line_only_on_a_terminal() {
    let s = ok_server();
    // `script` gives blast a terminal for stderr.
    let cmd = format!(
        "{} -c 2 -t 1 -d 2200ms {} > /dev/null",
        support::bin(),
        s.url()
    );
    let out = std::process::Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .output();
    let Ok(out) = out else {
        eprintln!("skipping: no `script` (util-linux) here");
        return;
    };
    assert!(out.status.success(), "{:?}", out);
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(tty.contains("\r\x1b[K[  1.0s] "), "{tty:?}");
    assert!(tty.contains(" req/s, p99 "), "{tty:?}");
    // Not a terminal (a pipe, as in every other test): no progress line.
    let r = run_line("-c 2 -t 1 -d 1200ms", &s.url());
    assert!(!r.stderr.contains("req/s, p99"), "{}", r.stderr);
    // A terminal but --quiet: none either.
    let cmd = format!(
        "{} -q -c 2 -t 1 -d 1200ms {} > /dev/null",
        support::bin(),
        s.url()
    );
    let out = std::process::Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("req/s, p99"));
}
