//! The aggregator: merges the workers' snapshots (HdrHistogram `add`, as
//! wrk2's hdr_add) into run totals and a per-second timeline, and drives the
//! live progress line. It runs on the main thread; workers never wait on it.

pub use crate::stats::abort::Judge;
use crate::stats::abort::Second;
use crate::stats::export::{Frame, Totals};
use crate::stats::names::NameInterval;
use crate::stats::{
    self, CheckTotals, Counts, Cumulative, ErrorCounts, Fault, NameSummary, RunInfo, Snapshot,
    Summary, TimelinePoint, TlsSummary,
};
use crate::units;
use crossbeam_channel::Receiver;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Receives each second's merged latency histogram as it closes
/// (`--hlog` writes it to an HdrHistogram interval log).
pub trait IntervalSink {
    /// `start` and `len` are relative to the measured start; `point` has
    /// the interval's counts.
    fn interval(
        &mut self,
        start: Duration,
        len: Duration,
        latency: &Histogram<u64>,
        point: &TimelinePoint,
        by_name: &[Histogram<u64>],
    );

    /// True for a sink that reads the run's running totals (`frame`).
    fn wants_frames(&self) -> bool {
        false
    }

    /// The run so far, after each closed second and once at the end
    /// (`done`): the live metrics read it.
    fn frame(&mut self, _frame: Frame) {}
}

/// One interval, summed over the workers that have reported it. Its
/// histogram is dropped once it closes (every worker has reported), so a
/// long run keeps a few numbers per second, not a histogram per second.
struct Interval {
    reports: usize,
    end: Duration,
    requests: u64,
    errors: u64,
    /// Transport errors (requests that ended with no response).
    transport: u64,
    bytes: u64,
    /// Output tokens of streamed responses.
    tokens: u64,
    /// Open connections and requests in flight, summed over the workers.
    gauges: (u64, u64),
    latency: Option<Histogram<u64>>,
    by_name: Vec<NameInterval>,
    point: Option<TimelinePoint>,
}

pub struct Aggregator {
    workers: usize,
    finished: usize,
    /// Every snapshot's counts, summed.
    totals: Counts,
    status: BTreeMap<u16, u64>,
    in_flight_at_end: u64,
    not_sent_at_end: u64,
    elapsed: Duration,
    intervals: BTreeMap<u32, Interval>,
    /// Progress printed up to this interval.
    shown: Option<u32>,
    progress: bool,
    /// Printed before the progress line (the step of `blast find`).
    pub label: String,
    /// Intervals before this one are closed (closing goes in order).
    next_close: u32,
    /// Everything closed so far, for the cumulative columns.
    closed: Histogram<u64>,
    closed_totals: Cumulative,
    closed_end: Duration,
    /// The last closed second's open connections and requests in flight.
    gauges: (u64, u64),
    pub sink: Option<Box<dyn IntervalSink>>,
    /// Per request name, in the mix's order: set by the caller for a run
    /// with names (empty otherwise).
    pub names: Vec<NameSummary>,
    /// The run's checks, one slot per (name, check): set by the caller for
    /// a run with checks (empty otherwise).
    pub checks: CheckTotals,
    /// `--abort-on-slo`: judges each second as it closes, and raises
    /// `halt` (the workers poll it) when the SLO broke.
    pub judge: Option<Judge>,
    pub halt: Option<Arc<AtomicBool>>,
    /// Where merged counts go back to the workers.
    pub spares: stats::spare::Spares,
}

impl Aggregator {
    pub fn new(workers: usize, progress: bool) -> Self {
        Aggregator {
            workers,
            finished: 0,
            totals: Counts::new(),
            status: BTreeMap::new(),
            in_flight_at_end: 0,
            not_sent_at_end: 0,
            elapsed: Duration::ZERO,
            intervals: BTreeMap::new(),
            shown: None,
            progress,
            label: String::new(),
            next_close: 0,
            closed: stats::latency_histogram(),
            closed_totals: Cumulative::default(),
            closed_end: Duration::ZERO,
            gauges: (0, 0),
            sink: None,
            names: Vec::new(),
            checks: CheckTotals::default(),
            judge: None,
            halt: None,
            spares: Default::default(),
        }
    }

    /// Receive until every worker has sent its last snapshot (or all senders
    /// are gone).
    pub fn collect(&mut self, rx: &Receiver<Snapshot>) {
        while self.finished < self.workers {
            match rx.recv() {
                Ok(s) => self.add(s),
                Err(_) => break,
            }
        }
        if self.progress {
            eprint!("\r\x1b[K");
        }
    }

    pub fn add(&mut self, s: Snapshot) {
        self.totals.add(&s.counts);
        for &(code, n) in &s.status {
            *self.status.entry(code).or_default() += n;
        }
        let errors = s.counts.errors();
        for (acc, n) in self.names.iter_mut().zip(&s.names) {
            acc.add(n);
        }
        self.checks.add(&s.checks);
        self.in_flight_at_end += s.in_flight_at_end;
        self.not_sent_at_end += s.not_sent_at_end;
        self.elapsed = self.elapsed.max(s.elapsed);
        if s.last {
            self.finished += 1;
        }
        if s.last && s.counts.requests == 0 && errors == 0 {
            return; // an empty tail adds nothing to the timeline
        }
        let iv = self.intervals.entry(s.seq).or_insert_with(|| Interval {
            reports: 0,
            end: Duration::ZERO,
            requests: 0,
            errors: 0,
            transport: 0,
            bytes: 0,
            tokens: 0,
            gauges: (0, 0),
            latency: Some(stats::latency_histogram()),
            by_name: Vec::new(),
            point: None,
        });
        iv.reports += 1;
        iv.end = iv.end.max(s.elapsed);
        iv.requests += s.counts.requests;
        iv.errors += errors;
        iv.transport += s.counts.faults.iter().sum::<u64>();
        iv.bytes += s.counts.bytes;
        iv.tokens += s.counts.stream.tokens;
        iv.gauges.0 += s.open;
        iv.gauges.1 += s.in_flight;
        if let Some(h) = &mut iv.latency {
            let _ = h.add(&s.counts.latency);
        }
        if iv.by_name.len() < s.names.len() {
            iv.by_name.resize_with(s.names.len(), NameInterval::default);
        }
        for (acc, n) in iv.by_name.iter_mut().zip(&s.names) {
            acc.add(n);
        }
        self.spares.give(s.counts);
        let complete = iv.reports == self.workers;
        let closed = self.next_close;
        self.close_ready(false);
        if self.next_close > closed {
            self.publish(false);
        }
        if complete && self.progress && self.shown.is_none_or(|k| k < s.seq) {
            self.shown = Some(s.seq);
            self.print_progress(s.seq);
        }
    }

    /// Close intervals in order: every worker has reported them (or, at the
    /// end, `all`). Computes the timeline point and hands the histogram to
    /// the sink before dropping it.
    fn close_ready(&mut self, all: bool) {
        while let Some(iv) = self.intervals.get_mut(&self.next_close) {
            if !(all || iv.reports == self.workers) {
                break;
            }
            self.next_close += 1;
            let Some(h) = iv.latency.take() else { continue };
            let start = self.closed_end;
            let len = iv.end.saturating_sub(start);
            let _ = self.closed.add(&h);
            let t = &mut self.closed_totals;
            t.requests += iv.requests;
            t.errors += iv.errors;
            t.bytes += iv.bytes;
            if !self.closed.is_empty() {
                t.p50_us = self.closed.value_at_quantile(0.5);
                t.mean_us = self.closed.mean();
                t.min_us = self.closed.min();
                t.max_us = self.closed.max();
            }
            let secs = len.as_secs_f64();
            let point = TimelinePoint {
                t_s: iv.end.as_secs_f64(),
                requests: iv.requests,
                rps: if secs > 0.0 {
                    iv.requests as f64 / secs
                } else {
                    0.0
                },
                p50_us: h.value_at_quantile(0.5),
                p99_us: h.value_at_quantile(0.99),
                errors: iv.errors,
                bytes: iv.bytes,
                quantiles_us: stats::LOCUST_QUANTILES.map(|q| h.value_at_quantile(q)),
                total: t.clone(),
                by_name: iv.by_name.iter().map(NameInterval::point).collect(),
                output_tokens: iv.tokens,
            };
            if let Some(sink) = &mut self.sink {
                let by_name: Vec<Histogram<u64>> =
                    iv.by_name.iter().map(|n| n.latency.clone()).collect();
                sink.interval(start, len, &h, &point, &by_name);
            }
            // A sliver of a second at the end is too short to judge (and a
            // stop there would stop nothing): the run's totals judge it.
            if let Some(judge) = self.judge.as_mut().filter(|_| secs >= 0.5) {
                let second = Second {
                    start_s: start.as_secs_f64(),
                    len_s: secs,
                    responses: iv.requests,
                    failed: iv.errors,
                    transport: iv.transport,
                    latency: &h,
                };
                if judge.second(&second) {
                    if let Some(halt) = &self.halt {
                        halt.store(true, Ordering::Relaxed);
                    }
                }
            }
            iv.by_name = Vec::new();
            iv.point = Some(point);
            self.closed_end = iv.end;
            self.gauges = iv.gauges;
        }
    }

    /// Hand the running totals to a sink that reads them.
    fn publish(&mut self, done: bool) {
        let Some(sink) = self.sink.as_mut().filter(|s| s.wants_frames()) else {
            return;
        };
        let totals = Totals {
            counts: &self.totals,
            status: &self.status,
            names: &self.names,
            elapsed: self.elapsed,
            gauges: if done { (0, 0) } else { self.gauges },
        };
        sink.frame(Frame::build(&totals, done));
    }

    fn print_progress(&self, seq: u32) {
        let Some(iv) = self.intervals.get(&seq) else {
            return;
        };
        let Some(point) = &iv.point else {
            return;
        };
        let errors: u64 = self.intervals.values().map(|i| i.errors).sum();
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[K{}[{:>5.1}s] {} requests, {} req/s, p99 {}, {} errors",
            self.label,
            iv.end.as_secs_f64(),
            self.totals.requests,
            units::format_metric(point.rps),
            units::format_time_us(point.p99_us as f64),
            errors
        );
        let _ = err.flush();
    }

    pub fn into_summary(mut self, info: RunInfo, interrupted: bool) -> Summary {
        self.close_ready(true);
        self.publish(true);
        let mut details: Vec<(Fault, u64)> = Fault::ALL
            .iter()
            .zip(self.totals.faults.iter())
            .filter(|(_, &n)| n > 0)
            .map(|(&f, &n)| (f, n))
            .collect();
        details.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let timeline = self
            .intervals
            .into_values()
            .filter_map(|iv| iv.point)
            .collect();
        let t = self.totals;
        let mut errors = ErrorCounts::from_faults(&t.faults, t.status_errors);
        errors.check = t.check_errors;
        errors.grpc = t.grpc_errors;
        let names: Vec<String> = self.names.iter().map(|n| n.name.clone()).collect();
        let mut by_name = self.names;
        for (i, n) in by_name.iter_mut().enumerate() {
            n.check_details = self.checks.details(Some(i as u16));
        }
        let aborted = self.judge.and_then(|j| j.broke);
        Summary {
            info,
            duration: self.elapsed,
            requests: t.requests,
            bytes_read: t.bytes,
            status_codes: self.status,
            errors,
            error_details: details,
            checks: self.checks.summaries(&names),
            check_details: self.checks.details(None),
            latency: t.latency,
            service: t.service,
            ttfb: t.ttfb,
            stream: t.stream,
            connect: t.connect,
            tls: (!t.tls.is_empty()).then_some(TlsSummary {
                info: None,
                handshake: t.tls,
                resumed: t.tls_resumed,
            }),
            rate: t.rate,
            timeline,
            by_name,
            in_flight_at_end: self.in_flight_at_end,
            not_sent_at_end: self.not_sent_at_end,
            interrupted,
            aborted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::fixture::run_info;
    use crate::stats::Stats;

    fn info() -> RunInfo {
        RunInfo {
            url: "http://127.0.0.1:1/".into(),
            connections: 2,
            duration_s: Some(2.0),
            ..run_info()
        }
    }

    #[test]
    fn merges_workers_and_builds_timeline() {
        let mut agg = Aggregator::new(2, false);
        for w in 0..2 {
            let mut s = Stats::new();
            for v in 1..=100 {
                s.record_response(200, v * 10, v * 10);
            }
            s.record_response(500, 5000, 5000);
            s.record_fault(Fault::ReadReset);
            s.record_bytes(1000);
            agg.add(s.take_snapshot(w, 0, Duration::from_secs(1)));
            s.record_response(200, 7, 7);
            let mut last = s.take_snapshot(w, 1, Duration::from_millis(1500));
            last.last = true;
            last.in_flight_at_end = 3;
            agg.add(last);
        }
        let sum = agg.into_summary(info(), false);
        assert_eq!(sum.requests, 2 * 102);
        assert_eq!(sum.bytes_read, 2000);
        assert_eq!(sum.status_codes.get(&200), Some(&202));
        assert_eq!(sum.status_codes.get(&500), Some(&2));
        assert_eq!(sum.errors.status, 2);
        assert_eq!(sum.errors.read, 2);
        assert_eq!(sum.error_details, vec![(Fault::ReadReset, 2)]);
        assert_eq!(sum.in_flight_at_end, 6);
        assert_eq!(sum.duration, Duration::from_millis(1500));
        assert_eq!(sum.latency.len(), 204);
        assert_eq!(sum.timeline.len(), 2);
        assert_eq!(sum.timeline[0].requests, 202);
        assert_eq!(sum.timeline[0].errors, 4);
        // 2 x (10, 20, .. 1000 us) and 2 x 5000 us: the 101st of 202 is 510 us.
        assert_eq!(sum.timeline[0].p50_us, 510);
        assert_eq!(sum.timeline[0].p99_us, 1000);
        assert_eq!(sum.timeline[1].p50_us, 7);
        assert_eq!(sum.timeline[1].requests, 2);
        assert!((sum.timeline[1].rps - 4.0).abs() < 1e-9);
        assert!(sum.timeline.iter().all(|p| p.output_tokens == 0));
    }

    #[test]
    fn timeline_counts_output_tokens_per_second() {
        let mut agg = Aggregator::new(2, false);
        for w in 0..2 {
            let mut s = Stats::new();
            s.record_response(200, 1000, 1000);
            s.counts.stream.record(500, Some(20), 30, true, false);
            agg.add(s.take_snapshot(w, 0, Duration::from_secs(1)));
            s.record_response(200, 1000, 1000);
            s.counts
                .stream
                .record(500, Some(20), 7 + w as u64, false, false);
            let mut last = s.take_snapshot(w, 1, Duration::from_secs(2));
            last.last = true;
            agg.add(last);
        }
        let sum = agg.into_summary(info(), false);
        let tokens: Vec<u64> = sum.timeline.iter().map(|p| p.output_tokens).collect();
        assert_eq!(tokens, [60, 15]);
        assert_eq!(sum.stream.tokens, 75);
    }

    #[test]
    fn abort_judge_raises_halt_after_grace_failing_seconds() {
        use crate::stats::abort::AbortRule;
        use crate::stats::slo::Slo;
        let mut agg = Aggregator::new(1, false);
        let halt = Arc::new(AtomicBool::new(false));
        agg.halt = Some(halt.clone());
        agg.judge = Some(Judge::new(AbortRule {
            slo: Slo::parse("errors<1%").unwrap(),
            grace_s: 2,
        }));
        let mut s = Stats::new();
        for (seq, bad) in [(0u32, 0u64), (1, 10), (2, 10)] {
            for _ in 0..90 {
                s.record_response(200, 1000, 1000);
            }
            for _ in 0..bad {
                s.record_response(500, 1000, 1000);
            }
            assert!(!halt.load(Ordering::Relaxed), "second {seq}");
            agg.add(s.take_snapshot(0, seq, Duration::from_secs(seq as u64 + 1)));
        }
        assert!(halt.load(Ordering::Relaxed));
        let sum = agg.into_summary(info(), false);
        let a = sum.aborted.unwrap();
        assert_eq!((a.at_s, a.condition.text.as_str()), (1.0, "errors<1%"));
        assert_eq!(a.value, 10.0);
        assert!(!sum.interrupted);
    }

    #[test]
    fn merged_percentiles_equal_one_histogram() {
        let mut agg = Aggregator::new(3, false);
        let mut all = stats::latency_histogram();
        for w in 0..3u64 {
            let mut s = Stats::new();
            for v in 0..1000u64 {
                let us = 1 + (v * 7919 + w * 104729) % 50_000;
                s.record_response(200, us, us);
                all.record(us).unwrap();
            }
            let mut snap = s.take_snapshot(w as usize, 0, Duration::from_secs(1));
            snap.last = true;
            agg.add(snap);
        }
        let sum = agg.into_summary(info(), false);
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(sum.latency.value_at_quantile(q), all.value_at_quantile(q));
        }
    }
}
