//! Tagged per-name lines: write → read → merge, exact per name.

use super::*;
use crate::stats::fixture::run_info;
use crate::stats::names::name_histogram;
use crate::stats::{
    self, CheckSummary, Cumulative, IntervalSink, NamePoint, NameSummary, RunInfo, TimelinePoint,
};
use hdrhistogram::serialization::interval_log::Tag;
use hdrhistogram::Histogram;
use std::time::{Duration, UNIX_EPOCH};

fn info() -> RunInfo {
    RunInfo {
        url: "http://127.0.0.1:1/".into(),
        connections: 2,
        threads: 1,
        duration_s: Some(3.0),
        ..run_info()
    }
}

const NAMES: [(&str, &str); 2] = [("/predict v1,x", "POST"), ("health", "GET")];

/// Box `b` logs 3 seconds: per second 30 (+b) `/predict v1,x` at 10..
/// ms and 10 `health` at 1 ms, 2 errors of the first name per second.
/// Returns the log and each name's histogram of every sample.
fn write_box(dir: &std::path::Path, b: u64, summary: bool) -> (Log, Vec<Histogram<u64>>) {
    let path = dir.join(format!("box{b}.hlog"));
    let path = path.to_str().unwrap();
    let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000) + Duration::from_millis(b * 7);
    let mut w = HlogWriter::create(path, t0, &info(), &NAMES).unwrap();
    let mut all = vec![name_histogram(), name_histogram()];
    let mut sums = vec![
        NameSummary::new(NAMES[0].0, NAMES[0].1),
        NameSummary::new(NAMES[1].0, NAMES[1].1),
    ];
    let per = [30 + b, 10];
    for sec in 0..3u64 {
        let mut total = stats::latency_histogram();
        let mut hs = vec![name_histogram(), name_histogram()];
        let mut pts = Vec::new();
        for (i, h) in hs.iter_mut().enumerate() {
            for k in 0..per[i] {
                let v = if i == 0 {
                    10_000 + k * 1_000 + sec
                } else {
                    1_000
                };
                h.record(v).unwrap();
                total.record(v).unwrap();
                all[i].record(v).unwrap();
            }
            let errors = if i == 0 { 2 } else { 0 };
            pts.push(NamePoint {
                requests: per[i],
                errors,
                p50_us: 0,
                p99_us: 0,
            });
            sums[i].requests += per[i];
            sums[i].bytes_read += per[i] * 5;
            *sums[i].status_codes.entry(200).or_default() += per[i] - errors;
            if errors > 0 {
                *sums[i].status_codes.entry(503).or_default() += errors;
                sums[i].errors.status += errors;
            }
        }
        let p = TimelinePoint {
            output_tokens: 0,
            t_s: (sec + 1) as f64,
            requests: total.len(),
            rps: 0.0,
            p50_us: 0,
            p99_us: 0,
            errors: 2,
            bytes: 0,
            quantiles_us: [0; 11],
            total: Cumulative::default(),
            by_name: pts,
        };
        w.interval(
            Duration::from_secs(sec),
            Duration::from_secs(1),
            &total,
            &p,
            &hs,
        );
    }
    drop(w);
    if summary {
        let mut s = merge(&[]);
        s.requests = sums.iter().map(|n| n.requests).sum();
        // `health` fails 3 + b checks of `json /status == ok` per box, and
        // box 1 one more, of a check only it has.
        let mut details = vec![("json /status == ok".to_string(), 3 + b)];
        s.checks = vec![CheckSummary {
            name: Some("health".into()),
            check: "json /status == ok".into(),
            passes: 30 - (3 + b),
            fails: 3 + b,
        }];
        if b == 1 {
            details.push(("body contains ok".into(), 1));
            s.checks.push(CheckSummary {
                name: Some("health".into()),
                check: "body contains ok".into(),
                passes: 26,
                fails: 1,
            });
        }
        let fails = details.iter().map(|d| d.1).sum();
        s.errors.check = fails;
        s.check_details = details.clone();
        sums[1].errors.check = fails;
        sums[1].check_details = details;
        s.by_name = sums;
        append_summary(path, &s).unwrap();
    }
    let text = std::fs::read(path).unwrap();
    (read(&text).unwrap(), all)
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("blast-hlog-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn tags_are_safe_and_unique() {
    let t = tags(&[
        ("/predict v1,x", "POST"),
        ("/predict_v1_x", "GET"),
        ("", "GET"),
        ("a\tb", ""),
    ]);
    assert_eq!(t, ["/predict_v1_x", "/predict_v1_x~2", "_", "a_b"]);
    for tag in &t {
        assert!(Tag::new(tag).is_some(), "{tag}");
    }
}

#[test]
fn log_has_tagged_lines_and_the_mapping() {
    let dir = tmp("lines");
    let (log, _) = write_box(&dir, 0, false);
    let text = std::fs::read_to_string(dir.join("box0.hlog")).unwrap();
    let tagged: Vec<&str> = text.lines().filter(|l| l.starts_with("Tag=")).collect();
    assert_eq!(tagged.len(), 6, "two names, three seconds");
    assert!(
        tagged[0].starts_with("Tag=/predict_v1_x,0.000,1.000,"),
        "{}",
        tagged[0]
    );
    assert!(
        tagged[1].starts_with("Tag=health,0.000,1.000,"),
        "{}",
        tagged[1]
    );
    // Untagged totals lines stay as they were, one per second.
    let untagged = text
        .lines()
        .filter(|l| l.starts_with("0.000,") || l.starts_with("1.000,"))
        .count();
    assert_eq!(untagged, 2);
    assert_eq!(log.intervals.len(), 3);
    assert_eq!(log.tagged.len(), 6);
    assert_eq!(
        log.names[0],
        LoggedName {
            tag: "/predict_v1_x".into(),
            name: "/predict v1,x".into(),
            method: "POST".into()
        }
    );
    assert_eq!(log.tagged[2].1.counts, Some((30, 2, 0)));
    assert_eq!(log.intervals[1].latency.len(), 40);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merge_is_exact_per_name() {
    let dir = tmp("merge");
    let (a, all_a) = write_box(&dir, 0, true);
    let (b, all_b) = write_box(&dir, 1, true);
    let m = merge(&[a, b]);
    assert_eq!(m.requests, 120 + 123, "totals as before");
    assert_eq!(m.by_name.len(), 2);
    let (p, h) = (&m.by_name[0], &m.by_name[1]);
    assert_eq!(
        (p.name.as_str(), p.method.as_str()),
        ("/predict v1,x", "POST")
    );
    assert_eq!((h.name.as_str(), h.method.as_str()), ("health", "GET"));
    assert_eq!(p.requests, 90 + 93);
    assert_eq!(h.requests, 60);
    assert_eq!(p.latency.len(), 183);
    assert_eq!(p.errors.status, 12);
    assert_eq!(p.failures(), 12);
    assert_eq!(p.status_codes.get(&503), Some(&12));
    assert_eq!(p.bytes_read, 183 * 5);
    // Check failures, summed per box exactly: 3 + 4 + 1.
    assert_eq!(h.errors.check, 8);
    assert_eq!(h.failures(), 8);
    assert_eq!(m.errors.check, 8);
    let want = vec![
        ("json /status == ok".to_string(), 7),
        ("body contains ok".to_string(), 1),
    ];
    assert_eq!(h.check_details, want);
    assert_eq!(m.check_details, want);
    let counts: Vec<(&str, Option<&str>, u64, u64)> = m
        .checks
        .iter()
        .map(|c| (c.check.as_str(), c.name.as_deref(), c.passes, c.fails))
        .collect();
    assert_eq!(
        counts,
        [
            ("json /status == ok", Some("health"), 53, 7),
            ("body contains ok", Some("health"), 26, 1)
        ]
    );
    let mut both = name_histogram();
    both.add(&all_a[0]).unwrap();
    both.add(&all_b[0]).unwrap();
    for q in [0.0, 0.5, 0.9, 0.99, 1.0] {
        assert_eq!(
            p.latency.value_at_quantile(q),
            both.value_at_quantile(q),
            "q={q}"
        );
    }
    assert_eq!(h.latency.max(), all_a[1].max());
    assert_eq!(m.timeline.len(), 3);
    for t in &m.timeline {
        assert_eq!(t.by_name.len(), 2);
        assert_eq!(t.by_name[0].requests, 61);
        assert_eq!(t.by_name[0].errors, 4);
        assert_eq!(t.by_name[1].requests, 20);
        assert_eq!(t.by_name[1].p99_us, all_a[1].value_at_quantile(0.99));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_summary_lines_requests_are_histogram_counts() {
    let dir = tmp("nosum");
    let (a, _) = write_box(&dir, 0, false);
    let m = merge(&[a]);
    assert_eq!(m.by_name[0].requests, 90);
    assert_eq!(m.by_name[1].requests, 30);
    assert_eq!(
        m.by_name[0].failures(),
        0,
        "errors by kind need the summary line"
    );
    assert_eq!(m.timeline[0].by_name[0].errors, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn foreign_tags_name_themselves_and_no_names_stay_empty() {
    let dir = tmp("plain");
    let path = dir.join("plain.hlog");
    let path = path.to_str().unwrap();
    let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut w = HlogWriter::create(path, t0, &info(), &[]).unwrap();
    let mut h = stats::latency_histogram();
    h.record(500).unwrap();
    let p = TimelinePoint {
        output_tokens: 0,
        t_s: 1.0,
        requests: 1,
        rps: 0.0,
        p50_us: 0,
        p99_us: 0,
        errors: 0,
        bytes: 0,
        quantiles_us: [0; 11],
        total: Cumulative::default(),
        by_name: Vec::new(),
    };
    w.interval(Duration::ZERO, Duration::from_secs(1), &h, &p, &[]);
    drop(w);
    let text = std::fs::read(path).unwrap();
    assert!(!String::from_utf8_lossy(&text).contains("Tag="));
    let m = merge(&[read(&text).unwrap()]);
    assert!(m.by_name.is_empty() && m.timeline[0].by_name.is_empty());
    // Another tool's tagged line: the tag is the name.
    let mut text = String::from_utf8(text).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("0.000,"))
        .unwrap()
        .to_string();
    text.push_str(&format!("Tag=other,{}\n", &line[..]));
    let m = merge(&[read(text.as_bytes()).unwrap()]);
    assert_eq!(m.by_name.len(), 1);
    assert_eq!(
        (m.by_name[0].name.as_str(), m.by_name[0].requests),
        ("other", 1)
    );
    assert_eq!(
        m.requests, 1,
        "the tagged line is not counted in the totals"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
