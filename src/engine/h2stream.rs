//! What the two kinds of HTTP/2 exchange (`h2conn`'s requests and
//! `grpccall`'s calls) tell their lane: how a stream ended, and the
//! connection it ran on.

use super::shared::{Shared, Slot};
use crate::proto::h2::{classify, io_fault, Failure};
use crate::stats::{Fault, Judged};
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// How one stream ended.
pub(super) enum Outcome {
    /// Complete, with its status; whether its time to first byte was
    /// taken; its verdict, where the exchange gave one (gRPC).
    Done(u16, bool, Option<Judged>),
    /// Not sent: the connection takes no new stream.
    NotSent,
    /// Not processed by the server: send again.
    Again,
    /// Cut with no answer on a connection that answered before: an idle
    /// close, as HTTP/1.1's stale connection. Send again on a new one.
    Stale,
    Failed(Fault),
}

/// One connection, as its lanes see it.
pub(super) struct Conn {
    /// Responses completed on it.
    pub answered: Cell<u64>,
    /// Whether it took any stream.
    pub sent: Cell<bool>,
}

/// A stream that failed with `e`; `answered`: after the response's head.
pub(super) fn failure(e: &::h2::Error, conn: &Conn, answered: bool) -> Outcome {
    match classify(e) {
        Failure::Unprocessed => Outcome::Again,
        Failure::Fault(f) => Outcome::Failed(f),
        Failure::Io(_) if !answered && conn.answered.get() > 0 => Outcome::Stale,
        Failure::Io(kind) => Outcome::Failed(io_fault(kind, answered)),
    }
}

/// A stream's time to first byte of the body, read lazily: a DATA frame
/// before the end only marks it due, and the clock is read when the
/// stream next waits. A response whose rest came in the same read never
/// waits: then the reading its end takes (the latency) serves, as it
/// would to the microsecond, and the call reads the clock once, not twice.
#[derive(Default)]
pub(super) struct FirstByte {
    due: bool,
    taken: bool,
}

impl FirstByte {
    /// Body bytes arrived.
    #[inline]
    pub fn arrived(&mut self) {
        self.due = !self.taken;
    }

    /// `p`, a poll of the stream: if it waits with a TTFB due, record it.
    #[inline]
    pub fn poll<T>(&mut self, w: &Shared, from: Instant, p: Poll<T>) -> Poll<T> {
        if self.due && p.is_pending() {
            self.due = false;
            self.taken = true;
            w.record_ttfb(from, Instant::now());
        }
        p
    }

    /// Recorded already (else the end records it with the latency).
    pub fn taken(&self) -> bool {
        self.taken
    }
}

/// A stream's answer, unless the worker's sweep finds its request older
/// than `--timeout` first (`Err(())`: a timeout). The sweep runs every
/// tick (100 ms, or a quarter of `--timeout` when that is shorter), as it
/// does for HTTP/1.1; a timer per stream would cost a registration and a
/// removal in tokio's timer wheel on every request.
pub(super) struct UnlessLate<'a, F> {
    pub f: F,
    pub slot: &'a Slot,
}

impl<F: Future> Future for UnlessLate<'_, F> {
    type Output = Result<F::Output, ()>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning: `f` is never moved out of `self`.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above.
        if let Poll::Ready(v) = unsafe { Pin::new_unchecked(&mut this.f) }.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        let slot = this.slot;
        if slot.timed_out.get() {
            return Poll::Ready(Err(()));
        }
        // The lane's waker stays in its slot from one request to the next.
        let waker = match slot.waker.take() {
            Some(w) if w.will_wake(cx.waker()) => w,
            _ => cx.waker().clone(),
        };
        slot.waker.set(Some(waker));
        Poll::Pending
    }
}
