//! The target's request and connection counters, one per server thread.
//! A file of their own because three places bump or read them: the request
//! handler, the SSE stream (which counts its request when the last event
//! leaves) and the accept loop; `Target` sums them only when asked.

use std::sync::atomic::{AtomicU64, Ordering};

/// A counter alone on its own cache lines (128 bytes covers adjacent-line
/// prefetching), so per-thread increments never contend.
#[repr(align(128))]
#[derive(Default)]
pub(super) struct PaddedCounter(pub(super) AtomicU64);

/// Per-thread request and connection counters.
pub(super) struct Counters {
    pub(super) requests: Box<[PaddedCounter]>,
    pub(super) connections: Box<[PaddedCounter]>,
}

impl Counters {
    pub(super) fn new(threads: usize) -> Self {
        let make = || (0..threads).map(|_| PaddedCounter::default()).collect();
        Counters {
            requests: make(),
            connections: make(),
        }
    }

    pub(super) fn requests(&self) -> u64 {
        sum(&self.requests)
    }

    pub(super) fn connections(&self) -> u64 {
        sum(&self.connections)
    }
}

fn sum(counters: &[PaddedCounter]) -> u64 {
    counters.iter().map(|c| c.0.load(Ordering::Relaxed)).sum()
}
