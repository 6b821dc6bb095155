//! Reports of a run with two request names: the text tables, the JSON's
//! `by_name`, the CSV rows (equal to the JSON, number by number) and the
//! failures file; and a run without names left as it was.

use super::csv::{write_exceptions, write_failures, write_stats};
use super::*;
use crate::stats::fixture::run_info;
use crate::stats::names::name_histogram;
use crate::stats::{
    latency_histogram, Cumulative, ErrorCounts, Fault, NamePoint, NameSummary, RunInfo,
    TimelinePoint, LOCUST_QUANTILES,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

fn hist(mut h: Histogram<u64>, values: &[(u64, u64)]) -> Histogram<u64> {
    for &(v, n) in values {
        h.record_n(v, n).unwrap();
    }
    h
}

const PREDICT: [(u64, u64); 3] = [(10_000, 700), (25_000, 45), (120_000, 5)];
const HEALTH: [(u64, u64); 2] = [(1_000, 240), (1_500, 10)];

fn point(t_s: f64, by_name: Vec<NamePoint>) -> TimelinePoint {
    let requests = by_name.iter().map(|p| p.requests).sum();
    TimelinePoint {
        output_tokens: 0,
        t_s,
        requests,
        rps: requests as f64,
        p50_us: 10_000,
        p99_us: 25_000,
        errors: by_name.iter().map(|p| p.errors).sum(),
        bytes: 0,
        quantiles_us: [10_000; 11],
        total: Cumulative::default(),
        by_name,
    }
}

/// 10 s of a 75/25 mix: `predict` (POST, 5 responses 500 and 3 cut
/// mid-body) and `health` (GET, clean); 2 HTTP/2 connect failures belong
/// to no name.
pub(super) fn mixed() -> Summary {
    let mut predict = NameSummary::new("predict", "POST");
    predict.requests = 750;
    predict.bytes_read = 750 * 300;
    predict.status_codes = BTreeMap::from([(200, 745), (500, 5)]);
    predict.errors = ErrorCounts {
        read: 3,
        status: 5,
        ..Default::default()
    };
    predict.error_details = vec![(Fault::ReadEofMidBody, 3)];
    predict.latency = hist(name_histogram(), &PREDICT);
    let mut health = NameSummary::new("health", "GET");
    health.requests = 250;
    health.bytes_read = 250 * 100;
    health.status_codes = BTreeMap::from([(200, 250)]);
    health.latency = hist(name_histogram(), &HEALTH);
    let mut latency = hist(latency_histogram(), &PREDICT);
    latency.add(hist(latency_histogram(), &HEALTH)).unwrap();
    Summary {
        info: RunInfo {
            connections: 20,
            seed: 7,
            ..run_info()
        },
        duration: Duration::from_secs(10),
        requests: 1000,
        bytes_read: 750 * 300 + 250 * 100,
        status_codes: BTreeMap::from([(200, 995), (500, 5)]),
        errors: ErrorCounts {
            connect: 2,
            read: 3,
            status: 5,
            ..Default::default()
        },
        error_details: vec![(Fault::ReadEofMidBody, 3), (Fault::ConnectRefused, 2)],
        latency,
        timeline: vec![
            point(
                1.0,
                vec![
                    NamePoint {
                        requests: 75,
                        errors: 1,
                        p50_us: 10_000,
                        p99_us: 120_000,
                    },
                    NamePoint {
                        requests: 25,
                        errors: 0,
                        p50_us: 1_000,
                        p99_us: 1_500,
                    },
                ],
            ),
            point(
                2.0,
                vec![
                    NamePoint {
                        requests: 80,
                        errors: 0,
                        p50_us: 10_000,
                        p99_us: 25_000,
                    },
                    NamePoint::default(),
                ],
            ),
        ],
        by_name: vec![predict, health],
        ..Summary::empty(run_info())
    }
}

/// The same run as one request: no names anywhere.
fn single() -> Summary {
    let mut s = mixed();
    s.by_name.clear();
    for p in &mut s.timeline {
        p.by_name.clear();
    }
    s
}

fn text_of(s: &Summary) -> String {
    let mut out = Vec::new();
    write_text(&mut out, s, false).unwrap();
    String::from_utf8(out).unwrap()
}

fn csv_of(f: impl Fn(&mut Vec<u8>) -> std::io::Result<()>) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    f(&mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn text_tables_per_name() {
    let text = text_of(&mixed());
    let (wrk, names) = text.split_once("Transfer/sec:     24.41KB\n").unwrap();
    assert!(
        !wrk.contains("Aggregated"),
        "the wrk report stays first, as it was"
    );
    assert_eq!(
        wrk,
        text_of(&single())
            .strip_suffix("Transfer/sec:     24.41KB\n")
            .unwrap()
    );
    // 2-digit histograms per name: 120 ms reads 120.32ms, 10 ms 10.05ms
    // (their buckets' highest values), the totals' 3 digits 120.06ms.
    // `# fails` is over responses and transport errors: 10 of 1,005.
    let want = "

Type  Name        # reqs    # fails |      Avg       Min       Max       Med |  req/s  failures/s
------------------------------------|----------------------------------------|-------------------
POST  predict        750   8(1.06%) |  11.65ms    9.98ms  120.32ms   10.05ms |  75.00        0.80
GET   health         250   0(0.00%) |   1.02ms    1.00ms    1.50ms    1.00ms |  25.00        0.00
------------------------------------|----------------------------------------|-------------------
      Aggregated    1000  10(1.00%) |   8.98ms    1.00ms  120.06ms   10.01ms | 100.00        1.00

Response time percentiles (approximated)
Type  Name       |      50%       66%       75%       80%       90%       95%       98%       99%     99.9%    99.99%      100% | # reqs
-----------------|--------------------------------------------------------------------------------------------------------------|-------
POST  predict    |  10.05ms   10.05ms   10.05ms   10.05ms   10.05ms   25.09ms   25.09ms   25.09ms  120.32ms  120.32ms  120.32ms |    750
GET   health     |   1.00ms    1.00ms    1.00ms    1.00ms    1.00ms    1.00ms    1.50ms    1.50ms    1.50ms    1.50ms    1.50ms |    250
-----------------|--------------------------------------------------------------------------------------------------------------|-------
      Aggregated |  10.01ms   10.01ms   10.01ms   10.01ms   10.01ms   10.01ms   25.01ms   25.01ms  120.06ms  120.06ms  120.06ms |   1000
";
    assert_eq!(names, &want[1..], "{names}");
}

#[test]
fn text_of_single_request_has_no_tables() {
    let text = text_of(&single());
    assert!(text.ends_with("Transfer/sec:     24.41KB\n"), "{text}");
    assert!(!text.contains("Aggregated"));
}

#[test]
fn skipped_steps_per_name_in_json_and_text() {
    let mut s = mixed();
    assert!(!text_of(&s).contains("Skipped"), "none skipped, no line");
    s.by_name[0].skipped = 7;
    s.by_name[1].skipped = 3;
    let j = to_json(&s);
    assert_eq!(j["skipped"], 10);
    assert_eq!(j["by_name"]["predict"]["skipped"], 7);
    assert_eq!(j["by_name"]["health"]["skipped"], 3);
    let text = text_of(&s);
    assert!(
        text.contains("  Skipped: 10 (a sequence step failed to capture: predict 7, health 3)\n"),
        "{text}"
    );
}

#[test]
fn json_by_name_keyed_by_name() {
    let s = mixed();
    let j = to_json(&s);
    let names = j["by_name"].as_object().unwrap();
    assert_eq!(names.len(), 2);
    let p = &names["predict"];
    assert_eq!(p["method"], "POST");
    assert_eq!(p["requests"], 750);
    assert_eq!(p["rps"], 75.0);
    assert_eq!(p["bytes_read"], 225_000);
    assert_eq!(p["status_codes"], serde_json::json!({"200": 745, "500": 5}));
    assert_eq!(
        p["errors"],
        serde_json::json!({"connect": 0, "read": 3, "write": 0, "timeout": 0,
                           "status": 5, "parse": 0, "tls": 0, "check": 0, "grpc": 0})
    );
    assert_eq!(p["error_details"][0]["kind"], "read");
    assert_eq!(p["error_details"][0]["count"], 3);
    // The same keys as the top-level latency.
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&p["latency_us"]), keys(&j["latency_us"]));
    assert_eq!(p["latency_us"]["p50"], 10_047, "2-digit bucket of 10 ms");
    assert_eq!(names["health"]["method"], "GET");
    assert_eq!(names["health"]["error_details"], serde_json::json!([]));
    let t = j["timeline"].as_array().unwrap();
    assert_eq!(t[0]["by_name"]["predict"]["p99_us"], 120_000);
    assert_eq!(t[0]["by_name"]["health"]["requests"], 25);
    assert_eq!(t[1]["by_name"]["health"]["requests"], 0);
    assert_eq!(
        keys(&t[0]["by_name"]["predict"]),
        ["errors", "p50_us", "p99_us", "requests"]
    );
}

#[test]
fn json_of_single_request_has_no_names() {
    let j = to_json(&single());
    assert_eq!(j["by_name"], serde_json::json!({}));
    assert!(j["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p.get("by_name").is_none()));
}

/// A JSON latency (µs) as the CSV writes it (exact ms).
fn ms_of(v: &Value) -> String {
    ms(v.as_u64().unwrap_or_else(|| panic!("{v}")))
}

/// Percentile columns the JSON lacks (66%, 80%, 95%, 98%) are checked
/// against the histogram itself.
fn assert_row_is_json(row: &[String], j: &Value, h: &Histogram<u64>, secs: f64) {
    let lat = &j["latency_us"];
    let e = &j["errors"];
    let failures: u64 = [
        "connect", "read", "write", "timeout", "status", "parse", "tls",
    ]
    .iter()
    .map(|k| e[k].as_u64().unwrap())
    .sum();
    let requests = j["requests"].as_u64().unwrap();
    assert_eq!(row[2], requests.to_string());
    assert_eq!(row[3], failures.to_string());
    assert_eq!(row[4], ms_of(&lat["p50"]));
    let mean: f64 = row[5].parse().unwrap();
    assert_eq!(mean, lat["mean"].as_f64().unwrap() / 1000.0);
    assert_eq!(row[6], ms_of(&lat["min"]));
    assert_eq!(row[7], ms_of(&lat["max"]));
    let size: f64 = row[8].parse().unwrap();
    assert_eq!(size, j["bytes_read"].as_f64().unwrap() / requests as f64);
    let rps: f64 = row[9].parse().unwrap();
    assert_eq!(rps, j["rps"].as_f64().unwrap());
    let fps: f64 = row[10].parse().unwrap();
    assert_eq!(fps, failures as f64 / secs);
    let pct = &row[11..];
    assert_eq!(pct.len(), LOCUST_QUANTILES.len());
    for (cell, key) in pct.iter().zip([
        Some("p50"),
        None,
        Some("p75"),
        None,
        Some("p90"),
        None,
        None,
        Some("p99"),
        Some("p99_9"),
        Some("p99_99"),
        Some("max"),
    ]) {
        if let Some(k) = key {
            assert_eq!(*cell, ms_of(&lat[k]), "{k}");
        }
    }
    for (cell, &q) in pct.iter().zip(&LOCUST_QUANTILES) {
        assert_eq!(*cell, ms(h.value_at_quantile(q)), "{q}");
    }
}

#[test]
fn csv_rows_equal_the_json() {
    let s = mixed();
    let j = to_json(&s);
    let rows = csv_of(|w| write_stats(w, &s));
    assert_eq!(rows.len(), 4, "header, two names, Aggregated: {rows:?}");
    assert_eq!(rows[0][..2], ["Type", "Name"]);
    assert_eq!(rows[1][..2], ["POST", "predict"]);
    assert_eq!(rows[2][..2], ["GET", "health"]);
    assert_eq!(rows[3][..2], ["", "Aggregated"]);
    for (i, name) in s.by_name.iter().enumerate() {
        assert_row_is_json(&rows[i + 1], &j["by_name"][&name.name], &name.latency, 10.0);
    }
    assert_row_is_json(&rows[3], &j, &s.latency, 10.0);
    // The totals count the connect failures of no name.
    assert_eq!(rows[3][3], "10");
}

#[test]
fn csv_of_single_request_is_one_row_and_aggregated() {
    let rows = csv_of(|w| write_stats(w, &single()));
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][..2], ["GET", "/"]);
    assert_eq!(rows[1][2..], rows[2][2..]);
}

#[test]
fn failures_per_name_and_error() {
    let rows = csv_of(|w| write_failures(w, &mixed()));
    let lines: Vec<String> = rows.iter().map(|r| r.join(",")).collect();
    assert_eq!(
        lines,
        [
            "Method,Name,Error,Occurrences",
            "POST,predict,read: EOF mid-body,3",
            "POST,predict,status: 500,5",
            ",(connection),connect: refused,2",
        ]
    );
    let rows = csv_of(|w| write_failures(w, &single()));
    let lines: Vec<String> = rows.iter().map(|r| r.join(",")).collect();
    assert_eq!(lines[1], "GET,/,read: EOF mid-body,3");
    assert_eq!(lines[3], "GET,/,status: 500,5");
    assert_eq!(
        csv_of(write_exceptions),
        [["Count", "Message", "Traceback", "Nodes"]]
    );
}

#[test]
fn compare_per_name() {
    use super::compare::{names_from_json, write_names_table};
    let mut faster = mixed();
    faster.duration = Duration::from_secs(5);
    let runs = vec![
        ("before".to_string(), names_from_json(&to_json(&mixed()))),
        ("after".to_string(), names_from_json(&to_json(&faster))),
        ("plain".to_string(), names_from_json(&to_json(&single()))),
    ];
    assert_eq!(runs[0].1.len(), 2);
    assert!(runs[2].1.is_empty());
    let mut out = Vec::new();
    write_names_table(&mut out, &runs).unwrap();
    let want = "
name     run      req/s      p50      p99  errors
health   before   25.00   1.00ms   1.50ms   0.00%
         after    50.00   1.00ms   1.50ms   0.00%
         plain        -        -        -       -
predict  before   75.00  10.05ms  25.09ms   1.06%
         after   150.00  10.05ms  25.09ms   1.06%
         plain        -        -        -       -
";
    assert_eq!(String::from_utf8(out).unwrap(), want);
    // Runs without names: nothing at all, not even the blank line.
    let mut out = Vec::new();
    write_names_table(&mut out, &runs[2..]).unwrap();
    assert!(out.is_empty());
}

/// The per-name `_stats.csv` rows of the synthetic two-name run, golden.
#[test]
fn csv_golden_per_name() {
    let mut out = Vec::new();
    write_stats(&mut out, &mixed()).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text.lines().skip(1).collect::<Vec<_>>(),
        [
        "POST,predict,750,8,10.047,11.650133333333333,9.984,120.319,300.0,75.0,0.8,10.047,10.047,10.047,10.047,10.047,25.087,25.087,25.087,120.319,120.319,120.319",
        "GET,health,250,0,1.003,1.02192,1,1.503,100.0,25.0,0.0,1.003,1.003,1.003,1.003,1.003,1.003,1.503,1.503,1.503,1.503,1.503",
        ",Aggregated,1000,10,10.007,8.982959999999999,1,120.063,250.0,100.0,1.0,10.007,10.007,10.007,10.007,10.007,10.007,25.007,25.007,120.063,120.063,120.063"
        ]
    );
}

#[test]
fn a_name_without_responses() {
    let mut s = mixed();
    let health = &mut s.by_name[1];
    health.requests = 0;
    health.bytes_read = 0;
    health.status_codes.clear();
    health.latency = name_histogram();
    health.errors.timeout = 4;
    let text = text_of(&s);
    let row = text
        .lines()
        .find(|l| l.starts_with("GET   health"))
        .unwrap();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        [
            "GET",
            "health",
            "0",
            "4(100.00%)",
            "|",
            "-",
            "-",
            "-",
            "-",
            "|",
            "0.00",
            "0.40"
        ]
    );
    let pct = text
        .lines()
        .filter(|l| l.starts_with("GET   health"))
        .nth(1);
    assert!(pct.unwrap().ends_with("- |      0"), "{pct:?}");
    let j = to_json(&s);
    assert_eq!(j["by_name"]["health"]["latency_us"]["p99"], 0);
    assert_eq!(j["by_name"]["health"]["rps"], 0.0);
    let rows = csv_of(|w| write_stats(w, &s));
    assert_eq!(
        rows[2].join(","),
        "GET,health,0,4,0,0.0,0,0,0.0,0.0,0.4,0,0,0,0,0,0,0,0,0,0,0"
    );
}
