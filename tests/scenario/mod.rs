//! `--scenario`, `--targets` and `--data`, checked on what a real server
//! received: a Python standard-library server (HTTP/1.1, keep-alive) that
//! logs every request (method, path, the client's port as the connection,
//! headers, body) as one JSON line.

use crate::support::python::{blast_json, LoggedPyServer};
use crate::support::{run, Scratch};
use crate::u;
use serde_json::Value;
use std::collections::BTreeMap;

/// The logging server and a scratch folder for scenario files.
struct LogServer(LoggedPyServer);

impl LogServer {
    fn start(name: &str) -> LogServer {
        LogServer(LoggedPyServer::logging(&format!("scenario-{name}")))
    }

    fn url(&self) -> String {
        self.0.url()
    }

    fn file(&self, name: &str, text: &str) -> String {
        self.0.file(name, text)
    }

    /// Every request logged so far, in arrival order.
    fn log(&self) -> Vec<Value> {
        self.0.log()
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("{v} is not a string"))
}

/// Requests by connection (the client's port), in the order they arrived.
fn by_connection(log: &[Value]) -> BTreeMap<u64, Vec<&Value>> {
    let mut out: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for e in log {
        out.entry(e["c"].as_u64().unwrap()).or_default().push(e);
    }
    out
}

/// Weights 3:1 arrive 3:1 (within 3 points over 4000 draws, where one
/// standard deviation is 0.7), the server counts what blast reports, and
/// -H reaches every request unless the request sets its own.
#[test]
fn scenario_weights_arrive_in_proportion() {
    let srv = LogServer::start("weights");
    let sc = srv.file(
        "w.toml",
        r#"
[[request]]
path = "/a"
weight = 3

[[request]]
name = "bee"
path = "/b?x=1"
headers = { X-Tag = "own" }
"#,
    );
    let j = blast_json(&[
        "--scenario",
        &sc,
        "-n",
        "4000",
        "-c",
        "4",
        "-H",
        "X-Tag: cli",
        &srv.url(),
    ]);
    let log = srv.log();
    assert_eq!(log.len(), 4000);
    assert_eq!(u(&j, "requests"), 4000, "{j}");
    assert_eq!(j["config"]["method"], "GET", "{j}");
    assert_eq!(j["url"], srv.url(), "{j}");
    let a = log.iter().filter(|e| e["p"] == "/a").count();
    let b = log.iter().filter(|e| e["p"] == "/b?x=1").count();
    assert_eq!(a + b, 4000);
    let share = a as f64 / 4000.0;
    assert!((0.72..=0.78).contains(&share), "/a share {share}");
    for e in &log {
        let want = if e["p"] == "/a" { "cli" } else { "own" };
        assert_eq!(e["h"]["x-tag"], want, "{e}");
    }
}

/// A 3-step sequence arrives in order on each connection, with one data
/// row for all its steps: the POST body carries the same row as the GET
/// before it, and rows go round-robin.
#[test]
fn scenario_sequences_run_in_order_with_one_row() {
    let srv = LogServer::start("sequence");
    srv.file("users.csv", "id,name\n1,ann\n2,\"bob, jr\"\n3,cy\n");
    let sc = srv.file(
        "seq.toml",
        r#"
data = "users.csv"

[[sequence]]
[[sequence.step]]
name = "login"
path = "/login"
body = '{"id": {{id}}, "name": "{{name}}"}'

[[sequence.step]]
path = "/users/{{id}}"

[[sequence.step]]
name = "logout"
method = "DELETE"
path = "/session"
"#,
    );
    blast_json(&["--scenario", &sc, "-n", "300", "-c", "3", &srv.url()]);
    let log = srv.log();
    assert_eq!(log.len(), 300);
    let conns = by_connection(&log);
    assert_eq!(conns.len(), 3, "one connection per -c");
    let names = ["ann", "bob, jr", "cy"];
    for reqs in conns.values() {
        for (i, e) in reqs.iter().enumerate() {
            let want = ["POST", "GET", "DELETE"][i % 3];
            assert_eq!(e["m"], want, "step {i} of {reqs:?}");
            if i % 3 == 0 {
                let body: Value = serde_json::from_str(s(&e["b"])).unwrap();
                let id = body["id"].as_u64().unwrap();
                assert_eq!(body["name"], names[id as usize - 1], "{e}");
                assert_eq!(e["h"]["content-type"], "application/json", "{e}");
                if let Some(next) = reqs.get(i + 1) {
                    assert_eq!(next["p"], format!("/users/{id}"), "{reqs:?}");
                }
            }
        }
    }
    // Round-robin: every row is used, about as often as the others.
    for id in 1..=3 {
        let n = log
            .iter()
            .filter(|e| e["p"] == format!("/users/{id}"))
            .count();
        assert!((30..=37).contains(&n), "row {id} sent {n} times");
    }
}

/// --seed repeats the weighted draw (and --data-order random) exactly.
#[test]
fn scenario_seed_repeats_the_sequence() {
    let srv = LogServer::start("seed");
    srv.file("q.csv", "q\nx\ny\nz\n");
    let sc = srv.file(
        "seed.toml",
        "data = \"q.csv\"\n[[request]]\npath = \"/a?q={{q}}\"\n[[request]]\npath = \"/b\"\nweight = 2\n[[request]]\npath = \"/c\"\n",
    );
    let paths = |seed: &str| {
        let before = srv.log().len();
        blast_json(&[
            "--scenario",
            &sc,
            "--data-order",
            "random",
            "--seed",
            seed,
            "-c",
            "1",
            "-n",
            "200",
            &srv.url(),
        ]);
        srv.log()[before..]
            .iter()
            .map(|e| s(&e["p"]).to_string())
            .collect::<Vec<_>>()
    };
    let first = paths("42");
    assert_eq!(first.len(), 200);
    assert_eq!(first, paths("42"));
    assert_ne!(first, paths("43"));
    for q in ["x", "y", "z"] {
        assert!(first.contains(&format!("/a?q={q}")), "{first:?}");
    }
}

/// Think time paces each closed-loop user: 2 users thinking 100ms for 1s
/// send about 20 requests, not thousands.
#[test]
fn scenario_think_time_paces_users() {
    let srv = LogServer::start("think");
    let sc = srv.file(
        "think.toml",
        "think = \"constant 100ms\"\n[[request]]\npath = \"/\"\n",
    );
    blast_json(&["--scenario", &sc, "-c", "2", "-d", "1s", &srv.url()]);
    let n = srv.log().len();
    assert!((10..=26).contains(&n), "{n} requests");
}

/// --data on the command line's request fills the path and the JSON body,
/// row after row.
#[test]
fn scenario_data_fills_the_command_line_request() {
    let srv = LogServer::start("data");
    let d = srv.file("items.csv", "sku,qty\r\nA-1,2\r\nB 2,5\r\n");
    blast_json(&[
        "--data",
        &d,
        "-n",
        "4",
        "-c",
        "1",
        "-b",
        r#"{"sku": "{{sku}}", "qty": {{qty}}}"#,
        &format!("{}/items/{{{{sku}}}}", srv.url()),
    ]);
    let log = srv.log();
    let got: Vec<(String, Value)> = log
        .iter()
        .map(|e| {
            (
                s(&e["p"]).to_string(),
                serde_json::from_str(s(&e["b"])).unwrap(),
            )
        })
        .collect();
    let row =
        |p: &str, sku: &str, qty: u64| (p.to_string(), serde_json::json!({"sku": sku, "qty": qty}));
    assert_eq!(
        got,
        [
            row("/items/A-1", "A-1", 2),
            row("/items/B%202", "B 2", 5),
            row("/items/A-1", "A-1", 2),
            row("/items/B%202", "B 2", 5),
        ]
    );
}

/// vegeta's README examples, unchanged but for the body files' paths, aimed
/// at the test server by the URL on the command line.
#[test]
fn scenario_vegeta_readme_targets() {
    let srv = LogServer::start("vegeta");
    let new = srv.file("newthing.json", "{\"name\": \"new\"}");
    let thing = srv.file("thing-71988591.json", "{\"id\": 71988591}");
    let targets = format!(
        "GET http://goku:9090/path/to/dragon?item=ball
GET http://user:password@goku:9090/path/to
HEAD http://goku:9090/path/to/success

GET http://user:password@goku:9090/path/to
X-Account-ID: 8675309

DELETE http://goku:9090/path/to/remove
Confirmation-Token: 90215
Authorization: Token DEADBEEF

POST http://goku:9090/things
@{new}

PATCH http://goku:9090/thing/71988591
@{thing}

POST http://goku:9090/things
X-Account-ID: 99
@{new}

# get a dragon ball
GET http://goku:9090/path/to/dragon?item=ball
# specify a test accout
X-Account-ID: 99
"
    );
    let t = srv.file("targets.txt", &targets);
    let j = blast_json(&["--targets", &t, "-n", "400", "-c", "2", &srv.url()]);
    assert_eq!(u(&j, "requests"), 400, "{j}");
    assert_eq!(j["config"]["method"], "mixed", "{j}");
    let log = srv.log();
    assert_eq!(log.len(), 400);
    let host = format!("127.0.0.1:{}", srv.0.server.port);
    let mut seen = BTreeMap::new();
    for e in &log {
        assert_eq!(e["h"]["host"], host, "{e}");
        let key = format!("{} {}", s(&e["m"]), s(&e["p"]));
        *seen.entry(key).or_insert(0) += 1;
        match (s(&e["m"]), s(&e["p"])) {
            ("GET", "/path/to") => {
                // user:password@ arrives as Basic auth, as Go's client sends it.
                assert_eq!(e["h"]["authorization"], "Basic dXNlcjpwYXNzd29yZA==", "{e}");
            }
            ("DELETE", "/path/to/remove") => {
                assert_eq!(e["h"]["confirmation-token"], "90215", "{e}");
                assert_eq!(e["h"]["authorization"], "Token DEADBEEF", "{e}");
            }
            ("POST", "/things") => {
                assert_eq!(e["b"], "{\"name\": \"new\"}", "{e}");
                assert_eq!(e["h"]["content-type"], "application/json", "{e}");
            }
            ("PATCH", "/thing/71988591") => assert_eq!(e["b"], "{\"id\": 71988591}", "{e}"),
            ("GET", "/path/to/dragon?item=ball") | ("HEAD", "/path/to/success") => {}
            other => panic!("unexpected request {other:?}"),
        }
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    let account: Vec<&str> = log
        .iter()
        .filter_map(|e| e["h"]["x-account-id"].as_str())
        .collect();
    assert!(
        account.contains(&"8675309") && account.contains(&"99"),
        "{account:?}"
    );
}

/// Bad input: exit 2 with one line naming the file, line or field, and
/// not a request sent.
#[test]
fn scenario_bad_input_exits_2() {
    let srv = LogServer::start("errors");
    let url = srv.url();
    let think = srv.file(
        "think.toml",
        "think = \"constant 1s\"\n[[request]]\npath = \"/\"\n",
    );
    let typo = srv.file("typo.toml", "[[request]]\npath = \"/\"\nwieght = 2\n");
    let data = srv.file("d.csv", "id\n1\n");
    let empty = srv.file("empty.csv", "");
    let unknown = srv.file(
        "unknown.toml",
        "data = \"d.csv\"\n[[request]]\npath = \"/{{user}}\"\n",
    );
    let origins = srv.file(
        "origins.txt",
        &format!("GET {url}/a\n\nGET http://127.0.0.2:1/b\n"),
    );
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--scenario", &think, "-R", "10", "-n", "1", &url],
            "think times pace closed-loop users",
        ),
        (
            vec!["--scenario", &typo, "-n", "1", &url],
            "line 3: unknown field `wieght`",
        ),
        (
            vec!["--scenario", &unknown, "-n", "1", &url],
            "line 2: the path uses {{user}}, but the data file 'd.csv' has no column 'user'",
        ),
        (
            vec!["--data", &empty, "-n", "1", &url],
            "empty.csv' is empty",
        ),
        (
            vec!["--targets", &origins, "-n", "1"],
            "origins.txt:3: http://127.0.0.2:1/b is not on the origin of",
        ),
        (
            vec!["--scenario", &think, "--targets", &origins, &url],
            "cannot be used with",
        ),
        (
            vec!["--data", &data, "-n", "1", "-b", "{{nope}}", &url],
            "{{nope}}",
        ),
    ];
    for (args, needle) in cases {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(needle),
            "{args:?}: {} lacks {needle}",
            r.stderr
        );
        if !needle.contains("cannot be used") {
            assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
        }
    }
    assert!(srv.log().is_empty(), "a refused run sent a request");
}

/// With --http2 every variant is sent as an h2 request: the vegeta file's
/// mix (GET, HEAD, DELETE, POST with a body) over h2c streams, each request
/// served and none an error.
#[test]
fn scenario_targets_over_http2() {
    use blast::target::{self, TargetOptions};
    let t = target::start(TargetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        http2: true,
        ..Default::default()
    })
    .expect("start the target");
    let dir = Scratch::new("scenario-h2");
    let body = dir.join("b.json");
    std::fs::write(&body, "{}").unwrap();
    let file = dir.join("t.txt");
    std::fs::write(
        &file,
        format!(
            "GET http://x/a\nX-A: 1\n\nHEAD http://x/b\n\nDELETE http://x/c\n\nPOST http://x/d\n@{}\n",
            body.display()
        ),
    )
    .unwrap();
    let url = format!("http://{}/", t.addr());
    let j = blast_json(&[
        "--http2",
        "-m",
        "4",
        "-c",
        "2",
        "-n",
        "2000",
        "--targets",
        file.to_str().unwrap(),
        &url,
    ]);
    let served = t.requests();
    t.stop();
    assert_eq!(u(&j, "requests"), 2000, "{j}");
    assert_eq!(served, 2000);
    assert_eq!(u(&j, "status_codes.200"), 2000, "{j}");
    assert_eq!(j["config"]["protocol"], "h2c", "{j}");
}
