//! gRPC (`--grpc`, issue 21) against a Python grpcio server
//! (tests/grpc/echo_server.py, in its own venv: `support::grpcio`) that
//! logs every message it received and every RESOURCE_EXHAUSTED it
//! answered: counts, messages, gRPC errors by code, a server stream's
//! TTFT and ITL, a server that dies mid-call, TLS, and the inputs that
//! stop a run before it starts.

mod reflect;

use crate::support::grpcio::{python_or_skip, GrpcServer};
use crate::support::nginx::make_certificates;
use crate::support::{run, run_cmd, Run, Scratch};
use crate::u;
use serde_json::{json, Value};
use std::time::Duration;

fn server() -> Option<GrpcServer> {
    python_or_skip().map(|py| GrpcServer::start(&py, None))
}

/// blast with `args`, then `--proto` and the URL.
fn blast(s: &GrpcServer, args: &[&str], limit: Duration) -> Run {
    let proto = s.proto();
    let url = s.url();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--proto", &proto, &url]);
    run_cmd(crate::support::command(&all), limit)
}

fn json_of(r: &Run) -> Value {
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    r.json()
}

/// Acceptance 1: 10,000 calls, each message as the JSON given, counted by
/// the server; metadata from -H and the deadline of --grpc-timeout reach it.
#[test]
fn ten_thousand_calls_arrive_as_the_json_given() {
    let Some(s) = server() else { return };
    let r = blast(
        &s,
        &[
            "-n",
            "10000",
            "-c",
            "8",
            "-t",
            "2",
            "--json",
            "--grpc",
            "test.Echo/Say",
            "-b",
            r#"{"text": "hi", "tags": ["a", "b"]}"#,
            "-H",
            "x-tenant: t1",
            "--grpc-timeout",
            "5s",
        ],
        Duration::from_secs(120),
    );
    let j = json_of(&r);
    let log = s.log("say.log");
    assert_eq!(log.len(), 10_000, "the server counted {}", log.len());
    assert_eq!(u(&j, "requests"), 10_000, "{j}");
    assert_eq!(u(&j, "grpc_status.OK"), 10_000, "{j}");
    assert_eq!(u(&j, "status_codes.0"), 10_000, "{j}");
    assert_eq!(u(&j, "errors.grpc"), 0, "{j}");
    assert_eq!(j["error_details"], json!([]), "{j}");
    assert_eq!(j["config"]["protocol"], "h2c", "{j}");
    if crate::support::uring_available() {
        assert_eq!(j["config"]["engine"], "uring", "{j}");
    }
    // The head is grpc-go's: no HTTP `accept` unless -H gives one.
    let want = json!({"msg": {"text": "hi", "tags": ["a", "b"]}, "tenant": "t1", "accept": null, "deadline_s": 5});
    for (i, line) in log.iter().enumerate() {
        assert_eq!(line, &want, "message {i}");
    }
    // The epoll engine sends the same calls.
    let args = ["-n", "2000", "-c", "4", "--json", "--grpc", "test.Echo/Say"];
    let extra = [
        "--engine",
        "epoll",
        "-H",
        "accept: x/y",
        "-b",
        r#"{"text": "e"}"#,
    ];
    let r = blast(&s, &[&args[..], &extra].concat(), Duration::from_secs(60));
    let j = json_of(&r);
    assert_eq!(j["config"]["engine"], "epoll", "{j}");
    assert_eq!(u(&j, "grpc_status.OK"), 2000, "{j}");
    let log = s.log("say.log");
    assert_eq!(log.len(), 12_000, "the server counted {}", log.len());
    let want = json!({"msg": {"text": "e"}, "tenant": null, "accept": "x/y", "deadline_s": null});
    for line in &log[10_000..] {
        assert_eq!(line, &want);
    }
}

/// Acceptance 1 with --data: every row's message arrives, field by field.
#[test]
fn data_rows_fill_the_message() {
    let Some(s) = server() else { return };
    let dir = Scratch::new("grpc-rows");
    let mut csv = String::from("text,n\n");
    for i in 0..50 {
        csv.push_str(&format!("word{i},{}\n", i * 7));
    }
    let rows = dir.write("rows.csv", &csv);
    let body = r#"{"text": "{{text}}", "n": {{n}}}"#;
    let r = blast(
        &s,
        &[
            "-n",
            "500",
            "-c",
            "4",
            "--json",
            "--grpc",
            "test.Echo/Say",
            "--data",
            &rows,
            "-b",
            body,
        ],
        Duration::from_secs(60),
    );
    let j = json_of(&r);
    assert_eq!(u(&j, "requests"), 500, "{j}");
    let log = s.log("say.log");
    assert_eq!(log.len(), 500);
    let mut seen = std::collections::BTreeMap::new();
    for line in &log {
        let m = &line["msg"];
        assert!(line["deadline_s"].is_null(), "no --grpc-timeout: {line}");
        let text = m["text"].as_str().unwrap().to_string();
        let i: i64 = text.trim_start_matches("word").parse().unwrap();
        // proto3's JSON leaves out a default 0.
        assert_eq!(m["n"].as_i64().unwrap_or(0), i * 7, "{line}");
        *seen.entry(i).or_insert(0) += 1;
    }
    // Round-robin over 50 rows per worker thread, 500 calls: every row.
    assert_eq!(seen.len(), 50, "{seen:?}");
}

/// Acceptance 2: blast's `grpc` errors by code equal the server's log.
#[test]
fn resource_exhausted_is_counted_by_code() {
    let Some(s) = server() else { return };
    let r = blast(
        &s,
        &[
            "-n",
            "1000",
            "-c",
            "4",
            "-m",
            "10",
            "--json",
            "--grpc",
            "test.Echo/Limited",
            "-b",
            r#"{"text": "x"}"#,
        ],
        Duration::from_secs(60),
    );
    let j = json_of(&r);
    let refused = s.log("limited.log").len() as u64;
    assert_eq!(refused, 200, "the server refused {refused}");
    assert_eq!(u(&j, "requests"), 1000, "{j}");
    assert_eq!(u(&j, "errors.grpc"), refused, "{j}");
    assert_eq!(u(&j, "grpc_status.RESOURCE_EXHAUSTED"), refused, "{j}");
    assert_eq!(u(&j, "grpc_status.OK"), 1000 - refused, "{j}");
    assert_eq!(u(&j, "status_codes.8"), refused, "{j}");
    let details =
        json!([{"kind": "grpc", "cause": "RESOURCE_EXHAUSTED: over quota", "count": refused}]);
    assert_eq!(j["error_details"], details, "{j}");
    let dir = Scratch::new("grpc-html");
    let html = dir.path_str("r.html");
    let args = "-n 10 -c 1 --grpc test.Echo/Limited -b {} --html";
    let mut all: Vec<&str> = args.split(' ').collect();
    all.push(&html);
    let text = blast(&s, &all, Duration::from_secs(30));
    assert!(text.stdout.contains("gRPC errors: 2"), "{}", text.stdout);
    assert!(
        text.stdout.contains("grpc: RESOURCE_EXHAUSTED: over quota"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("gRPC status: OK 8, RESOURCE_EXHAUSTED 2"),
        "{}",
        text.stdout
    );
    // The HTML report's status chart names the codes; its summary counts them.
    let page = std::fs::read_to_string(&html).unwrap();
    for w in ["RESOURCE_EXHAUSTED", "gRPC OK", "gRPC error", "gRPC errors"] {
        assert!(page.contains(w), "{w} not in the HTML report");
    }
}

/// Acceptance 2: a server that ends mid-call (its process exits after the
/// first message of a stream) is a `read` error.
#[test]
fn a_server_that_dies_mid_call_is_a_read_error() {
    let Some(py) = python_or_skip() else { return };
    let mut s = GrpcServer::start(&py, None);
    let r = blast(
        &s,
        &[
            "-n",
            "1",
            "-c",
            "1",
            "--json",
            "--grpc",
            "test.Echo/Tokens",
            "-b",
            r#"{"count": 5, "die_after": 1}"#,
        ],
        Duration::from_secs(30),
    );
    assert!(s.exited(), "the server should have exited");
    let j = r.json();
    assert_eq!(u(&j, "errors.read"), 1, "{j}");
    assert_eq!(u(&j, "requests"), 0, "{j}");
    let cause = j["error_details"][0]["cause"].as_str().unwrap_or("");
    assert!(cause.starts_with("read: "), "{j}");
}

/// Acceptance 2: what stops a run before it starts, each exit 2 naming
/// the method, the field, or the file and line.
#[test]
fn bad_methods_fields_and_protos_exit_2() {
    let dir = Scratch::new("grpc-bad");
    let proto = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grpc/echo.proto");
    let proto = proto.to_str().unwrap();
    let bad = dir.write(
        "bad.proto",
        "syntax = \"proto3\";\nmessage A {\n  string x = 1\n}\n",
    );
    let url = "http://127.0.0.1:9";
    for (args, want) in [
        (
            vec!["--grpc", "test.Echo/Shout", "--proto", proto, "-b", "{}"],
            vec![
                "--grpc",
                "test.Echo/Shout",
                "no method Shout",
                "Say, Limited, Tokens",
            ],
        ),
        (
            vec!["--grpc", "test.Nope/Say", "--proto", proto, "-b", "{}"],
            vec!["no service test.Nope", "services found: test.Echo"],
        ),
        (
            vec![
                "--grpc",
                "test.Echo/Say",
                "--proto",
                proto,
                "-b",
                r#"{"txt": "hi"}"#,
            ],
            vec!["test.SayRequest", "'txt'"],
        ),
        (
            vec!["--grpc", "test.Echo/Say", "--proto", &bad, "-b", "{}"],
            vec!["--proto", "bad.proto:4:1", "expected ';'"],
        ),
        (
            vec!["--grpc", "test.Echo/Say", "-b", "{}"],
            vec!["--proto FILE"],
        ),
        (
            vec!["--proto", proto, "-b", "{}"],
            vec!["--proto", "needs --grpc"],
        ),
    ] {
        let mut all = args.clone();
        all.push(url);
        let r = run(&all);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
        for w in want {
            assert!(r.stderr.contains(w), "{args:?}: {w:?} not in {}", r.stderr);
        }
    }
}

/// Acceptance 4: a server stream's first message is TTFT, the gaps ITL,
/// and every message is counted.
#[test]
fn a_server_stream_times_its_messages() {
    let Some(s) = server() else { return };
    let (first_ms, gap_ms, count, calls) = (200.0, 50.0, 10, 40);
    let body = format!(r#"{{"count": {count}, "first_ms": {first_ms}, "gap_ms": {gap_ms}}}"#);
    let n = calls.to_string();
    let r = blast(
        &s,
        &[
            "-n",
            &n,
            "-c",
            "4",
            "--json",
            "--grpc",
            "test.Echo/Tokens",
            "-b",
            &body,
        ],
        Duration::from_secs(60),
    );
    let j = json_of(&r);
    assert_eq!(u(&j, "requests"), calls, "{j}");
    assert_eq!(u(&j, "output_tokens"), calls * count, "{j}");
    assert_eq!(u(&j, "streamed_responses"), calls, "{j}");
    let ttft = u(&j, "ttft_us.p50") as f64 / 1000.0;
    let itl = u(&j, "itl_us.p50") as f64 / 1000.0;
    assert!(
        (ttft - first_ms).abs() <= first_ms * 0.05,
        "TTFT p50 {ttft} ms: {j}"
    );
    assert!(
        (itl - gap_ms).abs() <= gap_ms * 0.05,
        "ITL p50 {itl} ms: {j}"
    );
}

/// Acceptance 6: TLS with a test CA: --cacert passes, another CA is exit 3
/// naming the certificate.
#[test]
fn tls_with_the_test_ca() {
    let Some(py) = python_or_skip() else { return };
    let certs = Scratch::new("grpc-tls");
    make_certificates(&certs);
    let (crt, key) = (certs.path_str("server.crt"), certs.path_str("server.key"));
    let s = GrpcServer::start(&py, Some((&crt, &key)));
    let url = format!("grpcs://localhost:{}", s.port);
    let proto = s.proto();
    let ca = certs.path_str("ca.crt");
    let args = [
        "-n",
        "100",
        "-c",
        "2",
        "--json",
        "--grpc",
        "test.Echo/Say",
        "-b",
        r#"{"text": "tls"}"#,
    ];
    let mut ok = args.to_vec();
    ok.extend(["--proto", &proto, "--cacert", &ca, &url]);
    let j = json_of(&run(&ok));
    assert_eq!(u(&j, "grpc_status.OK"), 100, "{j}");
    assert_eq!(j["config"]["protocol"], "h2", "{j}");
    assert_eq!(s.log("say.log").len(), 100);
    let other = certs.path_str("other-ca.crt");
    let mut bad = args.to_vec();
    bad.extend(["--proto", &proto, "--cacert", &other, &url]);
    let r = run(&bad);
    assert_eq!(r.code, 3, "{}", r.stderr);
    for w in ["certificate", "unknown issuer", "--cacert"] {
        assert!(r.stderr.contains(w), "{w:?} not in {}", r.stderr);
    }
    assert_eq!(s.log("say.log").len(), 100);
}

/// Scenarios: `grpc = "pkg.Svc/Method"` requests with JSON bodies, by
/// weight; without --http2, exit 2 naming the line.
#[test]
fn scenario_grpc_requests() {
    let Some(s) = server() else { return };
    let dir = Scratch::new("grpc-scenario");
    let sc = dir.write(
        "s.toml",
        r#"
[[request]]
name = "say"
grpc = "test.Echo/Say"
body = '{"text": "from scenario"}'
weight = 3

[[request]]
name = "limited"
grpc = "test.Echo/Limited"
body = '{"text": "limited"}'
weight = 1
"#,
    );
    let r = blast(
        &s,
        &[
            "-n",
            "400",
            "-c",
            "2",
            "--json",
            "--http2",
            "--scenario",
            &sc,
        ],
        Duration::from_secs(60),
    );
    let j = json_of(&r);
    let log = s.log("say.log");
    assert_eq!(log.len(), 400);
    let say = log
        .iter()
        .filter(|l| l["msg"]["text"] == "from scenario")
        .count() as u64;
    assert_eq!(u(&j, "by_name.say.requests"), say, "{j}");
    assert_eq!(u(&j, "by_name.limited.requests"), 400 - say, "{j}");
    let refused = s.log("limited.log").len() as u64;
    assert_eq!(u(&j, "errors.grpc"), refused, "{j}");
    assert_eq!(
        u(&j, "by_name.limited.grpc_status.RESOURCE_EXHAUSTED"),
        refused,
        "{j}"
    );
    let r = blast(
        &s,
        &["-n", "10", "--scenario", &sc],
        Duration::from_secs(30),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("s.toml line 2") && r.stderr.contains("--http2"),
        "{}",
        r.stderr
    );
}

/// `--check` reads the response message as JSON, every field included.
#[test]
fn checks_read_the_message_as_json() {
    let Some(s) = server() else { return };
    let r = blast(
        &s,
        &[
            "-n",
            "50",
            "-c",
            "2",
            "--json",
            "--grpc",
            "test.Echo/Say",
            "-b",
            r#"{"text": "hi"}"#,
            "--check",
            r#"json /text == "hi""#,
            "--check",
            "json /n == 0",
            "--check",
            r#"json /text == "ho""#,
        ],
        Duration::from_secs(30),
    );
    let j = json_of(&r);
    let checks = j["checks"].as_array().unwrap();
    let passes: Vec<u64> = checks
        .iter()
        .map(|c| c["passes"].as_u64().unwrap())
        .collect();
    assert_eq!(passes, [50, 50, 0], "{j}");
    assert_eq!(u(&j, "errors.check"), 50, "{j}");
    assert_eq!(u(&j, "grpc_status.OK"), 50, "{j}");
}

/// A deadline (`--grpc-timeout`) the server cannot meet: DEADLINE_EXCEEDED
/// by name, every call.
#[test]
fn a_missed_deadline_is_deadline_exceeded() {
    let Some(s) = server() else { return };
    let args = "-n 10 -c 2 --json --grpc test.Echo/Tokens --grpc-timeout 100ms";
    let mut all: Vec<&str> = args.split(' ').collect();
    all.extend(["-b", r#"{"count": 3, "first_ms": 400}"#]);
    let j = json_of(&blast(&s, &all, Duration::from_secs(30)));
    assert_eq!(u(&j, "grpc_status.DEADLINE_EXCEEDED"), 10, "{j}");
    assert_eq!(u(&j, "errors.grpc"), 10, "{j}");
    assert_eq!(j["error_details"][0]["kind"], "grpc", "{j}");
    let cause = j["error_details"][0]["cause"].as_str().unwrap_or("");
    assert!(cause.starts_with("DEADLINE_EXCEEDED"), "{j}");
}
