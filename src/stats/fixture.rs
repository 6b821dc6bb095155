//! Synthetic runs for the tests of the aggregator, the reports and the SLO
//! per name: one `RunInfo` every test starts from, and a run with two
//! request names.

use super::names::NameSnapshot;
use super::*;
use std::collections::BTreeMap;

/// The run every test starts from: 10 connections on 2 threads for 10 s,
/// GET over HTTP/1.1 on the epoll engine. A test overrides the fields it
/// is about (`RunInfo { connections: 4, ..run_info() }`).
pub fn run_info() -> RunInfo {
    RunInfo {
        url: "http://127.0.0.1:8080/".into(),
        connections: 10,
        threads: 2,
        duration_s: Some(10.0),
        requests_limit: None,
        rate: None,
        ramp_up_s: 0.0,
        method: "GET".into(),
        timeout_s: 2.0,
        engine: "epoll".into(),
        protocol: "http/1.1".into(),
        streams: 1,
        goodput: false,
        seed: 0,
        stages: None,
    }
}

/// `predict` (POST): 700 at 100 ms, 50 at 400 ms, 10 of them 500s, and 5
/// timeouts; `/health` (GET): 250 at 2 ms. 10 s, one point per second.
pub fn two_names() -> Summary {
    let mut predict = NameSummary::new("predict", "POST");
    let mut health = NameSummary::new("/health", "GET");
    let mut latency = latency_histogram();
    let mut timeline = Vec::new();
    let mut total = Cumulative::default();
    for sec in 0..10u64 {
        let mut p = names::name_histogram();
        let mut h = names::name_histogram();
        let mut all = latency_histogram();
        let slow = if sec < 5 { 10 } else { 0 };
        for i in 0..75u64 {
            let v = if i < slow { 400_000 } else { 100_000 };
            p.record(v).unwrap();
            all.record(v).unwrap();
        }
        for _ in 0..25 {
            h.record(2_000).unwrap();
            all.record(2_000).unwrap();
        }
        let mut faults = [0u64; Fault::COUNT];
        if sec == 9 {
            faults[Fault::Timeout as usize] = 5;
        }
        let errs = if sec == 9 { 10 } else { 0 };
        let pt = NamePoint {
            requests: 75,
            errors: errs + faults.iter().sum::<u64>(),
            p50_us: p.value_at_quantile(0.5),
            p99_us: p.value_at_quantile(0.99),
        };
        let ht = NamePoint {
            requests: 25,
            errors: 0,
            p50_us: 2_000,
            p99_us: 2_000,
        };
        predict.add(&NameSnapshot {
            requests: 75,
            bytes: 75 * 100,
            skipped: 0,
            status: vec![(200, 75 - errs), (500, errs)],
            faults,
            status_errors: errs,
            check_errors: 0,
            grpc_errors: 0,
            latency: p,
        });
        let no_faults = [0u64; Fault::COUNT];
        health.add(&NameSnapshot {
            requests: 25,
            bytes: 25 * 10,
            skipped: 0,
            status: vec![(200, 25)],
            faults: no_faults,
            status_errors: 0,
            check_errors: 0,
            grpc_errors: 0,
            latency: h,
        });
        let _ = latency.add(&all);
        total.requests += 100;
        total.errors += pt.errors;
        total.bytes += 75 * 100 + 25 * 10;
        total.p50_us = latency.value_at_quantile(0.5);
        total.mean_us = latency.mean();
        total.min_us = latency.min();
        total.max_us = latency.max();
        timeline.push(TimelinePoint {
            output_tokens: 0,
            t_s: (sec + 1) as f64,
            requests: 100,
            rps: 100.0,
            p50_us: all.value_at_quantile(0.5),
            p99_us: all.value_at_quantile(0.99),
            errors: pt.errors,
            bytes: 75 * 100 + 25 * 10,
            quantiles_us: LOCUST_QUANTILES.map(|q| all.value_at_quantile(q)),
            total: total.clone(),
            by_name: vec![pt, ht],
        });
    }
    Summary {
        info: RunInfo {
            seed: 7,
            ..run_info()
        },
        duration: Duration::from_secs(10),
        requests: 1000,
        bytes_read: predict.bytes_read + health.bytes_read,
        status_codes: BTreeMap::from([(200, 990), (500, 10)]),
        errors: ErrorCounts {
            timeout: 5,
            status: 10,
            ..ErrorCounts::default()
        },
        error_details: predict.error_details.clone(),
        latency,
        timeline,
        by_name: vec![predict, health],
        ..Summary::empty(run_info())
    }
}
