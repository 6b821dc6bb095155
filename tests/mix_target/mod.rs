//! Issue 8's acceptance for scenarios and data, against `blast target
//! --record`: the target counts requests per path and keeps the first ones
//! with their connection and body, and the tests compare that with what
//! blast reports.

use crate::support::{csv, run_line, Scratch};
use blast::target::{self, Target, TargetOptions};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn recording_target(keep: usize, threads: usize) -> Target {
    target::start(TargetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        threads,
        record: keep,
        ..TargetOptions::default()
    })
    .expect("target starts")
}

/// The target's own record: per-path counts and the first requests kept.
fn record(t: &Target) -> Value {
    let mut s = TcpStream::connect(t.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /__blast/requests HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let body = &text[text.find("\r\n\r\n").expect("a response head") + 4..];
    serde_json::from_str(body).expect("the record is JSON")
}

fn paths(rec: &Value) -> BTreeMap<String, u64> {
    rec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(p, n)| (p.clone(), n.as_u64().unwrap()))
        .collect()
}

/// A scenario of two names, `predict` (with `predict_extra`, e.g. a body)
/// three times as often as `health`; its path.
fn three_to_one(dir: &Scratch, predict_extra: &str) -> String {
    let text = format!(
        "[[request]]\nname = \"predict\"\npath = \"/predict\"\n{predict_extra}weight = 3\n\n\
         [[request]]\nname = \"health\"\npath = \"/health\"\nweight = 1\n"
    );
    dir.write("s.toml", &text)
}

#[test]
fn weights_three_to_one_for_ten_seconds_match_the_targets_counts() {
    let t = recording_target(1, 2);
    let dir = Scratch::new("mix-weights");
    let scenario = three_to_one(&dir, "");
    let url = format!("http://{}", t.addr());
    let r = run_line(
        &format!("-c 8 -t 2 -d 10s --json --scenario {scenario}"),
        &url,
    );
    let j = r.ok_json();
    let seen = paths(&record(&t));
    t.stop();
    let (p, h) = (seen["/predict"], seen["/health"]);
    let ratio = p as f64 / h as f64;
    eprintln!("target counted /predict {p}, /health {h}: {ratio:.4} to 1");
    assert!(p + h > 10_000, "too few requests to judge: {p} + {h}");
    assert!(
        (ratio - 3.0).abs() <= 0.06,
        "{ratio:.4} is not within 2% of 3"
    );
    // What blast reports per name is what the target counted, but for the
    // requests still in flight when the run ended (at most one per connection).
    let by = &j["by_name"];
    for (name, counted) in [("predict", p), ("health", h)] {
        let reported = by[name]["requests"].as_u64().unwrap();
        assert!(
            reported <= counted && counted - reported <= 8,
            "{name}: blast reported {reported}, the target counted {counted}"
        );
        assert_eq!(by[name]["method"], "GET");
    }
    let total = j["requests"].as_u64().unwrap();
    assert_eq!(
        total,
        by["predict"]["requests"].as_u64().unwrap() + by["health"]["requests"].as_u64().unwrap()
    );
}

#[test]
fn a_three_step_sequence_runs_in_order_on_each_connection() {
    let t = recording_target(10_000, 1);
    let dir = Scratch::new("mix-sequence");
    let scenario = dir.write(
        "s.toml",
        r#"
[[sequence]]
[[sequence.step]]
name = "login"
path = "/login"
body = '{"user": "u"}'

[[sequence.step]]
name = "list"
path = "/items"

[[sequence.step]]
name = "get"
path = "/items/1"
"#,
    );
    let url = format!("http://{}", t.addr());
    let j = run_line(
        &format!("-c 4 -t 2 -n 600 --json --scenario {scenario}"),
        &url,
    )
    .ok_json();
    let rec = record(&t);
    t.stop();
    assert_eq!(j["requests"], 600);
    let mut per_conn: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
    for e in rec["requests"].as_array().unwrap() {
        per_conn
            .entry(e["conn"].as_u64().unwrap())
            .or_default()
            .push((
                e["method"].as_str().unwrap().to_string(),
                e["path"].as_str().unwrap().to_string(),
            ));
    }
    assert_eq!(per_conn.len(), 4, "one keep-alive connection each");
    let want = [("POST", "/login"), ("GET", "/items"), ("GET", "/items/1")];
    for (conn, seq) in &per_conn {
        assert_eq!(seq.len(), 150, "connection {conn}");
        for (k, (m, p)) in seq.iter().enumerate() {
            let (wm, wp) = want[k % 3];
            assert_eq!(
                (m.as_str(), p.as_str()),
                (wm, wp),
                "connection {conn}, request {k}"
            );
        }
    }
    for name in ["login", "list", "get"] {
        assert_eq!(j["by_name"][name]["requests"], 200, "{name}");
    }
}

#[test]
fn the_same_seed_repeats_the_same_choices() {
    let dir = Scratch::new("mix-seed");
    let data = dir.write("d.csv", "id\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
    let scenario = dir.write(
        "s.toml",
        &format!(
            r#"
data = "{data}"
data_order = "random"

[[request]]
path = "/a/{{{{id}}}}"
weight = 5

[[request]]
path = "/b/{{{{id}}}}"
weight = 3

[[request]]
path = "/c"
weight = 2
"#
        ),
    );
    let sequence = |seed: u64| {
        let t = recording_target(1000, 1);
        let url = format!("http://{}", t.addr());
        run_line(
            &format!("-c 1 -t 1 -n 300 --json --seed {seed} --scenario {scenario}"),
            &url,
        )
        .ok_json();
        let rec = record(&t);
        t.stop();
        rec["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (a, b, c) = (sequence(7), sequence(7), sequence(8));
    assert_eq!(a.len(), 300);
    assert_eq!(a, b, "--seed 7 twice");
    assert_ne!(a, c, "--seed 8 draws another sequence");
    let distinct: std::collections::BTreeSet<&String> = a.iter().collect();
    assert!(distinct.len() > 10, "rows and requests vary: {distinct:?}");
}

#[test]
fn a_hundred_thousand_data_rows_arrive_substituted() {
    const ROWS: usize = 100_000;
    let t = recording_target(2_000, 1);
    let dir = Scratch::new("mix-rows");
    let mut csv = String::from("id,name\n");
    for i in 0..ROWS {
        csv.push_str(&format!("{i},user-{}\n", i * 7 % 1000));
    }
    let data = dir.write("rows.csv", &csv);
    let url = format!("http://{}/item/{{{{id}}}}", t.addr());
    let r = run_line(
        &format!(
            "-c 8 -t 1 -n {ROWS} --json --data {data} -H Content-Type:application/json -b {{\"id\":{{{{id}}}},\"name\":\"{{{{name}}}}\"}}"
        ),
        &url,
    );
    let j = r.ok_json();
    let rec = record(&t);
    t.stop();
    assert_eq!(j["requests"], ROWS as u64);
    // Round-robin on one thread: every row exactly once.
    let seen = paths(&rec);
    assert_eq!(seen.len(), ROWS, "one distinct path per row");
    assert!(seen.values().all(|&n| n == 1));
    assert!((0..ROWS).all(|i| seen.contains_key(&format!("/item/{i}"))));
    // The bodies of the first 2,000 requests, each matching its path's row.
    let kept = rec["requests"].as_array().unwrap();
    assert_eq!(kept.len(), 2_000);
    for e in kept {
        let id: usize = e["path"].as_str().unwrap()["/item/".len()..]
            .parse()
            .unwrap();
        let body: Value = serde_json::from_str(e["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["id"], id);
        assert_eq!(body["name"], format!("user-{}", id * 7 % 1000));
        assert_eq!(e["method"], "POST");
    }
    let rss_mb = r.max_rss_kb as f64 / 1024.0;
    eprintln!("{ROWS} rows: peak RSS {rss_mb:.1} MB");
    assert!(rss_mb < 300.0, "peak RSS {rss_mb:.1} MB");
}

/// Locust's CSV of a two-name run: one row per name, then `Aggregated`,
/// each equal to the JSON of the same run and to the target's counts.
#[test]
fn locust_csv_rows_per_name_equal_the_json() {
    let t = recording_target(1, 1);
    let dir = Scratch::new("mix-csv");
    let scenario = three_to_one(&dir, "body = '{\"x\": 1}'\n");
    let url = format!("http://{}", t.addr());
    let prefix = dir.join("run");
    let r = run_line(
        &format!(
            "-c 4 -t 1 -n 4000 --json --csv {} --scenario {scenario}",
            prefix.display()
        ),
        &url,
    );
    let j = r.ok_json();
    let seen = paths(&record(&t));
    t.stop();
    let rows = csv(&dir.join("run_stats.csv"));
    assert_eq!(rows.len(), 4, "header, two names, Aggregated: {rows:?}");
    let col = |row: &[String], name: &str| -> f64 {
        let i = rows[0].iter().position(|h| h == name).unwrap();
        row[i].parse().unwrap()
    };
    let ms = |v: &Value| v.as_u64().unwrap() as f64 / 1000.0;
    for (row, (ty, name)) in rows[1..3]
        .iter()
        .zip([("POST", "predict"), ("GET", "health")])
    {
        assert_eq!((row[0].as_str(), row[1].as_str()), (ty, name));
        let n = &j["by_name"][name];
        assert_eq!(col(row, "Request Count"), n["requests"].as_f64().unwrap());
        assert_eq!(col(row, "Failure Count"), 0.0);
        assert_eq!(
            col(row, "Median Response Time"),
            ms(&n["latency_us"]["p50"])
        );
        assert_eq!(col(row, "Max Response Time"), ms(&n["latency_us"]["max"]));
        assert_eq!(col(row, "99%"), ms(&n["latency_us"]["p99"]));
        // And the server counted the same requests under that path.
        assert_eq!(n["requests"].as_u64().unwrap(), seen[&format!("/{name}")]);
    }
    let agg = &rows[3];
    assert_eq!(agg[1], "Aggregated");
    assert_eq!(col(agg, "Request Count"), 4000.0);
    assert_eq!(
        col(agg, "Median Response Time"),
        ms(&j["latency_us"]["p50"])
    );
    assert_eq!(col(agg, "99%"), ms(&j["latency_us"]["p99"]));
}

/// `-R` paces the whole mix: the total follows the rate, the names their
/// weights.
#[test]
fn rate_applies_to_the_whole_mix() {
    let t = recording_target(1, 1);
    let dir = Scratch::new("mix-rate");
    let scenario = dir.write("s.toml",
        "[[request]]\nname = \"a\"\npath = \"/a\"\nweight = 3\n\n[[request]]\nname = \"b\"\npath = \"/b\"\n",
    );
    let url = format!("http://{}", t.addr());
    let j = run_line(
        &format!("-R 500 -d 2s -c 8 -t 1 --json --seed 5 --scenario {scenario}"),
        &url,
    )
    .ok_json();
    let seen = paths(&record(&t));
    t.stop();
    let total = j["requests"].as_u64().unwrap();
    assert!(
        (980..=1010).contains(&total),
        "{total} requests at 500/s for 2 s"
    );
    let (a, b) = (seen["/a"], seen["/b"]);
    assert_eq!(a + b, seen.values().sum::<u64>());
    let share = a as f64 / (a + b) as f64;
    assert!(
        (0.70..=0.80).contains(&share),
        "/a share {share:.3} of {}",
        a + b
    );
    assert_eq!(
        j["by_name"]["a"]["requests"].as_u64().unwrap()
            + j["by_name"]["b"]["requests"].as_u64().unwrap(),
        total
    );
}
