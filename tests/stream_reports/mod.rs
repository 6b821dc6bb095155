//! The streaming reports end to end: blast against `blast target --stream
//! 20 --first-token 50ms --token-interval 5ms` with `--json`, `--csv` and
//! `--html`: the streaming CSV files hold the JSON's numbers, the timeline
//! has each second's output tokens, the page has the streaming charts with
//! data, and `blast report` prints the streaming table.

use crate::ok_server;
use crate::support::{csv, num, ok, Scratch};
use blast::target::{self, StreamOptions, Target, TargetOptions};
use serde_json::Value;
use std::time::Duration;

fn stream_target() -> Target {
    target::start(TargetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        stream: Some(StreamOptions {
            tokens: 20,
            first_token: Duration::from_millis(50),
            token_interval: Duration::from_millis(5),
            usage: true,
        }),
        ..Default::default()
    })
    .expect("start the target")
}

/// A JSON value in µs as the CSV's milliseconds.
fn ms(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number")) / 1000.0
}

/// Equal up to serde_json's last-place rounding of floats it parses.
fn same(csv: f64, json: f64) -> bool {
    (csv - json).abs() <= json.abs() * 1e-15
}

#[test]
fn stream_reports_csv_html_and_compare() {
    let t = stream_target();
    let url = format!("http://{}/v1/chat/completions", t.addr());
    let dir = Scratch::new("stream-reports");
    let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
    let out = ok(&[
        "-c",
        "4",
        "-t",
        "1",
        "-d",
        "2s",
        "--engine",
        "epoll",
        "--slo",
        "ttft<500ms",
        "--json",
        "--csv",
        &p("run"),
        "--html",
        &p("run.html"),
        &url,
    ]);
    let j: Value = serde_json::from_str(&out).expect("JSON report");
    let responses = j["streamed_responses"].as_u64().unwrap();
    assert!(responses >= 20, "{responses} streamed responses");
    assert_eq!(j["output_tokens"].as_u64(), Some(responses * 20));
    assert_eq!(j["token_count_source"], "usage");

    // The timeline's output tokens add up to the run's.
    let tl = j["timeline"].as_array().unwrap();
    assert!(tl.len() >= 2);
    let sum: u64 = tl
        .iter()
        .map(|p| p["output_tokens"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, responses * 20);

    // _streaming.csv: the JSON's numbers, row by row.
    let rows = csv(&dir.join("run_streaming.csv"));
    assert_eq!(
        rows[0].join(","),
        "Metric,Count,Mean,Min,50%,75%,90%,97%,99%,99.9%,99.99%,Max"
    );
    assert_eq!(rows.len(), 5);
    let keys = ["p50", "p75", "p90", "p97", "p99", "p99_9", "p99_99"];
    for (row, (name, key)) in rows[1..].iter().zip([
        ("TTFT", "ttft_us"),
        ("TPOT", "tpot_us"),
        ("ITL", "itl_us"),
        ("E2EL", "latency_us"),
    ]) {
        let l = &j[key];
        assert_eq!(row[0], name);
        assert!(same(num(&row[2]), ms(&l["mean"])), "{name} mean {row:?}");
        assert_eq!(num(&row[3]), ms(&l["min"]), "{name} min");
        for (cell, k) in row[4..11].iter().zip(keys) {
            assert_eq!(num(cell), ms(&l[k]), "{name} {k}");
        }
        assert_eq!(num(&row[11]), ms(&l["max"]), "{name} max");
    }
    assert_eq!(num(&rows[1][1]), responses as f64, "one TTFT per response");
    assert_eq!(num(&rows[3][1]), (responses * 19) as f64, "19 gaps each");
    let ttft_p50 = num(&rows[1][4]);
    assert!((50.0..100.0).contains(&ttft_p50), "TTFT p50 {ttft_p50} ms");

    let totals = csv(&dir.join("run_streaming_totals.csv"));
    assert_eq!(totals.len(), 2);
    assert_eq!(num(&totals[1][0]), responses as f64);
    assert_eq!(num(&totals[1][1]), j["output_tokens"].as_f64().unwrap());
    assert!(same(
        num(&totals[1][2]),
        j["output_tokens_per_s"].as_f64().unwrap()
    ));
    assert_eq!(totals[1][3], "usage");
    assert!(same(num(&totals[1][4]), j["goodput_rps"].as_f64().unwrap()));

    let history = csv(&dir.join("run_streaming_history.csv"));
    assert_eq!(
        history[0].join(","),
        "Timestamp,Output Tokens,Output Tokens/s"
    );
    assert_eq!(history.len(), tl.len() + 1);
    for (row, p) in history[1..].iter().zip(tl) {
        assert_eq!(num(&row[1]), p["output_tokens"].as_f64().unwrap());
    }

    // The page: a Streaming section with three charts that have lines.
    let html = std::fs::read_to_string(dir.join("run.html")).unwrap();
    let (_, section) = html
        .split_once("<h2>Streaming</h2>")
        .expect("Streaming section");
    assert_eq!(section.matches("<svg class=\"chart\"").count(), 3);
    assert_eq!(section.matches("<polyline class=\"series\"").count(), 3);
    assert!(section.contains("Time to first token by percentile"));
    assert!(section.contains("Inter-token latency by percentile"));
    assert!(section.contains("Output tokens over time"));

    // A run that did not stream: no streaming files, no section, no keys.
    let plain = ok_server();
    let plain_out = ok(&[
        "-n",
        "50",
        "-c",
        "1",
        "-t",
        "1",
        "--engine",
        "epoll",
        "--json",
        "--csv",
        &p("plain"),
        "--html",
        &p("plain.html"),
        &plain.url(),
    ]);
    assert!(!dir.join("plain_streaming.csv").exists());
    assert!(!dir.join("plain_streaming_totals.csv").exists());
    assert!(!dir.join("plain_streaming_history.csv").exists());
    assert!(!std::fs::read_to_string(dir.join("plain.html"))
        .unwrap()
        .contains("Streaming"));
    let pj: Value = serde_json::from_str(&plain_out).unwrap();
    assert!(pj["timeline"][0].get("output_tokens").is_none());

    // blast report: the streaming table after the run table, `-` for the
    // run that did not stream.
    std::fs::write(dir.join("llm.json"), &out).unwrap();
    std::fs::write(dir.join("plain.json"), &plain_out).unwrap();
    let table = ok(&["report", &p("llm.json"), &p("plain.json")]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 7, "{table}");
    assert_eq!(lines[3], "");
    assert!(
        lines[4].starts_with("run    TTFT p50  TTFT p99  TPOT p50  ITL p50"),
        "{table}"
    );
    assert!(lines[5].starts_with("llm "), "{table}");
    assert!(
        lines[6].starts_with("plain ") && lines[6].ends_with(" -"),
        "{table}"
    );
    let only_plain = ok(&["report", &p("plain.json")]);
    assert_eq!(only_plain.lines().count(), 2, "{only_plain}");
    t.stop();
}
