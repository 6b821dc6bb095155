//! What one run measured, as the reports read it: the `Summary` the
//! aggregator builds (or a merge of interval logs), with the `RunInfo` it
//! echoes and its per-second `TimelinePoint`s.

use super::Streaming;
use super::{
    growing_histogram, latency_histogram, rate_histogram, CheckSummary, ErrorCounts, Fault,
    NamePoint, NameSummary,
};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::time::Duration;

/// Locust's percentile columns; each timeline second keeps all of them.
pub const LOCUST_QUANTILES: [f64; 11] = [
    0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
];

/// One second of the run, over all workers.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelinePoint {
    /// End of the interval, seconds since the measured start.
    pub t_s: f64,
    pub requests: u64,
    pub rps: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    /// Transport errors, status and check failures.
    pub errors: u64,
    pub bytes: u64,
    /// Latency at each of `LOCUST_QUANTILES`, this second only.
    pub quantiles_us: [u64; 11],
    /// Everything from the start up to the end of this second.
    pub total: Cumulative,
    /// Per request name, in the mix's order (empty without names).
    pub by_name: Vec<NamePoint>,
    /// Output tokens of the streamed responses that completed this second
    /// (0 for a run that did not stream).
    pub output_tokens: u64,
}

/// Running totals up to a timeline point (Locust's "Total ..." columns).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Cumulative {
    pub requests: u64,
    pub errors: u64,
    pub bytes: u64,
    pub p50_us: u64,
    pub mean_us: f64,
    pub min_us: u64,
    pub max_us: u64,
}

/// What the run was asked to do, as the report echoes it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunInfo {
    pub url: String,
    pub connections: u64,
    pub threads: u64,
    pub duration_s: Option<f64>,
    pub requests_limit: Option<u64>,
    pub rate: Option<f64>,
    pub ramp_up_s: f64,
    pub method: String,
    pub timeout_s: f64,
    pub engine: String,
    /// What was spoken: `http/1.1`, `h2` (over TLS) or `h2c`.
    pub protocol: String,
    /// Concurrent requests per connection: HTTP/2 streams (`-m`), HTTP/1.1
    /// requests per batch (`--pipeline`), else 1.
    pub streams: u64,
    /// `--slo` holds per-request conditions (ttft, tpot, e2el): goodput is
    /// reported.
    pub goodput: bool,
    /// The seed of every random choice (`--seed`, or the one drawn from the
    /// clock), so a run can be repeated.
    pub seed: u64,
    /// `--stages` (or a scenario's `[[stage]]`): the load shape, its targets
    /// users or, with `rate`, requests per second.
    pub stages: Option<crate::shape::Stages>,
}

/// What a TLS handshake negotiated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsInfo {
    pub version: String,
    pub cipher: String,
    pub alpn: Option<String>,
}

/// The TLS side of a run over https.
#[derive(Clone, Debug)]
pub struct TlsSummary {
    /// As negotiated by the first connection that got through.
    pub info: Option<TlsInfo>,
    /// Handshake times, microseconds.
    pub handshake: Histogram<u64>,
    /// Handshakes that resumed a session.
    pub resumed: u64,
}

/// Everything measured in one run; the reports are pure functions of it.
#[derive(Clone, Debug)]
pub struct Summary {
    pub info: RunInfo,
    /// Measured wall time (after warm-up).
    pub duration: Duration,
    pub requests: u64,
    pub bytes_read: u64,
    pub status_codes: BTreeMap<u16, u64>,
    pub errors: ErrorCounts,
    /// Non-zero faults with their cause, most frequent first.
    pub error_details: Vec<(Fault, u64)>,
    /// Per configured check (name, text): k6's passes and fails (empty
    /// without checks).
    pub checks: Vec<CheckSummary>,
    /// `check` failures by detail (the first failing check's text, or a
    /// stream's `stream error: MESSAGE`), most frequent first.
    pub check_details: Vec<(String, u64)>,
    pub latency: Histogram<u64>,
    pub service: Histogram<u64>,
    /// Time to the first byte of each response's body, from when it was due.
    pub ttfb: Histogram<u64>,
    /// Server-Sent Events responses (empty when there were none).
    pub stream: Streaming,
    pub connect: Histogram<u64>,
    /// Only for https runs.
    pub tls: Option<TlsSummary>,
    pub rate: Histogram<u64>,
    pub timeline: Vec<TimelinePoint>,
    /// Per request name, in the mix's order (empty for a single request).
    pub by_name: Vec<NameSummary>,
    pub in_flight_at_end: u64,
    pub not_sent_at_end: u64,
    /// Stopped early by Ctrl-C or SIGTERM.
    pub interrupted: bool,
    /// Stopped early by `--abort-on-slo`: where it broke.
    pub aborted: Option<super::abort::Aborted>,
}

impl Summary {
    /// A run that measured nothing: what a summary built from other
    /// sources (merged logs, tests) fills in.
    pub fn empty(info: RunInfo) -> Summary {
        Summary {
            info,
            duration: Duration::ZERO,
            requests: 0,
            bytes_read: 0,
            status_codes: BTreeMap::new(),
            errors: ErrorCounts::default(),
            error_details: Vec::new(),
            checks: Vec::new(),
            check_details: Vec::new(),
            latency: latency_histogram(),
            service: latency_histogram(),
            ttfb: latency_histogram(),
            stream: Streaming::new(),
            connect: growing_histogram(),
            tls: None,
            rate: rate_histogram(),
            timeline: Vec::new(),
            by_name: Vec::new(),
            in_flight_at_end: 0,
            not_sent_at_end: 0,
            interrupted: false,
            aborted: None,
        }
    }

    /// Sequence steps not sent (an earlier step of their run failed to
    /// capture), over every name: sequences are always named.
    pub fn skipped(&self) -> u64 {
        self.by_name.iter().map(|n| n.skipped).sum()
    }

    pub fn rps(&self) -> f64 {
        let s = self.duration.as_secs_f64();
        if s > 0.0 {
            self.requests as f64 / s
        } else {
            0.0
        }
    }

    pub fn bytes_per_sec(&self) -> f64 {
        let s = self.duration.as_secs_f64();
        if s > 0.0 {
            self.bytes_read as f64 / s
        } else {
            0.0
        }
    }
}
