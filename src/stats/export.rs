//! The run's state as live metrics read it (`--metrics-listen`,
//! `--prometheus-remote-write`, `blast serve`'s `/metrics`): a `Frame` the
//! aggregator builds from what it already merged, once per closed second
//! and once at the end, and a `Board` that holds the latest one for the
//! threads that read it. The workers do nothing new: a frame is built from
//! the aggregator's running totals (its per-name and streaming
//! HdrHistograms, already merged), on the aggregator's thread.
//!
//! Histograms leave as fixed cumulative buckets (`BUCKETS_US`, a 1-2-5
//! series from 100 µs to 50 s, then 60 s), counted exactly from the
//! HdrHistogram: a recorded value counts under every bound at or above it,
//! taking the value as the report's percentiles do (the highest value
//! equivalent to its HdrHistogram bucket).

use super::{ErrorCounts, NameSummary};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The upper bounds of every exported histogram's buckets, microseconds
/// (`+Inf` follows).
pub const BUCKETS_US: [u64; 19] = [
    100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
    1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000, 50_000_000, 60_000_000,
];

/// One histogram as cumulative bucket counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Buckets {
    /// `cumulative[i]`: values at or under `BUCKETS_US[i]`.
    pub cumulative: [u64; BUCKETS_US.len()],
    pub count: u64,
    /// The sum of the values, seconds.
    pub sum_s: f64,
}

impl Buckets {
    pub fn of(h: &Histogram<u64>) -> Buckets {
        let mut b = Buckets::default();
        let mut sum_us = 0u128;
        for v in h.iter_recorded() {
            let (value, n) = (v.value_iterated_to(), v.count_at_value());
            sum_us += u128::from(value) * u128::from(n);
            b.count += n;
            let first = BUCKETS_US.partition_point(|&le| le < value);
            if let Some(slot) = b.cumulative.get_mut(first) {
                *slot += n;
            }
        }
        for i in 1..b.cumulative.len() {
            b.cumulative[i] += b.cumulative[i - 1];
        }
        b.sum_s = sum_us as f64 / 1e6;
        b
    }
}

/// One request name's (or, for a run without names, the run's) counts.
#[derive(Clone, Debug, PartialEq)]
pub struct NameFrame {
    /// None for a run without names: the exporter names it by its URL.
    pub name: Option<String>,
    pub method: Option<String>,
    /// Responses by status code.
    pub status: Vec<(u16, u64)>,
    pub errors: ErrorCounts,
    pub latency: Buckets,
}

/// The run so far, as the metrics show it (the default: nothing yet).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Frame {
    /// Measured time so far.
    pub elapsed: Duration,
    /// The run's last frame: its counters equal the report's.
    pub done: bool,
    pub names: Vec<NameFrame>,
    /// Errors no request owns (an HTTP/2 connection's faults), by kind.
    pub unowned: ErrorCounts,
    pub bytes_read: u64,
    /// Streamed responses seen (0: the run did not stream).
    pub streamed: u64,
    pub tokens: u64,
    pub ttft: Buckets,
    pub itl: Buckets,
    /// Open connections and requests in flight over the workers, at the
    /// end of the last closed second.
    pub connections: u64,
    pub in_flight: u64,
}

/// What the aggregator hands `Frame::build`: its running totals.
pub struct Totals<'a> {
    pub counts: &'a super::Counts,
    pub status: &'a BTreeMap<u16, u64>,
    pub names: &'a [NameSummary],
    pub elapsed: Duration,
    pub gauges: (u64, u64),
}

impl Frame {
    pub fn build(t: &Totals, done: bool) -> Frame {
        let c = t.counts;
        let mut all = ErrorCounts::from_faults(&c.faults, c.status_errors);
        all.check = c.check_errors;
        let names: Vec<NameFrame> = if t.names.is_empty() {
            vec![NameFrame {
                name: None,
                method: None,
                status: t.status.iter().map(|(&k, &n)| (k, n)).collect(),
                errors: all,
                latency: Buckets::of(&c.latency),
            }]
        } else {
            t.names
                .iter()
                .map(|n| NameFrame {
                    name: Some(n.name.clone()),
                    method: Some(n.method.clone()),
                    status: n.status_codes.iter().map(|(&k, &n)| (k, n)).collect(),
                    errors: n.errors,
                    latency: Buckets::of(&n.latency),
                })
                .collect()
        };
        let owned = names.iter().fold(ErrorCounts::default(), |acc, n| {
            let e = &n.errors;
            ErrorCounts {
                connect: acc.connect + e.connect,
                read: acc.read + e.read,
                write: acc.write + e.write,
                timeout: acc.timeout + e.timeout,
                status: acc.status + e.status,
                parse: acc.parse + e.parse,
                tls: acc.tls + e.tls,
                check: acc.check + e.check,
                grpc: acc.grpc + e.grpc,
            }
        });
        let unowned = ErrorCounts {
            connect: all.connect.saturating_sub(owned.connect),
            read: all.read.saturating_sub(owned.read),
            write: all.write.saturating_sub(owned.write),
            timeout: all.timeout.saturating_sub(owned.timeout),
            status: all.status.saturating_sub(owned.status),
            parse: all.parse.saturating_sub(owned.parse),
            tls: all.tls.saturating_sub(owned.tls),
            check: all.check.saturating_sub(owned.check),
            grpc: all.grpc.saturating_sub(owned.grpc),
        };
        Frame {
            elapsed: t.elapsed,
            done,
            names,
            unowned,
            bytes_read: c.bytes,
            streamed: c.stream.responses,
            tokens: c.stream.tokens,
            ttft: Buckets::of(&c.stream.ttft),
            itl: Buckets::of(&c.stream.itl),
            connections: t.gauges.0,
            in_flight: t.gauges.1,
        }
    }
}

/// The error kinds, as the report names them, with their counts.
pub fn kinds(e: &ErrorCounts) -> [(&'static str, u64); 9] {
    [
        ("connect", e.connect),
        ("read", e.read),
        ("write", e.write),
        ("timeout", e.timeout),
        ("status", e.status),
        ("parse", e.parse),
        ("tls", e.tls),
        ("check", e.check),
        ("grpc", e.grpc),
    ]
}

/// The latest frame of a run, shared by the aggregator (which publishes)
/// and whatever reads it (a listener, a pusher): one lock, taken once a
/// second by each side, never by a worker.
#[derive(Default)]
pub struct Board {
    /// How many frames were published, and the last.
    latest: Mutex<(u64, Arc<Frame>)>,
}

impl Board {
    pub fn publish(&self, f: Frame) {
        let mut l = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        *l = (l.0 + 1, Arc::new(f));
    }

    /// The last frame (an empty one before the first second closes) and
    /// its number (0: none yet).
    pub fn latest(&self) -> (u64, Arc<Frame>) {
        self.latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_count_values_at_or_under_each_bound() {
        let mut h = super::super::latency_histogram();
        for us in [50, 100, 101, 1_000, 70_000_000] {
            h.record(us.min(super::super::MAX_LATENCY_US)).unwrap();
        }
        let b = Buckets::of(&h);
        assert_eq!(b.count, 5);
        assert_eq!(b.cumulative[0], 2, "50 and 100 us are <= 100 us");
        assert_eq!(b.cumulative[1], 3);
        assert_eq!(b.cumulative[3], 4, "1 ms");
        assert_eq!(
            b.cumulative[BUCKETS_US.len() - 1],
            4,
            "over 60 s: +Inf only"
        );
    }
}
