//! What the two kinds of HTTP/2 exchange (`h2conn`'s requests and
//! `grpccall`'s calls) tell their lane: how a stream ended, and the
//! connection it ran on.

use crate::proto::h2::{classify, io_fault, Failure};
use crate::stats::{Fault, Judged};
use std::cell::Cell;

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
