//! The command line as users type it: exit codes, bad input, bodies and
//! headers as the server received them, the reports' layout, Ctrl-C;
//! `calibrate` has its own file.

mod calibrate;

use crate::support::{
    self, command, command_line, delay_server, run, run_cmd, run_line, wait_until, Behavior,
    Scratch, Server,
};
use crate::{json_run, ok_server, u};
use std::time::{Duration, Instant};

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
    let dir = Scratch::new("body-file");
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
        "--method",
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
}

#[test]
fn multipart_form_as_received() {
    let dir = Scratch::new("form");
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
    // Never below the delay; above it only by the loopback round trip and
    // scheduling (the test runs alone: see .config/nextest.toml).
    assert!(
        (20_000..=30_000).contains(&p50),
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
    // 4 connections, each waiting for its response: throughput and latency
    // must agree (Little's law), whatever a busy machine adds to the 20 ms.
    let rps = j["rps"].as_f64().unwrap();
    let mean_ms = j["latency_us"]["mean"].as_f64().unwrap() / 1000.0;
    let expected = 4.0 * 1000.0 / mean_ms;
    assert!(
        rps <= 200.0 && (expected * 0.9..=expected * 1.05).contains(&rps),
        "rps {rps}, mean latency {mean_ms} ms: expected about {expected}"
    );
}

#[test]
fn ttfb_is_the_first_byte_of_the_body() {
    // Head and the first body byte after 30 ms, the last byte 100 ms later:
    // time to first byte ~30 ms, latency ~130 ms.
    let s = Server::start(Behavior::SlowBody {
        first: Duration::from_millis(30),
        gap: Duration::from_millis(100),
    });
    for engine in support::engines() {
        let j = json_run(engine, "-n 6 -c 2 -t 1", &s.url());
        assert_eq!(u(&j, "requests"), 6, "{j}");
        let (ttfb, latency) = (u(&j, "ttfb_us.p50"), u(&j, "latency_us.p50"));
        assert!(
            (30_000..=80_000).contains(&ttfb),
            "{engine}: ttfb {ttfb}: {j}"
        );
        assert!(latency >= 130_000, "{engine}: latency {latency}: {j}");
        // Every one of the 6 was recorded, each before its response ended.
        assert!(u(&j, "ttfb_us.max") < u(&j, "latency_us.min"), "{j}");
    }
    // A response whose body arrives with its head: ttfb is its latency.
    let j = json_run("epoll", "-n 50 -c 1 -t 1", &ok_server().url());
    assert_eq!(u(&j, "ttfb_us.max"), u(&j, "latency_us.max"), "{j}");
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
    // Ctrl-C once the run is under way: a request at the server.
    wait_until(Duration::from_secs(10), "a request at the server", || {
        s.requests() > 0
    });
    unsafe { libc::kill(pid, libc::SIGINT) };
    let r = support::wait_child(child, start, Duration::from_secs(10));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);
    assert!(r.stdout.contains("Interrupted"), "{}", r.stdout);
    assert!(r.stdout.contains("Requests/sec:"), "{}", r.stdout);
    assert!(s.requests() > 0);
}

#[test]
fn ipv6_loopback_target() {
    let t = blast::target::start(blast::target::TargetOptions {
        listen: "[::1]:0".parse().unwrap(),
        ..Default::default()
    });
    if !support::have("ipv6", t.is_ok(), "no IPv6 loopback here") {
        return;
    }
    let t = t.unwrap();
    let url = format!("http://{}/", t.addr());
    assert!(url.starts_with("http://[::1]:"), "{url}");
    let r = run_line("-n 200 -c 2 -t 1 --json", &url);
    let served = t.requests();
    t.stop();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(u(&r.json(), "requests"), 200);
    assert_eq!(served, 200);
}

/// What a terminal shows of `blast {flags} URL`, stdout to /dev/null:
/// `script` gives blast a terminal for stderr. None without `script`.
fn on_a_terminal(flags: &str, url: &str) -> Option<String> {
    let cmd = format!("{} {flags} {url} > /dev/null", support::bin());
    let out = std::process::Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .output();
    if !support::have("script", out.is_ok(), "no `script` (util-linux) here") {
        return None;
    }
    let out = out.unwrap();
    assert!(out.status.success(), "{:?}", out);
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn progress_line_only_on_a_terminal() {
    let s = ok_server();
    let Some(tty) = on_a_terminal("-c 2 -t 1 -d 2200ms", &s.url()) else {
        return;
    };
    assert!(tty.contains("\r\x1b[K[  1.0s] "), "{tty:?}");
    assert!(tty.contains(" req/s, p99 "), "{tty:?}");
    // Not a terminal (a pipe, as in every other test): no progress line.
    let r = run_line("-c 2 -t 1 -d 1200ms", &s.url());
    assert!(!r.stderr.contains("req/s, p99"), "{}", r.stderr);
    // A terminal but --quiet: none either.
    let tty = on_a_terminal("-q -c 2 -t 1 -d 1200ms", &s.url()).unwrap();
    assert!(!tty.contains("req/s, p99"), "{tty:?}");
}
