//! Issue 19's HTTP/1.1 pipelining (`--pipeline N`), on both engines,
//! against servers that count what they answered: `blast target`, nginx
//! (which closes with `Connection: close` at its `keepalive_requests`, in
//! the middle of a batch) and the test servers that misbehave on purpose.

use crate::support::nginx::{Nginx, NginxOptions};
use crate::support::{run_line, Behavior, Scratch, Server, TargetProcess};
use crate::{json_run, u};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

both_engines!(
    exact_n_at_blast_target,
    exact_n_at_nginx,
    exact_n_over_tls_at_nginx,
    duration_run_counts_match_the_target,
    connection_close_mid_batch_resends_the_rest,
    silent_close_between_batches_is_stale,
    silent_close_mid_batch_is_read_errors,
    cut_mid_batch_is_one_read_error_and_the_rest,
    timeout_counts_the_whole_batch,
    scenario_mix_matches_the_targets_counts,
);

/// Responses and errors of every kind: each claimed request is one of them.
fn settled(j: &Value) -> u64 {
    let e = &j["errors"];
    let errors: u64 = ["connect", "read", "write", "timeout", "parse", "tls"]
        .iter()
        .map(|k| e[*k].as_u64().unwrap_or(0))
        .sum();
    u(j, "requests") + errors
}

/// The count of `blast target`'s stats endpoint, asked on a connection of
/// its own (which it does not count).
fn target_count(t: &TargetProcess) -> u64 {
    let mut s = TcpStream::connect(t.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /__blast/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let body = &raw[raw.find("\r\n\r\n").expect("a response head") + 4..];
    let v: Value = serde_json::from_str(body).expect("stats are JSON");
    v["requests"].as_u64().unwrap()
}

fn exact_n_at_blast_target(engine: &str) {
    let t = TargetProcess::start(&[]);
    let url = format!("{}/", t.url);
    let j = json_run(engine, "-n 100000 -c 256 -t 1 --pipeline 16", &url);
    assert_eq!(u(&j, "requests"), 100_000, "{j}");
    assert_eq!(u(&j, "status_codes.200"), 100_000);
    assert_eq!(u(&j, "config.streams"), 16, "the report names the depth");
    assert_eq!(target_count(&t), 100_000, "the target counted exactly -n");
    // The text report says it too.
    let r = run_line(
        &format!("-n 32 -c 2 -t 1 --pipeline 16 --engine {engine}"),
        &url,
    );
    assert!(
        r.stdout
            .contains("2 connections, 16 requests pipelined on each"),
        "{}",
        r.stdout
    );
}

fn exact_n_at_nginx(engine: &str) {
    // keepalive_requests 1000 (nginx's default) is no multiple of 16: every
    // connection's 63rd batch meets a Connection: close after 8 answers.
    let n = Nginx::start(NginxOptions::default());
    let j = json_run(engine, "-n 100000 -c 256 -t 1 --pipeline 16", &n.url("/"));
    assert_eq!(u(&j, "requests"), 100_000, "{j}");
    assert_eq!(u(&j, "status_codes.200"), 100_000, "{j}");
    assert_eq!(settled(&j), 100_000, "no error: {j}");
    assert_eq!(n.requests(), 100_000, "nginx answered exactly -n");
    // 100 answered per connection: 16 closes, each mid-batch (100 = 6 x 16 + 4).
    let n = Nginx::start(NginxOptions {
        keepalive_requests: Some(100),
        ..Default::default()
    });
    let j = json_run(engine, "-n 5000 -c 8 -t 1 --pipeline 16", &n.url("/"));
    assert_eq!((u(&j, "requests"), settled(&j)), (5000, 5000), "{j}");
    assert_eq!(n.requests(), 5000);
    // One connection per 100 requests, but for the last of each of the 8.
    let conns = n.connections();
    assert!((50..=58).contains(&conns), "{conns} connections");
}

fn exact_n_over_tls_at_nginx(engine: &str) {
    // A batch is encrypted into one run of TLS records and written at once.
    let n = Nginx::start(NginxOptions {
        keepalive_requests: Some(100),
        ..NginxOptions::tls()
    });
    let flags = format!("-n 2000 -c 4 -t 1 --pipeline 16 --cacert {}", n.ca());
    let j = json_run(engine, &flags, &n.url("/"));
    assert_eq!((u(&j, "requests"), settled(&j)), (2000, 2000), "{j}");
    assert_eq!(n.requests(), 2000);
    assert!(n.log().iter().all(|l| l.tls.starts_with("TLS")));
}

fn duration_run_counts_match_the_target(engine: &str) {
    let t = TargetProcess::start(&[]);
    let url = format!("{}/", t.url);
    let j = json_run(engine, "-c 256 -t 1 -d 2s --pipeline 16", &url);
    let answered = u(&j, "requests");
    let in_flight = u(&j, "in_flight_at_end");
    let counted = target_count(&t);
    assert!(answered > 10_000, "{j}");
    assert_eq!(settled(&j), answered, "no error: {j}");
    assert!(in_flight <= 256 * 16, "{j}");
    // Every request blast counted, the target counted; past them, only
    // requests still in flight when the run ended.
    assert!(
        answered <= counted && counted <= answered + in_flight,
        "blast: {answered} answered + {in_flight} in flight; the target: {counted}"
    );
}

fn connection_close_mid_batch_resends_the_rest(engine: &str) {
    // Connection: close on every 5th response: each batch of 16 meets it
    // after 5 answers, and its 11 others go again on a new connection.
    let s = Server::start(Behavior::CloseAfter {
        n: 5,
        connection_header: true,
    });
    let j = json_run(engine, "-n 160 -c 1 -t 1 --pipeline 16", &s.url());
    assert_eq!(u(&j, "requests"), 160, "{j}");
    assert_eq!(settled(&j), 160, "not errors: {j}");
    assert_eq!(s.requests(), 160, "the server answered each once");
    assert_eq!(s.connections(), 32);
}

fn silent_close_between_batches_is_stale(engine: &str) {
    // The server closes without a word after every 16th response: the next
    // batch finds the reused connection closed before any answer, an idle
    // close, and goes again on a new one, as one request would.
    let s = Server::start(Behavior::CloseAfter {
        n: 16,
        connection_header: false,
    });
    let j = json_run(engine, "-n 160 -c 1 -t 1 --pipeline 16", &s.url());
    assert_eq!((u(&j, "requests"), settled(&j)), (160, 160), "{j}");
    assert_eq!(s.requests(), 160);
    assert_eq!(s.connections(), 10);
}

fn silent_close_mid_batch_is_read_errors(engine: &str) {
    // Closed without a word after 5 answers: the 11 others of the batch
    // were never answered, and nothing said they would not be: read errors.
    let s = Server::start(Behavior::CloseAfter {
        n: 5,
        connection_header: false,
    });
    let j = json_run(engine, "-n 160 -c 1 -t 1 --pipeline 16", &s.url());
    assert_eq!(u(&j, "requests"), 50, "{j}");
    assert_eq!(u(&j, "errors.read"), 110, "{j}");
    assert_eq!(s.requests(), 50);
    assert_eq!(s.connections(), 10);
}

fn cut_mid_batch_is_one_read_error_and_the_rest(engine: &str) {
    // Every 5th response is cut mid-body and the connection closed: per
    // batch of 16, 4 answers, the cut one, and 11 never answered.
    let s = Server::start(Behavior::CutMidBody {
        every: 5,
        reset: false,
    });
    let j = json_run(engine, "-n 160 -c 1 -t 1 --pipeline 16", &s.url());
    assert_eq!(u(&j, "requests"), 40, "{j}");
    assert_eq!(u(&j, "errors.read"), 120, "{j}");
    assert_eq!(settled(&j), 160, "{j}");
    assert_eq!(s.requests(), 50, "4 answered and 1 cut per connection");
    assert_eq!(s.connections(), 10);
    let causes: Vec<(String, u64)> = j["error_details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["cause"].as_str().unwrap().to_string(), u(d, "count")))
        .collect();
    assert!(
        causes.contains(&("read: EOF mid-body".into(), 10))
            && causes.contains(&("read: EOF before response".into(), 110)),
        "{causes:?}"
    );
}

fn timeout_counts_the_whole_batch(engine: &str) {
    let s = Server::start(Behavior::Silent);
    let j = json_run(
        engine,
        "-d 1500ms -c 1 -t 1 --pipeline 4 --timeout 300ms",
        &s.url(),
    );
    let timeouts = u(&j, "errors.timeout");
    assert!(timeouts >= 4 && timeouts.is_multiple_of(4), "{j}");
    assert_eq!(u(&j, "requests") + u(&j, "errors.read"), 0, "{j}");
}

fn scenario_mix_matches_the_targets_counts(engine: &str) {
    // Two names, 3 to 1, drawn per request into each batch: the target
    // counts each path as often as blast reports its name.
    let t = TargetProcess::start(&["--record", "1"]);
    let dir = Scratch::new("pipeline-mix");
    let scenario = dir.write(
        "s.toml",
        "[[request]]\nname = \"predict\"\npath = \"/predict\"\nmethod = \"POST\"\n\
         body = '{\"x\": 1}'\nweight = 3\n\n\
         [[request]]\nname = \"health\"\npath = \"/health\"\nweight = 1\n",
    );
    let j = json_run(
        engine,
        &format!("-n 4000 -c 8 -t 1 --pipeline 8 --scenario {scenario}"),
        &t.url,
    );
    let mut s = TcpStream::connect(t.addr()).unwrap();
    write!(
        s,
        "GET /__blast/requests HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let rec: Value = serde_json::from_str(&raw[raw.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    let by = &j["by_name"];
    let (p, h) = (u(by, "predict.requests"), u(by, "health.requests"));
    assert_eq!(p + h, 4000, "{j}");
    assert_eq!(rec["paths"]["/predict"].as_u64(), Some(p), "{rec}");
    assert_eq!(rec["paths"]["/health"].as_u64(), Some(h), "{rec}");
    assert!((2700..=3300).contains(&p), "3 to 1: {p} and {h}");
}

#[test]
fn combinations_it_cannot_run_are_exit_2() {
    for (flags, says) in [
        ("--pipeline 0", "from 1 to 1024"),
        ("--pipeline 1025", "from 1 to 1024"),
        ("--pipeline 16 -R 1000", "not with -R"),
        ("--pipeline 16 --stages 1s:10 -R 100", "not with -R"),
        ("--pipeline 16 --http2", "not with --http2"),
        ("--pipeline 16 --no-keepalive", "not --no-keepalive"),
        ("--pipeline 16 --cookies", "captures or cookies"),
    ] {
        let r = run_line(flags, "http://127.0.0.1:9/");
        assert_eq!(r.code, 2, "{flags}: {}", r.stderr);
        let line = r.stderr.trim();
        assert!(
            line.lines().count() == 1 && line.contains("--pipeline") && line.contains(says),
            "{flags}: {line}"
        );
    }
    let dir = Scratch::new("pipeline-think");
    let scenario = dir.write(
        "s.toml",
        "think = \"constant 10ms\"\n[[request]]\npath = \"/\"\n",
    );
    let r = run_line(
        &format!("--pipeline 4 --scenario {scenario}"),
        "http://127.0.0.1:9/",
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("--pipeline 4: not with think times"),
        "{}",
        r.stderr
    );
    // --pipeline 1 is today's behaviour, with all of them.
    let s = Server::start(Behavior::Fixed {
        status: 200,
        body: b"ok".to_vec(),
    });
    let r = run_line("--pipeline 1 -R 200 -d 300ms -c 2 --json", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn calibrate_prints_the_pipelined_capacity() {
    let r = crate::support::run(&["calibrate", "-d", "500ms", "-c", "16", "--pipeline", "16"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("Calibration: "))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(
        line.contains("req/s, 16 requests pipelined per write, with")
            && line.contains("16 connections"),
        "{line}"
    );
}
