//! Statistics per request name (a scenario's or targets file's requests),
//! kept beside the run totals only when the run has names.
//!
//! The per-name histograms hold 2 significant digits (1% resolution; Locust
//! itself rounds to 2 digits above 100 ms), so a thousand names cost a
//! worker about 24 MB rather than 190: the run totals keep 3 digits.

use super::checks::Judged;
use super::fault::{ErrorCounts, Fault};
use super::histogram::MAX_LATENCY_US;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::time::Duration;

pub fn name_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 2).expect("valid histogram bounds")
}

/// One name's counts on one worker, drained once per interval.
pub struct NameStats {
    pub latency: Histogram<u64>,
    pub requests: u64,
    pub bytes: u64,
    /// Steps not sent: an earlier step of their sequence run failed.
    pub skipped: u64,
    /// (status code, count); a handful per name, searched linearly.
    pub status: Vec<(u16, u64)>,
    pub faults: [u64; Fault::COUNT],
    /// As the worker judged them (see `Counts::status_errors`).
    pub status_errors: u64,
    pub check_errors: u64,
    pub grpc_errors: u64,
}

impl Default for NameStats {
    fn default() -> Self {
        NameStats {
            latency: name_histogram(),
            requests: 0,
            bytes: 0,
            skipped: 0,
            status: Vec::with_capacity(8),
            faults: [0; Fault::COUNT],
            status_errors: 0,
            check_errors: 0,
            grpc_errors: 0,
        }
    }
}

impl NameStats {
    #[inline]
    pub fn record(&mut self, status: u16, outcome: Judged, latency_us: u64) {
        self.record_n(status, outcome, latency_us, 1);
    }

    /// `n` responses alike (a pipelined read's).
    #[inline]
    pub fn record_n(&mut self, status: u16, outcome: Judged, latency_us: u64, n: u64) {
        self.requests += n;
        self.status_errors += n * u64::from(outcome == Judged::Status);
        self.check_errors += n * u64::from(outcome == Judged::Check);
        self.grpc_errors += n * u64::from(outcome == Judged::Grpc);
        match self.status.iter_mut().find(|(c, _)| *c == status) {
            Some((_, k)) => *k += n,
            None => self.status.push((status, n)),
        }
        self.latency
            .saturating_record_n(latency_us.clamp(1, MAX_LATENCY_US), n);
    }

    pub fn reset(&mut self) {
        self.latency.reset();
        self.requests = 0;
        self.bytes = 0;
        self.skipped = 0;
        self.status.iter_mut().for_each(|s| s.1 = 0);
        self.faults = [0; Fault::COUNT];
        self.status_errors = 0;
        self.check_errors = 0;
        self.grpc_errors = 0;
    }

    /// Move the counts since the last snapshot out.
    pub fn take(&mut self) -> NameSnapshot {
        let fresh = Histogram::new_from(&self.latency);
        let latency = std::mem::replace(&mut self.latency, fresh);
        let snap = NameSnapshot {
            requests: self.requests,
            bytes: self.bytes,
            skipped: self.skipped,
            status: self.status.iter().copied().filter(|s| s.1 > 0).collect(),
            faults: self.faults,
            status_errors: self.status_errors,
            check_errors: self.check_errors,
            grpc_errors: self.grpc_errors,
            latency,
        };
        self.reset();
        snap
    }
}

/// One name's counts of one interval, as a worker ships them.
pub struct NameSnapshot {
    pub requests: u64,
    pub bytes: u64,
    pub skipped: u64,
    pub status: Vec<(u16, u64)>,
    pub faults: [u64; Fault::COUNT],
    pub status_errors: u64,
    pub check_errors: u64,
    pub grpc_errors: u64,
    pub latency: Histogram<u64>,
}

/// One name over the whole run: what the reports show per name.
#[derive(Clone, Debug)]
pub struct NameSummary {
    pub name: String,
    /// Locust's "Type" column.
    pub method: String,
    pub requests: u64,
    pub bytes_read: u64,
    /// Sequence steps not sent (an earlier step of the run failed to
    /// capture): not requests, so in no other count.
    pub skipped: u64,
    pub status_codes: BTreeMap<u16, u64>,
    /// Transport errors under this name, status and check failures.
    pub errors: ErrorCounts,
    pub error_details: Vec<(Fault, u64)>,
    /// `check` failures by detail (the check's text), most first: Locust's
    /// `_failures.csv` rows for this name.
    pub check_details: Vec<(String, u64)>,
    /// From when each request was due to its last byte (2 digits).
    pub latency: Histogram<u64>,
}

impl NameSummary {
    pub fn new(name: &str, method: &str) -> Self {
        NameSummary {
            name: name.to_string(),
            method: method.to_string(),
            requests: 0,
            bytes_read: 0,
            skipped: 0,
            status_codes: BTreeMap::new(),
            errors: ErrorCounts::default(),
            error_details: Vec::new(),
            check_details: Vec::new(),
            latency: name_histogram(),
        }
    }

    pub fn rps(&self, duration: Duration) -> f64 {
        let s = duration.as_secs_f64();
        if s > 0.0 {
            self.requests as f64 / s
        } else {
            0.0
        }
    }

    /// Transport errors, status and check failures (Locust's failures).
    pub fn failures(&self) -> u64 {
        self.errors.total()
    }
}

/// One name in one second of the timeline.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NamePoint {
    pub requests: u64,
    pub errors: u64,
    pub p50_us: u64,
    pub p99_us: u64,
}

impl NameSummary {
    /// Add one worker's interval for this name.
    pub fn add(&mut self, s: &NameSnapshot) {
        self.requests += s.requests;
        self.bytes_read += s.bytes;
        self.skipped += s.skipped;
        for &(code, n) in &s.status {
            *self.status_codes.entry(code).or_default() += n;
        }
        let _ = self.latency.add(&s.latency);
        let mut faults = [0u64; Fault::COUNT];
        for (f, n) in &self.error_details {
            faults[*f as usize] = *n;
        }
        for (acc, n) in faults.iter_mut().zip(s.faults.iter()) {
            *acc += n;
        }
        self.error_details = Fault::ALL
            .iter()
            .zip(faults.iter())
            .filter(|(_, &n)| n > 0)
            .map(|(&f, &n)| (f, n))
            .collect();
        self.error_details
            .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let status_errors = self.errors.status + s.status_errors;
        let check_errors = self.errors.check + s.check_errors;
        let grpc_errors = self.errors.grpc + s.grpc_errors;
        self.errors = ErrorCounts::from_faults(&faults, status_errors);
        self.errors.check = check_errors;
        self.errors.grpc = grpc_errors;
    }
}

/// One name's counts in one open interval of the aggregator.
pub struct NameInterval {
    pub requests: u64,
    pub errors: u64,
    pub latency: Histogram<u64>,
}

impl Default for NameInterval {
    fn default() -> Self {
        NameInterval {
            requests: 0,
            errors: 0,
            latency: name_histogram(),
        }
    }
}

impl NameInterval {
    pub fn add(&mut self, s: &NameSnapshot) {
        self.requests += s.requests;
        self.errors +=
            s.faults.iter().sum::<u64>() + s.status_errors + s.check_errors + s.grpc_errors;
        let _ = self.latency.add(&s.latency);
    }

    pub fn point(&self) -> NamePoint {
        NamePoint {
            requests: self.requests,
            errors: self.errors,
            p50_us: self.latency.value_at_quantile(0.5),
            p99_us: self.latency.value_at_quantile(0.99),
        }
    }
}
