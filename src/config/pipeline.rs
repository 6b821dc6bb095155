//! `--pipeline N`: which runs may pipeline HTTP/1.1, checked before a
//! thread starts. A batch is N requests written at once and answered in
//! order, so it needs a closed loop over keep-alive HTTP/1.1 whose
//! requests do not wait on each other's responses.

use super::cli::RunArgs;
use crate::engine::mix::{Mix, Think};
use crate::error::{usage, Error};

/// Most requests in one batch.
pub const MAX_DEPTH: u64 = 1024;

/// `--pipeline`'s value: 1 to `MAX_DEPTH`.
pub fn parse(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if (1..=MAX_DEPTH).contains(&n) => Ok(n),
        _ => Err(format!("must be a whole number from 1 to {MAX_DEPTH}")),
    }
}

/// The batch size of the run (1: no pipelining), or why the other flags
/// rule it out.
pub fn depth(a: &RunArgs, mix: &Mix) -> Result<u32, Error> {
    let n = a.load.pipeline.unwrap_or(1);
    if n <= 1 {
        return Ok(1);
    }
    let why = if a.request.http2 {
        "HTTP/1.1 only, not with --http2 (concurrent HTTP/2 streams are -m)"
    } else if a.load.rate.is_some() {
        "closed loop only, not with -R (a batch is written at once, not on a schedule)"
    } else if a.request.no_keepalive {
        "needs keep-alive, not --no-keepalive (a batch shares its connection)"
    } else if mix.lanes() {
        "not with captures or cookies (a request would need the response before it)"
    } else if mix.think != Think::None {
        "not with think times (a batch has no pause between its requests)"
    } else {
        return Ok(n as u32);
    };
    Err(usage(format!("--pipeline {n}: {why}")))
}
