//! Unit tests of the counters and the fault table.

use super::export::Frame;
use super::*;
use std::sync::{Arc, Mutex};

#[test]
fn fault_table_is_complete_and_ordered() {
    for (i, f) in Fault::ALL.iter().enumerate() {
        assert_eq!(*f as usize, i);
    }
}

#[test]
fn snapshot_moves_counts_and_resets() {
    let mut s = Stats::new();
    s.record_response(200, 100, 100);
    s.record_response(503, 300, 300);
    s.record_bytes(42);
    s.record_fault(Fault::ReadReset);
    let snap = s.take_snapshot(0, 0, Duration::from_secs(1));
    assert_eq!(snap.counts.requests, 2);
    assert_eq!(snap.counts.bytes, 42);
    assert_eq!(snap.status, vec![(200, 1), (503, 1)]);
    assert_eq!(snap.counts.faults[Fault::ReadReset as usize], 1);
    assert_eq!(snap.counts.latency.len(), 2);
    let next = s.take_snapshot(0, 1, Duration::from_secs(2));
    assert_eq!(next.counts.requests, 0);
    assert_eq!(next.counts.latency.len(), 0);
    assert!(next.status.is_empty());
}

#[test]
fn warmup_records_nothing() {
    let mut s = Stats::new();
    s.recording = false;
    s.record_response(200, 5, 5);
    s.record_fault(Fault::Timeout);
    assert_eq!(s.counts.requests, 0);
    assert_eq!(s.counts.faults[Fault::Timeout as usize], 0);
}

#[test]
fn error_classes_sum() {
    let mut f = [0u64; Fault::COUNT];
    f[Fault::ConnectRefused as usize] = 2;
    f[Fault::ReadEofMidBody as usize] = 3;
    f[Fault::ReadReset as usize] = 1;
    f[Fault::ParseChunk as usize] = 4;
    let e = ErrorCounts::from_faults(&f, 7);
    assert_eq!(
        e,
        ErrorCounts {
            connect: 2,
            read: 4,
            write: 0,
            timeout: 0,
            status: 7,
            parse: 4,
            tls: 0,
            check: 0,
            grpc: 0,
        }
    );
    assert_eq!(e.transport(), 10);
}

/// Keeps every frame the aggregator hands it.
struct Keep(Arc<Mutex<Vec<Frame>>>);

impl crate::stats::IntervalSink for Keep {
    fn interval(
        &mut self,
        _: Duration,
        _: Duration,
        _: &Histogram<u64>,
        _: &crate::stats::TimelinePoint,
        _: &[Histogram<u64>],
    ) {
    }

    fn wants_frames(&self) -> bool {
        true
    }

    fn frame(&mut self, f: Frame) {
        self.0.lock().unwrap().push(f);
    }
}

#[test]
fn a_frame_per_closed_second_and_the_last_equals_the_report() {
    use crate::stats::{aggregate::Aggregator, fixture::run_info, Fault, Stats};
    let frames = Arc::new(Mutex::new(Vec::new()));
    let mut agg = Aggregator::new(2, false);
    agg.sink = Some(Box::new(Keep(frames.clone())));
    for seq in 0..3u32 {
        for w in 0..2 {
            let mut s = Stats::new();
            s.record_response(200, 150, 150);
            s.record_response(503, 3_000, 3_000);
            s.record_fault(Fault::ReadReset);
            let mut snap = s.take_snapshot(w, seq, Duration::from_secs(seq as u64 + 1));
            (snap.open, snap.in_flight) = (5, 1);
            snap.last = seq == 2;
            agg.add(snap);
        }
    }
    let sum = agg.into_summary(run_info(), false);
    let frames = frames.lock().unwrap();
    // Each second as both workers have reported it, then the end's.
    assert_eq!(frames.len(), 4, "{frames:?}");
    assert_eq!((frames[0].connections, frames[0].in_flight), (10, 2));
    let last = frames.last().unwrap();
    assert!(last.done && !frames[0].done);
    let n = &last.names[0];
    let total: u64 = n.status.iter().map(|s| s.1).sum();
    assert_eq!(total, sum.requests);
    assert_eq!(n.errors, sum.errors);
    assert_eq!(n.latency.count, sum.latency.len());
    assert_eq!(last.bytes_read, sum.bytes_read);
    assert_eq!(n.status, vec![(200, 6), (503, 6)]);
}

#[test]
fn final_snapshot_takes_everything_and_stops_recording() {
    let mut s = Stats::new();
    s.record_response(200, 100, 100);
    let last = s.take_final_snapshot(0, 3, Duration::from_secs(4));
    assert_eq!((last.counts.requests, last.counts.latency.len()), (1, 1));
    // Full bounds, so the aggregator can add it to anything.
    assert_eq!(last.counts.latency.high(), Counts::new().latency.high());
    s.record_response(200, 3_600_000_000, 1);
    s.record_fault(Fault::Timeout);
    assert_eq!((s.counts.requests, s.counts.errors()), (0, 0));
}
