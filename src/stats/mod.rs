//! Per-thread statistics, the `Snapshot` workers send, the aggregator that
//! merges them (`aggregate`) into the run's `Summary` (`summary`), and what
//! is judged or broken down from it: the fault table (`fault`), statistics
//! per request name (`names`), streamed-response metrics (`stream`) and SLO
//! checks (`slo`); `histogram` holds the bounds every recorder shares.
//!
//! A worker owns one `Stats`; its connections record into it through a
//! `RefCell` on the same thread (a borrow flag, no lock, no atomic). Failures
//! on the hot path are counters indexed by `Fault`, never strings: the label of
//! a fault is only looked up when the report is written. Once per interval the
//! worker swaps its `Counts` out for empty ones (histograms of the same
//! bounds, handed back by the aggregator: `spare`) and ships them in a
//! `Snapshot`; nothing is sent per request.

pub mod abort;
pub mod aggregate;
pub mod checks;
pub mod export;
pub mod fault;
mod histogram;
pub mod names;
pub mod slo;
pub mod spare;
pub mod stream;
mod summary;

pub use aggregate::IntervalSink;
pub use checks::{CheckCounts, CheckSummary, CheckTally, CheckTotals, Judged};
pub use fault::{ErrorClass, ErrorCounts, Fault};
use histogram::add;
pub use histogram::{
    grow_record, growing_histogram, latency_histogram, rate_histogram, MAX_LATENCY_US, MAX_RATE,
};
pub use names::{NamePoint, NameSnapshot, NameStats, NameSummary};
pub use stream::Streaming;
pub use summary::{
    Cumulative, RunInfo, Summary, TimelinePoint, TlsInfo, TlsSummary, LOCUST_QUANTILES,
};

use hdrhistogram::Histogram;
use std::time::Duration;

/// Status codes are counted in a flat array indexed by code.
pub const STATUS_SLOTS: usize = 1000;

/// What a worker counts in one interval and the aggregator sums over
/// workers and intervals: the one list of the run's metrics. A new metric
/// is a field here, with its line in `new` and in `add`; the worker's
/// `Stats`, the `Snapshot` it ships and the aggregator's totals all carry
/// a `Counts`, so nothing else lists the fields.
pub struct Counts {
    /// From when the request was due (closed loop: written) to its last byte.
    pub latency: Histogram<u64>,
    /// From the actual write to the last byte (differs from `latency` under `-R`).
    pub service: Histogram<u64>,
    /// From when the request was due to the first byte of the response's
    /// body (or the end of a response without one).
    pub ttfb: Histogram<u64>,
    /// Server-Sent Events responses: TTFT, ITL, TPOT, tokens.
    pub stream: Streaming,
    pub connect: Histogram<u64>,
    /// TLS handshakes, and how many of them resumed a session.
    pub tls: Histogram<u64>,
    pub tls_resumed: u64,
    /// Per-thread requests/s samples (wrk's Req/Sec row).
    pub rate: Histogram<u64>,
    pub requests: u64,
    pub bytes: u64,
    pub faults: [u64; Fault::COUNT],
    /// Responses the worker judged failed by the status rule (the default
    /// 2xx/3xx, or a status check) and by a check: counted where the rule
    /// is applied, since a status check can make a 404 a success.
    pub status_errors: u64,
    pub check_errors: u64,
    /// gRPC calls that ended with a status other than OK.
    pub grpc_errors: u64,
}

impl Default for Counts {
    fn default() -> Self {
        Self::new()
    }
}

impl Counts {
    pub fn new() -> Self {
        Counts {
            latency: latency_histogram(),
            service: latency_histogram(),
            ttfb: latency_histogram(),
            stream: Streaming::new(),
            connect: growing_histogram(),
            tls: growing_histogram(),
            tls_resumed: 0,
            rate: rate_histogram(),
            requests: 0,
            bytes: 0,
            faults: [0; Fault::COUNT],
            status_errors: 0,
            check_errors: 0,
            grpc_errors: 0,
        }
    }

    /// What a worker's stats hold after the run's last snapshot, when
    /// nothing is recorded any more: histograms of a few bytes, where
    /// `new` would zero-fill some 1.6 MB at the end of every run.
    fn spent() -> Self {
        let tiny = || Histogram::new_with_bounds(1, 2, 0).expect("valid histogram bounds");
        Counts {
            latency: tiny(),
            service: tiny(),
            ttfb: tiny(),
            stream: Streaming::spent(),
            connect: tiny(),
            tls: tiny(),
            tls_resumed: 0,
            rate: tiny(),
            requests: 0,
            bytes: 0,
            faults: [0; Fault::COUNT],
            status_errors: 0,
            check_errors: 0,
            grpc_errors: 0,
        }
    }

    /// Sum `o` into these counts (HdrHistogram `add`, as wrk2's hdr_add).
    pub fn add(&mut self, o: &Counts) {
        add(&mut self.latency, &o.latency);
        add(&mut self.service, &o.service);
        add(&mut self.ttfb, &o.ttfb);
        self.stream.add(&o.stream);
        add(&mut self.connect, &o.connect);
        add(&mut self.tls, &o.tls);
        self.tls_resumed += o.tls_resumed;
        add(&mut self.rate, &o.rate);
        self.requests += o.requests;
        self.bytes += o.bytes;
        for (acc, n) in self.faults.iter_mut().zip(&o.faults) {
            *acc += n;
        }
        self.status_errors += o.status_errors;
        self.check_errors += o.check_errors;
        self.grpc_errors += o.grpc_errors;
    }

    /// Every failed request: transport faults, status and check failures.
    pub fn errors(&self) -> u64 {
        self.faults.iter().sum::<u64>() + self.status_errors + self.check_errors + self.grpc_errors
    }
}

/// One worker's counters. Lives on the worker thread; recorded into from its
/// connection tasks, drained into a `Snapshot` once per interval.
pub struct Stats {
    /// The interval's counts, held inline (no indirection per request).
    pub counts: Counts,
    /// Status codes in a flat array indexed by code: one add per response,
    /// shipped as the sparse list `Snapshot::status`.
    pub status: Box<[u64; STATUS_SLOTS]>,
    /// Per request name (empty unless the run has names).
    pub names: Vec<NameStats>,
    /// Per configured check (empty without checks).
    pub checks: CheckCounts,
    /// False during warm-up: nothing is counted.
    pub recording: bool,
}

/// The worker reads and records its counts as its own fields
/// (`stats.requests`, `stats.rate`): the engine's code did not change when
/// the counts moved into `Counts`. A field access either way, no pointer.
impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    pub fn new() -> Self {
        Stats {
            counts: Counts::new(),
            status: Box::new([0; STATUS_SLOTS]),
            names: Vec::new(),
            checks: CheckCounts::default(),
            recording: true,
        }
    }

    /// With statistics for `names` request names as well as the totals.
    pub fn with_names(names: usize) -> Self {
        let mut s = Self::new();
        s.names = (0..names).map(|_| NameStats::default()).collect();
        s
    }

    /// With a tally for each of `slots` configured checks.
    pub fn with_checks(mut self, slots: usize) -> Self {
        self.checks = CheckCounts::with_slots(slots);
        self
    }

    // The names say where a count goes: `record_X` into the run's totals
    // only; `record_name_X` for one request name only (its totals are
    // recorded apart: a response's with its service time, HTTP/2's bytes
    // per connection); `record_request_X` for one request, into the
    // totals and its name. Every one is a no-op during warm-up.

    /// A response to the request named `name` (no-op without names),
    /// judged `outcome`.
    #[inline]
    pub fn record_name_response(
        &mut self,
        name: u16,
        status: u16,
        outcome: Judged,
        latency_us: u64,
    ) {
        if self.recording {
            if let Some(n) = self.names.get_mut(name as usize) {
                n.record(status, outcome, latency_us);
            }
        }
    }

    /// One check of slot `slot` evaluated: passed or not.
    #[inline]
    pub fn record_check(&mut self, slot: usize, passed: bool) {
        if self.recording {
            if let Some(t) = self.checks.tally.get_mut(slot) {
                t.passes += u64::from(passed);
                t.fails += u64::from(!passed);
            }
        }
    }

    /// The check of slot `slot` was its request's first failure: the
    /// request's error detail.
    #[inline]
    pub fn record_check_first(&mut self, slot: usize) {
        if self.recording {
            if let Some(t) = self.checks.tally.get_mut(slot) {
                t.first += 1;
            }
        }
    }

    /// A `check` failure of the request named `name` whose detail is not a
    /// configured check (a stream's error event, a body over --max-body).
    pub fn record_check_detail(&mut self, name: u16, detail: &str) {
        if self.recording {
            self.checks.record_other(name, detail);
        }
    }

    /// A failure of the request named `name`, counted in the totals too.
    #[inline]
    pub fn record_request_fault(&mut self, name: u16, f: Fault) {
        self.record_fault(f);
        if self.recording {
            if let Some(n) = self.names.get_mut(name as usize) {
                n.faults[f as usize] += 1;
            }
        }
    }

    /// A sequence step not sent, since an earlier step of its run failed
    /// to capture: counted for its name, not as a request.
    pub fn record_skipped(&mut self, name: u16) {
        if self.recording {
            if let Some(n) = self.names.get_mut(name as usize) {
                n.skipped += 1;
            }
        }
    }

    /// Bytes read for the request named `name`, counted in the totals too.
    #[inline]
    pub fn record_request_bytes(&mut self, name: u16, bytes: usize) {
        self.record_bytes(bytes);
        self.record_name_bytes(name, bytes);
    }

    /// Bytes of the request named `name`, counted for the name only (HTTP/2
    /// counts the connection's bytes in the totals).
    #[inline]
    pub fn record_name_bytes(&mut self, name: u16, bytes: usize) {
        if self.recording {
            if let Some(n) = self.names.get_mut(name as usize) {
                n.bytes += bytes as u64;
            }
        }
    }

    /// One complete response, timed from when it was due and from its
    /// write (equal in closed loop), judged by the default status rule.
    #[inline]
    pub fn record_response(&mut self, status: u16, latency_us: u64, service_us: u64) {
        self.record_judged(status, Judged::of_status(status), latency_us, service_us);
    }

    /// `record_response` with the worker's verdict. Clamped into the
    /// histograms' range.
    #[inline]
    pub fn record_judged(
        &mut self,
        status: u16,
        outcome: Judged,
        latency_us: u64,
        service_us: u64,
    ) {
        if !self.recording {
            return;
        }
        self.counts.requests += 1;
        self.counts.status_errors += u64::from(outcome == Judged::Status);
        self.counts.check_errors += u64::from(outcome == Judged::Check);
        self.counts.grpc_errors += u64::from(outcome == Judged::Grpc);
        let slot = (status as usize).min(STATUS_SLOTS - 1);
        self.status[slot] += 1;
        // saturating_record never allocates: the per-request histograms do not
        // auto-resize (only the rarely recorded ones grow: `growing_histogram`).
        self.counts
            .latency
            .saturating_record(latency_us.clamp(1, MAX_LATENCY_US));
        self.counts
            .service
            .saturating_record(service_us.clamp(1, MAX_LATENCY_US));
    }

    /// `n` pipelined responses alike, completed by one read: named
    /// `name`, judged `outcome`, `latency_us` from their batch's write (also
    /// their service time), `ttfb` of them with that as their time to
    /// first byte too. What `n` calls of `record_judged`,
    /// `record_name_response` and `record_ttfb` would record.
    #[inline]
    pub fn record_piped(
        &mut self,
        name: u16,
        status: u16,
        outcome: Judged,
        us: u64,
        n: u64,
        ttfb: u64,
    ) {
        if !self.recording || n == 0 {
            return;
        }
        let c = &mut self.counts;
        c.requests += n;
        c.status_errors += n * u64::from(outcome == Judged::Status);
        c.check_errors += n * u64::from(outcome == Judged::Check);
        c.grpc_errors += n * u64::from(outcome == Judged::Grpc);
        self.status[(status as usize).min(STATUS_SLOTS - 1)] += n;
        let us = us.clamp(1, MAX_LATENCY_US);
        c.latency.saturating_record_n(us, n);
        c.service.saturating_record_n(us, n);
        if ttfb > 0 {
            c.ttfb.saturating_record_n(us, ttfb);
        }
        if let Some(s) = self.names.get_mut(name as usize) {
            s.record_n(status, outcome, us, n);
        }
    }

    /// Time to the first byte of a response's body, recorded as that byte
    /// arrives (before the response is complete).
    #[inline]
    pub fn record_ttfb(&mut self, ttfb_us: u64) {
        if self.recording {
            self.counts
                .ttfb
                .saturating_record(ttfb_us.clamp(1, MAX_LATENCY_US));
        }
    }

    /// Bytes read, in the totals only (HTTP/2: a connection's).
    #[inline]
    pub fn record_bytes(&mut self, n: usize) {
        if self.recording {
            self.counts.bytes += n as u64;
        }
    }

    /// A failure, in the totals only (HTTP/2: a connection's, no request's).
    #[inline]
    pub fn record_fault(&mut self, f: Fault) {
        if self.recording {
            self.counts.faults[f as usize] += 1;
        }
    }

    #[inline]
    pub fn record_connect(&mut self, us: u64) {
        if self.recording {
            grow_record(&mut self.counts.connect, us.clamp(1, MAX_LATENCY_US));
        }
    }

    #[inline]
    pub fn record_tls(&mut self, us: u64, resumed: bool) {
        if self.recording {
            grow_record(&mut self.counts.tls, us.clamp(1, MAX_LATENCY_US));
            self.counts.tls_resumed += u64::from(resumed);
        }
    }

    /// Drop everything counted so far (end of warm-up), in place: a fresh
    /// set would be 0.5 MB more for the kernel to zero.
    pub fn reset(&mut self) {
        self.counts.clear();
        self.status.fill(0);
        self.names.iter_mut().for_each(NameStats::reset);
        self.checks.reset();
    }

    /// Move the counts since the last snapshot into a message. Called once
    /// per interval, never per request.
    pub fn take_snapshot(&mut self, worker: usize, seq: u32, elapsed: Duration) -> Snapshot {
        // Empty counts with the same bounds take their place.
        self.snapshot_leaving(Counts::new(), worker, seq, elapsed)
    }

    /// The run's last snapshot: nothing is recorded after it, so what stays
    /// behind holds no histograms worth the name.
    pub fn take_final_snapshot(&mut self, worker: usize, seq: u32, elapsed: Duration) -> Snapshot {
        self.recording = false;
        self.snapshot_leaving(Counts::spent(), worker, seq, elapsed)
    }

    /// `take_snapshot`, leaving `left` (empty, of the same bounds: a set
    /// the aggregator handed back) in place of the counts it ships.
    pub fn snapshot_leaving(
        &mut self,
        left: Counts,
        worker: usize,
        seq: u32,
        elapsed: Duration,
    ) -> Snapshot {
        let mut status = Vec::new();
        for (code, n) in self.status.iter_mut().enumerate() {
            if *n > 0 {
                status.push((code as u16, *n));
                *n = 0;
            }
        }
        Snapshot {
            worker,
            seq,
            elapsed,
            counts: std::mem::replace(&mut self.counts, left),
            status,
            names: self.names.iter_mut().map(NameStats::take).collect(),
            checks: self.checks.take(),
            in_flight_at_end: 0,
            not_sent_at_end: 0,
            open: 0,
            in_flight: 0,
            last: false,
        }
    }
}

/// What a worker sends to the aggregator: the counts of one interval.
pub struct Snapshot {
    pub worker: usize,
    /// Interval number since the measured start (0 = first second).
    pub seq: u32,
    /// Time since the measured start at the end of this interval.
    pub elapsed: Duration,
    pub counts: Counts,
    /// The interval's status codes, (code, count), those seen only.
    pub status: Vec<(u16, u64)>,
    /// Per request name, in the mix's order (empty without names).
    pub names: Vec<NameSnapshot>,
    /// The interval's check outcomes (empty without checks).
    pub checks: CheckCounts,
    /// Set on the worker's last snapshot: requests written but unanswered.
    pub in_flight_at_end: u64,
    /// Set on the worker's last snapshot: paced requests due but never written.
    pub not_sent_at_end: u64,
    /// Open connections and requests in flight as the interval ended
    /// (read once per interval by the worker, never per request).
    pub open: u64,
    pub in_flight: u64,
    pub last: bool,
}

/// The worker reads what it ships as the snapshot's own fields
/// (`snap.requests`).
#[cfg(test)]
mod tests;

#[cfg(test)]
pub mod fixture;
