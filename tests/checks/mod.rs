//! Response checks (`--check`, a scenario's `checks`): a Python server
//! that answers `200` with an error in the body on a subset it counts
//! itself, and blast's `check` failures compared with that count, on both
//! engines and over HTTP/2; stream error events; status checks replacing
//! the default rule; `--slo errors<1%` and `blast find`; bad input.

use crate::support::python::PyServer;
use crate::support::{command, run, run_cmd, run_line, Run, Scratch, TargetProcess};
use crate::u;
use serde_json::Value;
use std::time::Duration;

/// `/predict` answers `200 {"error": "overloaded"}` when it judges the
/// request bad, else `200 {"predictions": [...]}`; `/count` says how many
/// it answered and how many of them were bad. The mode (argv[1]):
/// `mod7`: the request numbered n (from 0) is bad when n % 7 == 3;
/// `rate:N`: bad when more than N requests arrived in the last second;
/// `status:CODE`: every answer has that status (and is good);
/// `sse-error` / `sse-ok`: an event stream of 5 tokens, then (sse-error)
/// an error event.
const SERVER: &str = r#"
import http.server, socketserver, json, sys, threading, time, collections
mode = sys.argv[1]
lock, n, bad, times = threading.Lock(), [0], [0], collections.deque()
bad_by_path = collections.Counter()
# Python's default backlog (5) drops the SYNs of a burst of connections.
socketserver.TCPServer.request_queue_size = 128
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, code, body, ctype="application/json"):
        # One write: head and body apart would meet delayed ACKs.
        b = body.encode()
        head = "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (code, ctype, len(b))
        self.wfile.write(head.encode() + b)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.do_GET()
    def do_GET(self):
        if self.path == "/count":
            with lock:
                return self.reply(200, json.dumps({"requests": n[0], "bad": bad[0], "by_path": bad_by_path}))
        with lock:
            k = n[0]
            n[0] += 1
            is_bad = False
            if mode == "mod7":
                is_bad = k % 7 == 3
            elif mode.startswith("rate:"):
                now = time.monotonic()
                times.append(now)
                while times[0] < now - 1.0:
                    times.popleft()
                is_bad = len(times) > int(mode[5:])
            if is_bad:
                bad[0] += 1
                bad_by_path[self.path] += 1
        if mode.startswith("status:"):
            return self.reply(int(mode[7:]), '{"ok": true}')
        if mode.startswith("sse"):
            out = [b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"]
            def send(data):
                d = ("data: " + data + "\n\n").encode()
                out.append(b"%x\r\n%s\r\n" % (len(d), d))
            for i in range(5):
                send(json.dumps({"choices": [{"index": 0, "delta": {"content": "tok%d " % i}}]}))
            if mode == "sse-error":
                send(json.dumps({"error": {"message": "CUDA out of memory"}}))
            send("[DONE]")
            out.append(b"0\r\n\r\n")
            self.wfile.write(b"".join(out))
            return
        if is_bad:
            return self.reply(200, '{"error": "overloaded"}')
        self.reply(200, '{"predictions": [{"label": "cat", "score": 0.9}]}')
"#;

struct Predict(PyServer);

impl Predict {
    fn start(mode: &str) -> Predict {
        Predict(PyServer::start(SERVER, [mode]))
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/predict", self.0.port)
    }

    /// (requests answered, bad answers) as the server counted them.
    fn count(&self) -> (u64, u64) {
        let v = self.counts();
        (u(&v, "requests"), u(&v, "bad"))
    }

    /// The server's `/count` document.
    fn counts(&self) -> Value {
        serde_json::from_str(&http_get(self.0.port, "/count")).unwrap()
    }
}

/// GET `path` on 127.0.0.1:`port` with a bare socket; the body.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split("\r\n\r\n").nth(1).unwrap_or("").to_string()
}

const PREDICTIONS: &str = "json /predictions exists";

/// Run blast with `flags` (space-separated) then the checks, then `url`.
fn blast(flags: &str, checks: &[&str], url: &str) -> Run {
    let mut all: Vec<&str> = flags.split_whitespace().collect();
    for c in checks {
        all.extend(["--check", c]);
    }
    all.push(url);
    run_cmd(command(&all), Duration::from_secs(60))
}

fn counted_from_both_sides(engine: &str) {
    let s = Predict::start("mod7");
    let r = blast(
        &format!("--engine {engine} -n 700 -c 4 -t 1 --json"),
        &[PREDICTIONS],
        &s.url(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let (served, bad) = s.count();
    assert_eq!(served, 700);
    assert_eq!(bad, 100, "n % 7 == 3 for 100 of 700");
    assert_eq!(u(&j, "requests"), 700, "{j}");
    assert_eq!(u(&j, "status_codes.200"), 700, "{j}");
    assert_eq!(u(&j, "errors.check"), bad, "{j}");
    assert_eq!(u(&j, "errors.status"), 0, "{j}");
    let checks = j["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "{j}");
    assert_eq!(checks[0]["check"], PREDICTIONS);
    assert_eq!(u(&checks[0], "passes") + u(&checks[0], "fails"), 700);
    assert_eq!(u(&checks[0], "fails"), bad);
    let details = j["error_details"].as_array().unwrap();
    assert!(
        details
            .iter()
            .any(|d| d["kind"] == "check" && d["cause"] == PREDICTIONS && d["count"] == bad),
        "{j}"
    );
    let errors: u64 = j["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| u(p, "errors"))
        .sum();
    assert_eq!(errors, bad, "the timeline's errors add up: {j}");

    // The text report: wrk's kind of line, and k6's per check.
    let r = blast(
        &format!("--engine {engine} -n 700 -c 4 -t 1"),
        &[PREDICTIONS],
        &s.url(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Check failures: 100"), "{}", r.stdout);
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains(PREDICTIONS) && l.contains('✓'))
        .unwrap_or_else(|| panic!("no check line in\n{}", r.stdout));
    assert!(
        line.contains("85.71%") && line.contains("✓ 600") && line.contains("✗ 100"),
        "{line}"
    );
}

both_engines!(counted_from_both_sides);

#[test]
fn slo_errors_count_check_failures() {
    let s = Predict::start("mod7");
    let r = blast("-n 140 -c 2 -t 1 --slo errors<1%", &[PREDICTIONS], &s.url());
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    // Without the check the status line says all is well: the point.
    let r = blast("-n 140 -c 2 -t 1 --slo errors<1%", &[], &s.url());
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

#[test]
fn a_status_check_replaces_the_default_rule() {
    let s = Predict::start("status:404");
    let r = blast("-n 50 -c 2 -t 1 --json", &["status == 404"], &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(u(&j, "status_codes.404"), 50, "{j}");
    assert_eq!(u(&j, "errors.status"), 0, "{j}");
    assert_eq!(u(&j, "errors.check"), 0, "{j}");

    let s = Predict::start("status:200");
    let r = blast("-n 50 -c 2 -t 1 --json", &["status == 404"], &s.url());
    let j = r.json();
    assert_eq!(u(&j, "errors.status"), 0, "{j}");
    assert_eq!(u(&j, "errors.check"), 50, "{j}");
    assert_eq!(j["checks"][0]["fails"], 50, "{j}");
}

#[test]
fn a_stream_error_event_fails_the_request() {
    let s = Predict::start("sse-error");
    for checks in [&[][..], &["body contains tok4"][..]] {
        let r = blast("-n 20 -c 2 -t 1 --json", checks, &s.url());
        assert_eq!(r.code, 0, "{}", r.stderr);
        let j = r.json();
        assert_eq!(u(&j, "errors.check"), 20, "{checks:?}: {j}");
        let d = &j["error_details"][0];
        assert_eq!(d["cause"], "stream error: CUDA out of memory", "{j}");
        assert_eq!(d["count"], 20, "{j}");
        assert_eq!(u(&j, "streamed_responses"), 20, "{j}");
    }
    // The body checks read the concatenated data: payloads.
    let s = Predict::start("sse-ok");
    let r = blast(
        "-n 20 -c 2 -t 1 --json",
        &["body contains tok4", "body !contains CUDA"],
        &s.url(),
    );
    let j = r.json();
    assert_eq!(u(&j, "errors.check"), 0, "{j}");
    assert_eq!(j["checks"][0]["passes"], 20, "{j}");
}

#[test]
fn blast_find_stops_below_where_the_server_answers_errors() {
    let s = Predict::start("rate:350");
    let r = blast(
        "find --slo errors<1% --start 100 --max 1600 --step-duration 1s -c 16 -t 1 --json",
        &[PREDICTIONS],
        &s.url(),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    let max = j["max_sustainable_rps"].as_f64().unwrap();
    assert!(
        (200.0..=350.0).contains(&max),
        "found {max} req/s, the server breaks above 350: {j}"
    );
}

#[test]
fn checks_over_h2c() {
    let t = TargetProcess::start(&["--http2", "--status", "404"]);
    let r = blast(
        "--http2 -n 300 -c 2 -t 1 -m 4 --json",
        &["status == 404", "size == 13", "header content-length == 13"],
        &t.url,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(u(&j, "requests"), 300, "{j}");
    assert_eq!(u(&j, "errors.status") + u(&j, "errors.check"), 0, "{j}");
    for c in j["checks"].as_array().unwrap() {
        assert_eq!(c["passes"], 300, "{j}");
    }
    let r = blast(
        "--http2 -n 100 -c 2 -t 1 --json",
        &["body contains nothing-like-this"],
        &t.url,
    );
    let j = r.json();
    // The default rule fails a 404 first: body checks are not evaluated.
    assert_eq!(u(&j, "errors.status"), 100, "{j}");
    assert_eq!(u(&j, "errors.check"), 0, "{j}");
}

#[test]
fn bad_checks_are_one_line_and_exit_2() {
    let url = "http://127.0.0.1:9/";
    let r = blast("-n 1", &["bdy contains x"], url);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        "blast: --check \"bdy contains x\": unknown check subject \"bdy\": expected status, body, json, header or size"
    );
    for (flags, bad) in [
        ("-n 1", "json predictions exists"),
        ("-n 1", "status == 2000"),
        ("-n 1", "body matches (("),
        ("-n 1", "size < lots"),
    ] {
        let r = blast(flags, &[bad], url);
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains("--check"), "{}", r.stderr);
    }
    let r = run_line("-n 1 --max-body lots", url);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("--max-body"), "{}", r.stderr);

    let dir = Scratch::new("checks-bad");
    let path = dir.write(
        "s.toml",
        "[[request]]\npath = \"/\"\n\n[[request]]\npath = \"/b\"\nchecks = [\"status == 200\", \"json nope\"]\n",
    );
    let r = run(&["-n", "1", "--scenario", &path, url]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("s.toml line 4: checks: \"json nope\""),
        "{}",
        r.stderr
    );
}

#[test]
fn scenario_checks_count_per_name() {
    let s = Predict::start("mod7");
    let dir = Scratch::new("checks-scenario");
    let path = dir.write(
        "s.toml",
        r#"checks = ["status == 200"]

[[request]]
name = "predict"
method = "POST"
path = "/predict"
body = '{"inputs": [1]}'
checks = ["json /predictions/0/label exists"]

[[sequence]]
[[sequence.step]]
name = "health"
path = "/health"
[[sequence.step]]
name = "other"
path = "/other"
checks = ["body contains predictions"]
"#,
    );
    let url = format!("http://127.0.0.1:{}/", s.0.port);
    let r = run(&[
        "-n",
        "1400",
        "-c",
        "4",
        "-t",
        "1",
        "--json",
        "--scenario",
        &path,
        &url,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let c = s.counts();
    let bad = |p: &str| c["by_path"][p].as_u64().unwrap_or(0);
    assert_eq!(
        u(&j, "by_name.predict.errors.check"),
        bad("/predict"),
        "{j} {c}"
    );
    assert_eq!(
        u(&j, "by_name.other.errors.check"),
        bad("/other"),
        "{j} {c}"
    );
    // /health has only the top-level status check: its bad answers pass.
    assert_eq!(u(&j, "by_name.health.errors.check"), 0, "{j}");
    assert_eq!(
        u(&j, "errors.check"),
        bad("/predict") + bad("/other"),
        "{j}"
    );
    let checks = j["checks"].as_array().unwrap();
    let rows: Vec<(&str, &str)> = checks
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["check"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [
            ("predict", "status == 200"),
            ("predict", "json /predictions/0/label exists"),
            ("health", "status == 200"),
            ("other", "status == 200"),
            ("other", "body contains predictions"),
        ]
    );
    for c in checks {
        let n = u(
            &j,
            &format!("by_name.{}.requests", c["name"].as_str().unwrap()),
        );
        assert_eq!(u(c, "passes") + u(c, "fails"), n, "{j}");
    }
}

#[test]
fn a_body_over_max_body_fails_its_check() {
    let s = Predict::start("mod7");
    let r = blast(
        "-n 30 -c 1 -t 1 --json --max-body 16B",
        &["body contains cat"],
        &s.url(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(u(&j, "errors.check"), 30, "{j}");
    assert_eq!(
        j["error_details"][0]["cause"], "body over --max-body (16 B)",
        "{j}"
    );
    // size checks keep nothing and see the whole length.
    let r = blast(
        "-n 30 -c 1 -t 1 --json --max-body 16B",
        &["size > 16B"],
        &s.url(),
    );
    assert_eq!(u(&r.json(), "errors.check"), 0);
}
