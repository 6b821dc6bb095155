//! The streaming side of a run (Server-Sent Events, LLM endpoints): which
//! metrics a streamed run has and how its rates are derived, read by the
//! CSV files (`csv`), the HTML page (`html::stream`) and the comparison
//! (`compare`), so that each shows the same numbers. A leaf: it imports
//! only the shared helpers of `report/mod.rs`, and no report imports it back.

use super::{finite, per_second};
use crate::stats::Summary;
use hdrhistogram::Histogram;

/// The percentile columns of `_streaming.csv`: the JSON's percentile keys.
pub const QUANTILES: [(f64, &str); 7] = [
    (0.5, "50%"),
    (0.75, "75%"),
    (0.9, "90%"),
    (0.97, "97%"),
    (0.99, "99%"),
    (0.999, "99.9%"),
    (0.9999, "99.99%"),
];

/// Some response of the run was an event stream.
pub fn streamed(s: &Summary) -> bool {
    s.stream.responses > 0
}

/// The latency metrics of a streamed run, vLLM's names, with their
/// histograms: TTFT, TPOT, ITL, and E2EL, the run's latency (every
/// response, the JSON's `latency_us`: the summary keeps no separate
/// histogram of the streamed ones; against an LLM endpoint every response
/// streams).
pub fn metrics(s: &Summary) -> [(&'static str, &Histogram<u64>); 4] {
    [
        ("TTFT", &s.stream.ttft),
        ("TPOT", &s.stream.tpot),
        ("ITL", &s.stream.itl),
        ("E2EL", &s.latency),
    ]
}

/// Output tokens per second of measured time (the JSON's
/// `output_tokens_per_s`).
pub fn tokens_per_s(s: &Summary) -> f64 {
    finite(s.stream.tokens as f64 / s.duration.as_secs_f64().max(1e-9))
}

/// Good streamed responses per second, with `--slo` per-request
/// conditions (the JSON's `goodput_rps`).
pub fn goodput_rps(s: &Summary) -> Option<f64> {
    s.info
        .goodput
        .then(|| finite(s.stream.good as f64 / s.duration.as_secs_f64().max(1e-9)))
}

/// Per timeline second: its end (s since the start), its output tokens
/// and tokens/s over its length.
pub fn tokens_over_time(s: &Summary) -> Vec<(f64, u64, f64)> {
    let rates = per_second(&s.timeline, |p| p.output_tokens);
    (s.timeline.iter().zip(rates))
        .map(|(p, (t_s, rate))| (t_s, p.output_tokens, finite(rate)))
        .collect()
}
