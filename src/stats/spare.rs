//! Histogram sets handed back. A worker's interval `Counts` go to the
//! aggregator in a `Snapshot` each second; once merged they come back
//! cleared, for a later interval of any worker (every set has the same
//! bounds). A new set instead would be some 1.6 MB of fresh memory a
//! second per worker, zero-filled by the kernel page by page or by a
//! memset in the worker's own time: a set handed back stays mapped, and
//! the aggregator clears only the histograms that recorded something.

use super::{Counts, Streaming, MAX_LATENCY_US};
use crossbeam_channel::{Receiver, Sender};

/// Both ends of the return channel (one per run, in its `Startup`): the
/// aggregator gives, the workers take for each interval's snapshot. A
/// set is made only when none is waiting, so the sets in circulation stop
/// growing once every worker has one in hand and one on the way back.
#[derive(Clone)]
pub struct Spares {
    tx: Sender<Counts>,
    rx: Receiver<Counts>,
}

impl Default for Spares {
    fn default() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        Spares { tx, rx }
    }
}

impl Spares {
    /// A cleared set that came back, or a new one.
    pub fn take(&self) -> Counts {
        self.rx.try_recv().unwrap_or_else(|_| Counts::new())
    }

    /// Merged counts, to be taken again: cleared here, on the
    /// aggregator's thread. The spent counts a worker leaves behind after
    /// its last snapshot have other bounds and are not kept.
    pub fn give(&self, mut c: Counts) {
        if c.latency.high() == MAX_LATENCY_US {
            c.clear();
            let _ = self.tx.send(c);
        }
    }
}

impl Counts {
    /// What `new` makes, in place. Every field is named, so a new one
    /// cannot be forgotten here.
    pub(super) fn clear(&mut self) {
        let Counts {
            latency,
            service,
            ttfb,
            stream,
            connect,
            tls,
            tls_resumed,
            rate,
            requests,
            bytes,
            faults,
            status_errors,
            check_errors,
            grpc_errors,
        } = self;
        let Streaming {
            ttft,
            itl,
            tpot,
            tokens,
            responses,
            from_usage,
            good,
        } = stream;
        for h in [latency, service, ttfb, connect, tls, rate, ttft, itl, tpot] {
            // Nothing recorded (a count of 0) leaves every bucket at 0.
            if !h.is_empty() {
                h.reset();
            }
        }
        for n in [tls_resumed, requests, bytes, status_errors, check_errors] {
            *n = 0;
        }
        for n in [grpc_errors, tokens, responses, from_usage, good] {
            *n = 0;
        }
        faults.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Fault;

    #[test]
    fn a_set_given_back_is_taken_cleared() {
        let s = Spares::default();
        let mut c = s.take();
        c.latency.saturating_record(1234);
        crate::stats::grow_record(&mut c.stream.itl, 7);
        c.stream.tokens = 9;
        (c.requests, c.bytes, c.grpc_errors) = (1, 100, 2);
        c.faults[Fault::Timeout as usize] = 3;
        let at = c.latency.distinct_values();
        s.give(c);
        let c = s.take();
        assert_eq!(c.latency.distinct_values(), at);
        for h in [&c.latency, &c.stream.itl] {
            assert_eq!((h.len(), h.max(), h.min_nz()), (0, 0, u64::MAX));
            assert_eq!(h.iter_recorded().count(), 0);
        }
        assert_eq!(
            (c.requests, c.bytes, c.errors(), c.stream.tokens),
            (0, 0, 0, 0)
        );
        assert!(s.rx.is_empty());
    }

    #[test]
    fn spent_counts_are_not_kept() {
        let s = Spares::default();
        s.give(Counts::spent());
        assert!(s.rx.is_empty());
    }
}
