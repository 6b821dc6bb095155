//! Acceptance 3 of `blast serve`: 100 concurrent API calls during a run
//! all get an answer, and the run measures what the same run measures
//! without them.

use super::client::{self, data_dir, Serve};
use super::{target, url};
use crate::support::wait_until;
use serde_json::Value;
use std::time::Duration;

#[test]
fn concurrent_calls_leave_the_runs_numbers_as_they_are() {
    let t = target();
    let dir = data_dir("calls");
    let s = Serve::start(&dir, &[]);
    let body = format!(
        r#"{{"url": "{}", "qps": 200, "duration": 3, "num_workers": 10, "timeout": 2}}"#,
        url(&t)
    );
    // The same run twice: alone, then with 100 calls made while it runs.
    let alone = s.run_waiting(&body);
    let addr = s.addr;
    let before = t.requests();
    let (busy, statuses) = std::thread::scope(|scope| {
        let caller = scope.spawn(|| {
            // The calls during the run, a second (200 requests) into it.
            wait_until(Duration::from_secs(20), "the second run under way", || {
                t.requests() >= before + 200
            });
            let calls: Vec<_> = (0..100)
                .map(|i| {
                    std::thread::spawn(move || match i % 3 {
                        0 => client::call(addr, None, "GET", "/benchmarks", None).status,
                        1 => {
                            client::call(addr, None, "POST", "/benchmark", Some("{\"qps\": 1}"))
                                .status
                        }
                        _ => client::call(addr, None, "GET", "/", None).status,
                    })
                })
                .collect();
            calls
                .into_iter()
                .map(|c| c.join().unwrap())
                .collect::<Vec<u16>>()
        });
        let busy = s.run_waiting(&body);
        (busy, caller.join().unwrap())
    });
    for (i, st) in statuses.iter().enumerate() {
        assert_eq!(*st, [200, 400, 200][i % 3], "call {i}");
    }
    let ms = |j: &Value, k: &str| j[k].as_f64().unwrap();
    eprintln!(
        "alone: {} requests, p50 {} ms, p99 {} ms; with 100 calls: {} requests, p50 {} ms, p99 {} ms",
        alone["requests"],
        ms(&alone, "p50"),
        ms(&alone, "p99"),
        busy["requests"],
        ms(&busy, "p50"),
        ms(&busy, "p99")
    );
    for j in [&alone, &busy] {
        let n = j["requests"].as_u64().unwrap();
        assert!((588..=612).contains(&n), "{n} requests at 200/s for 3 s");
        assert_eq!(j["errors"], 0);
    }
    // Loopback medians are a fraction of a millisecond; 1 ms is well
    // outside what the calls could add if they disturbed the run.
    let d50 = (ms(&busy, "p50") - ms(&alone, "p50")).abs();
    assert!(d50 < 1.0, "p50 moved by {d50} ms");
    assert_eq!(
        t.requests(),
        alone["requests"].as_u64().unwrap() + busy["requests"].as_u64().unwrap()
    );
    t.stop();
}
