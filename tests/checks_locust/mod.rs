//! Checks side by side with Locust (issue 17, acceptance 2): one
//! deterministic server, one flow written twice, as a locustfile that fails
//! responses with `catch_response` and `response.failure(...)` and as a
//! blast scenario with `checks`, each run for the same number of flows; the
//! failures per name must be the ones the server says it gave, in both.
//! Also: check failures in blast's other outputs beside the Locust CSV (the
//! HTML page), and a stream's error event as a check failure there.

use crate::support::locust::locust_or_skip;
use crate::support::python::LoggedPyServer;
use crate::support::{engines, run, Scratch};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};

/// Stdlib only. Three names, each answered by its own arrival number n
/// (counted per path from 1), so that any client sending the same number
/// of requests to each gets the same bad answers: `/login` always
/// `{"token": ...}`; `/predict` `{"error": "overloaded"}` when n % 5 == 0,
/// else predictions; `/health` `{"status": "degraded"}` when n % 7 == 0,
/// else `ok`. All 200: only a check can tell. Each request is logged to
/// argv[1] as `{"p": path, "n": n, "bad": bool}`.
const SERVER: &str = r#"
import http.server, socketserver, json, sys, threading
log, lock, seen = open(sys.argv[1], "a"), threading.Lock(), {}
def answer(path, n):
    if path == "/login":
        return {"token": "t%d" % n}, False
    if path == "/predict":
        if n % 5 == 0:
            return {"error": "overloaded"}, True
        return {"predictions": [{"label": "cat", "score": 0.9}]}, False
    if path == "/health":
        if n % 7 == 0:
            return {"status": "degraded"}, True
        return {"status": "ok"}, False
    return None, True
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def any(self):
        size = int(self.headers.get("Content-Length", "0"))
        if size:
            self.rfile.read(size)
        path = self.path.split("?")[0]
        with lock:
            n = seen.get(path, 0) + 1
            seen[path] = n
            doc, bad = answer(path, n)
            log.write(json.dumps({"p": path, "n": n, "bad": bad}) + "\n")
            log.flush()
        out = json.dumps(doc).encode()
        self.send_response(200 if doc is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = any
"#;

/// The flow's steps: Locust name (= blast step name), method, path, and
/// the check, written once for both tools.
const FLOW: [(&str, &str, &str, &str); 3] = [
    ("login", "POST", "/login", "json /token exists"),
    ("predict", "POST", "/predict", "json /predictions exists"),
    ("health", "GET", "/health", "json /status == ok"),
];

/// Flows each tool runs: 20 bad predictions and 14 bad health answers.
const FLOWS: u64 = 100;

/// The flow as a locustfile: one user, no wait, each step's response failed
/// with the check's text when its test fails (the same test in Python),
/// and the run ended after exactly FLOWS flows. Locust rewrites its CSV
/// files once a second: every 50 ms here, and the user waits 0.5 s before
/// quitting, so the files' last write holds every request.
const LOCUSTFILE: &str = r#"
import os, gevent, locust.stats
from locust import HttpUser, task, constant
locust.stats.CSV_STATS_INTERVAL_SEC = 0.05
FLOWS, done = int(os.environ["FLOWS"]), 0
TESTS = {
    "json /token exists": lambda d: isinstance(d, dict) and "token" in d,
    "json /predictions exists": lambda d: isinstance(d, dict) and "predictions" in d,
    "json /status == ok": lambda d: isinstance(d, dict) and d.get("status") == "ok",
}
STEPS = [STEPS_LIST]
class Flow(HttpUser):
    wait_time = constant(0)
    @task
    def flow(self):
        global done
        if done >= FLOWS:
            gevent.sleep(0.5)
            self.environment.runner.quit()
            return
        for name, method, path, check in STEPS:
            with self.client.request(method, path, name=name, catch_response=True) as r:
                try:
                    doc = r.json()
                except Exception:
                    doc = None
                if r.status_code >= 400:
                    r.failure("status: %d" % r.status_code)
                elif not TESTS[check](doc):
                    r.failure(check)
                else:
                    r.success()
        done += 1
"#;

/// What the server logged: requests and bad answers per path.
#[derive(Debug, Default, PartialEq)]
struct Told {
    requests: BTreeMap<String, u64>,
    bad: BTreeMap<String, u64>,
}

fn told(srv: &LoggedPyServer) -> Told {
    let mut t = Told::default();
    for e in srv.log() {
        let p = e["p"].as_str().unwrap().to_string();
        *t.requests.entry(p.clone()).or_default() += 1;
        if e["bad"] == true {
            *t.bad.entry(p).or_default() += 1;
        }
    }
    t
}

/// Rows of a CSV file as Python's csv module writes it (fields quoted
/// only when they hold a comma or a quote).
fn csv_rows(path: &std::path::Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.lines()
        .map(|line| {
            let (mut cells, mut cur, mut quoted) = (Vec::new(), String::new(), false);
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '"' if quoted && chars.peek() == Some(&'"') => {
                        cur.push('"');
                        chars.next();
                    }
                    '"' => quoted = !quoted,
                    ',' if !quoted => cells.push(std::mem::take(&mut cur)),
                    c => cur.push(c),
                }
            }
            cells.push(cur);
            cells
        })
        .collect()
}

/// Per name: (requests, failures) from `_stats.csv`, and (error, count)
/// rows from `_failures.csv`, of the files at `prefix`.
struct CsvReport {
    stats: BTreeMap<String, (u64, u64)>,
    failures: BTreeMap<String, Vec<(String, u64)>>,
}

fn read_csv(prefix: &str) -> CsvReport {
    let mut stats = BTreeMap::new();
    for r in csv_rows(format!("{prefix}_stats.csv").as_ref())
        .iter()
        .skip(1)
    {
        let n = |i: usize| r[i].parse::<u64>().unwrap_or_else(|_| panic!("{r:?}"));
        stats.insert(r[1].clone(), (n(2), n(3)));
    }
    let mut failures: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    for r in csv_rows(format!("{prefix}_failures.csv").as_ref())
        .iter()
        .skip(1)
    {
        let n = r[3].parse().unwrap_or_else(|_| panic!("{r:?}"));
        failures
            .entry(r[1].clone())
            .or_default()
            .push((r[2].clone(), n));
    }
    CsvReport { stats, failures }
}

/// Run the flow FLOWS times with Locust against a fresh server; its CSV
/// report and what the server told. None where Locust cannot be had.
fn locust_run(dir: &Scratch) -> Option<(CsvReport, Told)> {
    let locust = locust_or_skip()?;
    let srv = LoggedPyServer::start(SERVER, "checks-locust-server");
    let steps: Vec<String> = FLOW
        .iter()
        .map(|(n, m, p, c)| format!("({n:?}, {m:?}, {p:?}, {c:?})"))
        .collect();
    let file = dir.write(
        "locustfile.py",
        &LOCUSTFILE.replace("STEPS_LIST", &steps.join(", ")),
    );
    let prefix = dir.path_str("locust");
    let out = Command::new(&locust)
        .args(["-f", &file, "--headless", "-u", "1", "-r", "1", "-t", "60s"])
        .args(["--only-summary", "--csv", &prefix])
        .args(["--host", &format!("http://127.0.0.1:{}", srv.server.port)])
        .env("FLOWS", FLOWS.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("run locust");
    // Locust exits 1 when any request failed, as these must.
    assert!(
        out.status.code() == Some(1),
        "locust: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Some((read_csv(&prefix), told(&srv)))
}

/// The server's counts for FLOWS flows, which both tools must reproduce.
fn expected() -> Told {
    let mut t = Told::default();
    for (_, _, path, _) in FLOW {
        t.requests.insert(path.to_string(), FLOWS);
    }
    t.bad.insert("/predict".into(), FLOWS / 5);
    t.bad.insert("/health".into(), FLOWS / 7);
    t
}

/// The report's failures per name, checked against the server's bad
/// answers: each name's requests, its failure count, and its one
/// `_failures.csv` row naming the check as Locust does.
fn assert_matches_server(tool: &str, r: &CsvReport, t: &Told) {
    for (name, _, path, check) in FLOW {
        let bad = t.bad.get(path).copied().unwrap_or(0);
        assert_eq!(
            r.stats.get(name),
            Some(&(t.requests[path], bad)),
            "{tool}: {name}'s (requests, failures)"
        );
        let want: Vec<(String, u64)> = if bad > 0 {
            vec![(format!("CatchResponseError('{check}')"), bad)]
        } else {
            Vec::new()
        };
        assert_eq!(
            r.failures.get(name).cloned().unwrap_or_default(),
            want,
            "{tool}: {name}'s _failures.csv rows"
        );
    }
}

/// The flow as a blast scenario: one sequence, a step per name with its
/// check.
fn scenario() -> String {
    let mut toml = String::from("[[sequence]]\n");
    for (name, method, path, check) in FLOW {
        toml.push_str(&format!(
            "[[sequence.step]]\nname = {name:?}\nmethod = {method:?}\npath = {path:?}\n\
             checks = [{check:?}]\n"
        ));
    }
    toml
}

/// Run the flow FLOWS times with blast against a fresh server (one
/// connection, so the sequence runs whole FLOWS times: -n = steps x
/// FLOWS); its CSV report, its JSON report and what the server told.
fn blast_run(dir: &Scratch, engine: &str) -> (CsvReport, serde_json::Value, Told) {
    let srv = LoggedPyServer::start(SERVER, "checks-blast-server");
    let sc = dir.write("flow.toml", &scenario());
    let prefix = dir.path_str(&format!("blast-{engine}"));
    let n = (FLOW.len() as u64 * FLOWS).to_string();
    let url = format!("http://127.0.0.1:{}", srv.server.port);
    let html = format!("{prefix}.html");
    let flags = "-c 1 -t 1 --timeout 10s --json";
    let mut args: Vec<&str> = flags.split(' ').collect();
    args.extend(["--scenario", &sc, "-n", &n, "--engine", engine]);
    args.extend(["--csv", &prefix, "--html", &html, &url]);
    let r = run(&args);
    // Failed checks are failed requests, but no SLO was asked for: exit 0.
    let j = r.ok_json();
    (read_csv(&prefix), j, told(&srv))
}

/// Locust, run for FLOWS flows, fails exactly the answers the server says
/// were bad: the harness the blast side is compared against.
#[test]
fn locust_fails_what_the_server_says_was_bad() {
    let dir = Scratch::new("checks-locust");
    let Some((report, told)) = locust_run(&dir) else {
        return;
    };
    assert_eq!(told, expected());
    assert_matches_server("locust", &report, &told);
}

/// Acceptance 2: blast with the same flow as a scenario with checks fails
/// the same requests per name as Locust and as the server counted, on
/// both engines; its `_failures.csv` rows are Locust's, cell for cell
/// (Method, Name, Error, Occurrences), and its JSON agrees.
#[test]
fn blast_fails_what_locust_and_the_server_fail() {
    let dir = Scratch::new("checks-side-by-side");
    let locust = locust_run(&dir);
    for engine in engines() {
        let (report, j, told) = blast_run(&dir, engine);
        assert_eq!(told, expected(), "{engine}: the server saw the flow whole");
        assert_matches_server(&format!("blast {engine}"), &report, &told);
        if let Some((lr, _)) = &locust {
            assert_eq!(report.failures, lr.failures, "{engine}: _failures.csv rows");
            for (name, _, _, _) in FLOW {
                assert_eq!(report.stats[name], lr.stats[name], "{engine}: {name}");
            }
        }
        // The HTML report: each check's row, and its failures among the
        // error causes by the check's text.
        let page = dir.path_str(&format!("blast-{engine}.html"));
        let html = std::fs::read_to_string(page).unwrap();
        for (name, _, path, check) in FLOW {
            let fails = told.bad.get(path).copied().unwrap_or(0);
            let row = format!(
                "<td class=\"url\">{name}</td><td class=\"url\">{check}</td>\
                 <td class=\"n {}\">{:.2}%</td><td class=\"n\">{}</td><td class=\"n\">{fails}</td>",
                if fails == 0 { "pass" } else { "fail" },
                (FLOWS - fails) as f64 * 100.0 / FLOWS as f64,
                FLOWS - fails
            );
            assert!(html.contains(&row), "{engine}: no {row} in the HTML");
            if fails > 0 {
                let cause = format!("<td>check: {check}</td><td class=\"n\">{fails}</td>");
                assert!(html.contains(&cause), "{engine}: no {cause} in the HTML");
            }
        }
        // The JSON report: the kind, per name, and k6's per-check counts.
        let bad = FLOWS / 5 + FLOWS / 7;
        assert_eq!(j["errors"]["check"], bad, "{engine}: {j}");
        assert_eq!(j["by_name"]["predict"]["errors"]["check"], FLOWS / 5, "{j}");
        assert_eq!(j["by_name"]["login"]["errors"]["check"], 0, "{j}");
        let checks = j["checks"].as_array().expect("checks");
        for (name, _, path, check) in FLOW {
            let c = checks
                .iter()
                .find(|c| c["name"] == name && c["check"] == check)
                .unwrap_or_else(|| panic!("{engine}: no {name} {check} in {j}"));
            let fails = told.bad.get(path).copied().unwrap_or(0);
            assert_eq!(c["fails"], fails, "{engine}: {c}");
            assert_eq!(c["passes"], FLOWS - fails, "{engine}: {c}");
        }
    }
}

/// Stdlib only: every request gets an SSE stream of 3 tokens and `[DONE]`;
/// the one numbered n (from 1) with n % 4 == 0 gets an error event after
/// its tokens. Each is logged to argv[1] as `{"p": path, "n": n, "bad": bool}`.
const SSE_SERVER: &str = r#"
import http.server, socketserver, json, sys, threading
log, lock, seen = open(sys.argv[1], "a"), threading.Lock(), [0]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        with lock:
            seen[0] += 1
            n = seen[0]
            bad = n % 4 == 0
            log.write(json.dumps({"p": self.path, "n": n, "bad": bad}) + "\n")
            log.flush()
        out = [b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"]
        def send(data):
            d = ("data: " + data + "\n\n").encode()
            out.append(b"%x\r\n%s\r\n" % (len(d), d))
        for i in range(3):
            send(json.dumps({"choices": [{"index": 0, "delta": {"content": "tok%d " % i}}]}))
        if bad:
            send(json.dumps({"error": {"message": "CUDA out of memory"}}))
        send("[DONE]")
        out.append(b"0\r\n\r\n")
        self.wfile.write(b"".join(out))
"#;

/// An error event inside a 200 stream is a `check` failure in the Locust
/// CSV files and the HTML too, named `stream error: MESSAGE`, counted as
/// the server counted its error streams.
#[test]
fn stream_error_events_are_check_failures_in_csv_and_html() {
    let srv = LoggedPyServer::start(SSE_SERVER, "checks-sse-server");
    let dir = Scratch::new("checks-sse");
    let prefix = dir.path_str("sse");
    let html = dir.path_str("sse.html");
    let url = format!("http://127.0.0.1:{}/v1/chat", srv.server.port);
    let flags = "-n 40 -c 2 -t 1 --timeout 10s --json";
    let mut args: Vec<&str> = flags.split(' ').collect();
    args.extend(["--csv", &prefix, "--html", &html, &url]);
    let j = run(&args).ok_json();
    let bad = told(&srv).bad["/v1/chat"];
    assert_eq!(bad, 10, "40 streams, every 4th an error");
    assert_eq!(j["errors"]["check"], bad, "{j}");
    let report = read_csv(&prefix);
    assert_eq!(report.stats["/v1/chat"], (40, bad));
    assert_eq!(
        report.failures["/v1/chat"],
        [(
            "CatchResponseError('stream error: CUDA out of memory')".to_string(),
            bad
        )]
    );
    let totals = std::fs::read_to_string(format!("{prefix}_streaming_totals.csv")).unwrap();
    assert!(
        totals.lines().nth(1).unwrap().starts_with("40,"),
        "{totals}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    let cause =
        format!("<td>check: stream error: CUDA out of memory</td><td class=\"n\">{bad}</td>");
    assert!(page.contains(&cause), "no {cause} in the HTML");
}
