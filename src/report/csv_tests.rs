//! Golden tests of the CSV files.

use super::*;
use crate::stats::fixture::run_info;
use crate::stats::{latency_histogram, Cumulative, ErrorCounts, RunInfo, TimelinePoint};
use std::collections::BTreeMap;
use std::time::Duration;

fn summary() -> Summary {
    let mut latency = latency_histogram();
    for (v, n) in [(250, 5), (1000, 4), (12_345, 1)] {
        latency.record_n(v, n).unwrap();
    }
    Summary {
        info: RunInfo {
            url: "http://127.0.0.1:8080/api/x?q=1,2".into(),
            connections: 4,
            threads: 1,
            duration_s: Some(2.0),
            method: "POST".into(),
            ..run_info()
        },
        duration: Duration::from_secs(2),
        requests: 10,
        bytes_read: 1000,
        status_codes: BTreeMap::from([(200, 9), (500, 1)]),
        errors: ErrorCounts {
            read: 2,
            status: 1,
            ..Default::default()
        },
        latency,
        timeline: vec![
            TimelinePoint {
                output_tokens: 0,
                by_name: Vec::new(),
                t_s: 1.0,
                requests: 6,
                rps: 6.0,
                p50_us: 250,
                p99_us: 1000,
                errors: 1,
                bytes: 600,
                quantiles_us: [250; 11],
                total: Cumulative {
                    requests: 6,
                    errors: 1,
                    bytes: 600,
                    p50_us: 250,
                    mean_us: 500.5,
                    min_us: 250,
                    max_us: 1000,
                },
            },
            TimelinePoint {
                output_tokens: 0,
                by_name: Vec::new(),
                t_s: 1.5,
                requests: 4,
                rps: 8.0,
                p50_us: 1000,
                p99_us: 12_345,
                errors: 2,
                bytes: 400,
                quantiles_us: [1000; 11],
                total: Cumulative {
                    requests: 10,
                    errors: 3,
                    bytes: 1000,
                    p50_us: 250,
                    mean_us: 1759.0,
                    min_us: 250,
                    max_us: 12_345,
                },
            },
        ],
        ..Summary::empty(run_info())
    }
}

#[test]
fn names_are_paths() {
    assert_eq!(url_path("http://h:80/a/b?c=d"), "/a/b?c=d");
    assert_eq!(url_path("http://h"), "/");
    assert_eq!(url_path("http://h?x"), "/?x");
    assert_eq!(field("/a?b=1,2"), "\"/a?b=1,2\"");
    assert_eq!(field("say \"hi\","), "\"say \"\"hi\"\",\"");
}

/// As Python's `repr(CatchResponseError(text))`, which Locust writes.
#[test]
fn check_errors_read_as_locust_writes_them() {
    for (text, want) in [
        (
            "json /predictions exists",
            "CatchResponseError('json /predictions exists')",
        ),
        (
            "body contains it's",
            "CatchResponseError(\"body contains it's\")",
        ),
        (
            "body matches 'a\"b'",
            "CatchResponseError('body matches \\'a\"b\\'')",
        ),
        ("a\\b\nc", "CatchResponseError('a\\\\b\\nc')"),
    ] {
        assert_eq!(catch_response_error(text), want, "{text}");
    }
}

/// One row per name and check, after the status rows, quoted as CSV
/// where the check holds a comma.
#[test]
fn failures_golden() {
    let mut s = summary();
    let mut predict = crate::stats::NameSummary::new("predict", "POST");
    predict.status_codes = BTreeMap::from([(200, 8), (503, 1)]);
    predict.errors.status = 1;
    predict.check_details = vec![
        ("json /predictions exists".into(), 5),
        ("status in 200,201".into(), 1),
    ];
    s.by_name = vec![predict];
    let mut out = Vec::new();
    write_failures(&mut out, &s).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "Method,Name,Error,Occurrences\n\
         POST,predict,status: 503,1\n\
         POST,predict,CatchResponseError('json /predictions exists'),5\n\
         POST,predict,\"CatchResponseError('status in 200,201')\",1\n"
    );
}

#[test]
fn stats_golden() {
    let mut out = Vec::new();
    write_stats(&mut out, &summary()).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("Type,Name,Request Count,Failure Count,"));
    assert!(lines[0].ends_with(",99.9%,99.99%,100%"));
    // 12,345 µs falls in an 8 µs bucket: the histogram reports 12,351
    // (its highest equivalent), as the JSON does; the mean uses the
    // buckets' midpoints, 12,348.
    let want = "10,3,0.25,1.7598,0.25,12.351,100.0,5.0,1.5,0.25,1,1,1,1,\
                12.351,12.351,12.351,12.351,12.351,12.351";
    assert_eq!(lines[1], format!("POST,\"/api/x?q=1,2\",{want}"));
    assert_eq!(lines[2], format!(",Aggregated,{want}"));
}

#[test]
fn history_golden() {
    let mut out = Vec::new();
    write_history(&mut out, &summary(), 1_700_000_000.0).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0].split(',').count(), 24);
    assert_eq!(
        lines[1],
        "1700000001,4,,Aggregated,6.0,1.0,0.25,0.25,0.25,0.25,0.25,0.25,0.25,0.25,0.25,0.25,0.25,\
         6,1,0.25,0.5005,0.25,1,100.0"
    );
    // A half-second last interval: 2 errors in 0.5 s.
    assert_eq!(
        lines[2],
        "1700000001,4,,Aggregated,8.0,4.0,1,1,1,1,1,1,1,1,1,1,1,10,3,0.25,1.759,0.25,12.345,100.0"
    );
}

/// A run without names: its check failures (a stream's error event among
/// them) are rows of the request's method and path.
#[test]
fn failures_without_names_name_the_path() {
    let mut s = summary();
    s.errors = ErrorCounts {
        check: 4,
        ..Default::default()
    };
    s.status_codes = BTreeMap::from([(200, 10)]);
    s.check_details = vec![
        ("stream error: CUDA out of memory".into(), 3),
        ("json /choices exists".into(), 1),
    ];
    let mut out = Vec::new();
    write_failures(&mut out, &s).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "Method,Name,Error,Occurrences\n\
         POST,\"/api/x?q=1,2\",CatchResponseError('stream error: CUDA out of memory'),3\n\
         POST,\"/api/x?q=1,2\",CatchResponseError('json /choices exists'),1\n"
    );
}

/// Issue 18, defect 2: a text cell a spreadsheet would run as a formula
/// (first character `=`, `+`, `-`, `@`, TAB or CR) gets OWASP's leading
/// `'`, then the usual quoting; numbers keep their form.
#[test]
fn formula_cells_are_neutralised() {
    for (text, want) in [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "\"'\r=1\""),
        ("=1,2", "\"'=1,2\""),
        ("=\"a\"", "\"'=\"\"a\"\"\""),
        ("a=1", "a=1"),
        ("/x?y=-1", "/x?y=-1"),
        ("", ""),
    ] {
        assert_eq!(field(text), want, "{text:?}");
    }
    let mut s = summary();
    s.info.method = "-X".into();
    let mut n = crate::stats::NameSummary::new("=1+1", "+P");
    n.status_codes = BTreeMap::from([(500, 1)]);
    n.errors.status = 1;
    s.by_name = vec![n];
    let mut out = Vec::new();
    write_stats(&mut out, &s).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.lines().nth(1).unwrap().starts_with("'+P,'=1+1,"),
        "{text}"
    );
    let mut out = Vec::new();
    write_failures(&mut out, &s).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().nth(1), Some("'+P,'=1+1,status: 500,1"));
}
