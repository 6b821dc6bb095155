//! Merging logs into one `Summary`: histograms added (so percentiles are
//! exact), counts summed, intervals bucketed by wall-clock second.

use super::names;
use super::read::Log;
use crate::report::finite;
use crate::stats::{self, CheckSummary, Cumulative, ErrorCounts, RunInfo, Summary, TimelinePoint};
use hdrhistogram::Histogram;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Merge logs into one summary: exact percentiles (histograms added), counts
/// summed, intervals aligned by wall-clock second.
pub fn merge(logs: &[Log]) -> Summary {
    let origin = logs
        .iter()
        .flat_map(|l| l.intervals.iter().map(|i| i.start_s))
        .fold(f64::INFINITY, f64::min);
    let origin = finite(origin);
    let mut latency = stats::latency_histogram();
    let mut end = 0.0f64;
    // Per whole second since the origin: histogram, requests, errors, bytes.
    let mut buckets: BTreeMap<u64, (Histogram<u64>, u64, u64, u64, f64)> = BTreeMap::new();
    for l in logs {
        for iv in &l.intervals {
            let _ = latency.add(&iv.latency);
            let rel = iv.start_s - origin;
            end = end.max(rel + iv.len_s);
            let b = buckets
                .entry((rel + 0.5).max(0.0) as u64)
                .or_insert_with(|| (stats::latency_histogram(), 0, 0, 0, 0.0));
            let _ = b.0.add(&iv.latency);
            let (req, err, bytes) = iv.counts.unwrap_or((iv.latency.len(), 0, 0));
            b.1 += req;
            b.2 += err;
            b.3 += bytes;
            b.4 = b.4.max(rel + iv.len_s);
        }
    }
    let (by_name, mut name_points) = merge_names(logs, origin);
    let mut cumulative = stats::latency_histogram();
    let mut total = Cumulative::default();
    let mut prev_end = 0.0;
    let mut timeline = Vec::new();
    for (key, (h, req, err, bytes, t_end)) in buckets {
        let _ = cumulative.add(&h);
        total.requests += req;
        total.errors += err;
        total.bytes += bytes;
        if !cumulative.is_empty() {
            total.p50_us = cumulative.value_at_quantile(0.5);
            total.mean_us = cumulative.mean();
            total.min_us = cumulative.min();
            total.max_us = cumulative.max();
        }
        let len = t_end - prev_end;
        timeline.push(TimelinePoint {
            output_tokens: 0,
            t_s: t_end,
            requests: req,
            rps: if len > 0.0 { req as f64 / len } else { 0.0 },
            p50_us: h.value_at_quantile(0.5),
            p99_us: h.value_at_quantile(0.99),
            errors: err,
            bytes,
            quantiles_us: stats::LOCUST_QUANTILES.map(|q| h.value_at_quantile(q)),
            by_name: name_points
                .remove(&key)
                .unwrap_or_else(|| vec![stats::NamePoint::default(); by_name.len()]),
            total: total.clone(),
        });
        prev_end = t_end;
    }

    // Totals: blast's summary lines where every log has one, else histogram counts.
    let summaries: Option<Vec<&Value>> = logs.iter().map(|l| l.summary.as_ref()).collect();
    let mut status_codes = BTreeMap::new();
    let mut errors = ErrorCounts::default();
    let mut checks: Vec<CheckSummary> = Vec::new();
    let mut check_details = BTreeMap::new();
    let (mut requests, mut bytes, mut in_flight, mut not_sent) = (latency.len(), 0, 0, 0);
    if let Some(sums) = summaries.filter(|s| !s.is_empty()) {
        requests = 0;
        for s in sums {
            let n = |v: &Value| v.as_u64().unwrap_or(0);
            requests += n(&s["requests"]);
            bytes += n(&s["bytes_read"]);
            in_flight += n(&s["in_flight_at_end"]);
            not_sent += n(&s["not_sent_at_end"]);
            if let Some(m) = s["status_codes"].as_object() {
                for (code, c) in m {
                    if let Ok(code) = code.parse::<u16>() {
                        *status_codes.entry(code).or_insert(0) += n(c);
                    }
                }
            }
            names::add_errors(&mut errors, &s["errors"]);
            names::add_details(&mut check_details, &s["check_details"]);
            add_checks(&mut checks, &s["checks"]);
        }
    }
    let run = logs.iter().find_map(|l| l.run.as_ref());
    let sum_of = |k: &str| {
        logs.iter()
            .filter_map(|l| l.run.as_ref()?[k].as_u64())
            .sum::<u64>()
    };
    let info = RunInfo {
        url: run
            .and_then(|r| r["url"].as_str())
            .unwrap_or("(merged logs)")
            .to_string(),
        connections: sum_of("connections"),
        threads: sum_of("threads"),
        duration_s: Some(end),
        requests_limit: None,
        rate: None,
        ramp_up_s: 0.0,
        method: run
            .and_then(|r| r["method"].as_str())
            .unwrap_or("GET")
            .to_string(),
        timeout_s: 0.0,
        engine: format!("merged from {} logs", logs.len()),
        protocol: run
            .and_then(|r| r["protocol"].as_str())
            .unwrap_or("http/1.1")
            .to_string(),
        streams: run.and_then(|r| r["streams"].as_u64()).unwrap_or(1),
        goodput: false,
        seed: 0,
        stages: None,
    };
    Summary {
        by_name,
        duration: Duration::from_secs_f64(end.max(0.0)),
        requests,
        bytes_read: bytes,
        status_codes,
        errors,
        checks,
        check_details: names::sorted_details(check_details),
        latency,
        timeline,
        in_flight_at_end: in_flight,
        not_sent_at_end: not_sent,
        ..Summary::empty(info)
    }
}

/// Add a summary line's `checks` into `acc`: the same (name, check) of
/// several boxes is one check with their counts summed, in order of first
/// appearance.
fn add_checks(acc: &mut Vec<CheckSummary>, v: &Value) {
    for c in v.as_array().into_iter().flatten() {
        let (Some(check), name) = (c["check"].as_str(), c["name"].as_str()) else {
            continue;
        };
        let n = |k: &str| c[k].as_u64().unwrap_or(0);
        let i = match acc
            .iter()
            .position(|a| a.check == check && a.name.as_deref() == name)
        {
            Some(i) => i,
            None => {
                acc.push(CheckSummary {
                    name: name.map(str::to_string),
                    check: check.to_string(),
                    passes: 0,
                    fails: 0,
                });
                acc.len() - 1
            }
        };
        acc[i].passes += n("passes");
        acc[i].fails += n("fails");
    }
}

/// The tagged intervals of every log, by the name its tag maps to (the tag
/// itself in a log without blast's mapping).
fn merge_names(
    logs: &[Log],
    origin: f64,
) -> (
    Vec<stats::NameSummary>,
    BTreeMap<u64, Vec<stats::NamePoint>>,
) {
    let per_log: Vec<names::LogNames> = logs
        .iter()
        .map(|l| names::LogNames {
            tagged: l
                .tagged
                .iter()
                .map(|(tag, iv)| {
                    let n = l.names.iter().find(|n| &n.tag == tag);
                    names::Tagged {
                        name: n.map_or(tag.as_str(), |n| n.name.as_str()),
                        method: n.map_or("", |n| n.method.as_str()),
                        interval: iv,
                    }
                })
                .collect(),
            summary: l.summary.as_ref(),
        })
        .collect();
    names::merge(&per_log, |start_s| (start_s - origin + 0.5).max(0.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::hlog::{read, HlogWriter};
    use crate::stats::fixture::run_info;
    use crate::stats::IntervalSink;
    use std::time::UNIX_EPOCH;

    fn info() -> RunInfo {
        RunInfo {
            url: "http://127.0.0.1:1/".into(),
            connections: 4,
            threads: 1,
            duration_s: Some(3.0),
            ..run_info()
        }
    }

    fn point(requests: u64) -> TimelinePoint {
        TimelinePoint {
            output_tokens: 0,
            by_name: Vec::new(),
            t_s: 0.0,
            requests,
            rps: 0.0,
            p50_us: 0,
            p99_us: 0,
            errors: 1,
            bytes: 10 * requests,
            quantiles_us: [0; 11],
            total: Cumulative::default(),
        }
    }

    /// Three "boxes" log synthetic samples; the merge equals one histogram
    /// holding every sample, exactly.
    #[test]
    fn merged_percentiles_equal_one_histogram() {
        let dir = std::env::temp_dir().join(format!("blast-hlog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut all = stats::latency_histogram();
        let mut logs = Vec::new();
        for b in 0..3u64 {
            let path = dir.join(format!("box{b}.hlog"));
            let path = path.to_str().unwrap();
            // Box b starts b*10 ms late, as boxes started with --start-at do.
            let mut w =
                HlogWriter::create(path, t0 + Duration::from_millis(b * 10), &info(), &[]).unwrap();
            for sec in 0..3u64 {
                let mut h = stats::latency_histogram();
                for i in 0..1000u64 {
                    let v = 1 + (i * 7919 + b * 104_729 + sec * 31) % 200_000;
                    h.record(v).unwrap();
                    all.record(v).unwrap();
                }
                w.interval(
                    Duration::from_secs(sec),
                    Duration::from_secs(1),
                    &h,
                    &point(1000),
                    &[],
                );
            }
            drop(w);
            logs.push(read(&std::fs::read(path).unwrap()).unwrap());
        }
        let m = merge(&logs);
        assert_eq!(m.latency.len(), all.len());
        for q in [0.0, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1.0] {
            assert_eq!(
                m.latency.value_at_quantile(q),
                all.value_at_quantile(q),
                "q={q}"
            );
        }
        assert_eq!(m.timeline.len(), 3, "aligned to the same three seconds");
        assert_eq!(m.timeline[0].requests, 3000);
        assert_eq!(m.timeline[2].total.requests, 9000);
        assert_eq!(m.timeline[2].total.errors, 9);
        assert_eq!(
            m.requests, 9000,
            "no summary lines: counts from the histograms"
        );
        assert_eq!(m.info.connections, 12);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn garbage_is_not_a_log() {
        assert!(read(b"hello\nworld,1,2,3\n").is_err());
    }
}
