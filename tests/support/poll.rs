//! Waiting for a condition instead of sleeping and hoping: a test polls what
//! it needs (a line printed, a request counted) until a deadline, so a busy
//! box only makes it slower, never wrong, and a condition that never comes
//! fails with a message instead of a later, stranger assertion.

use std::thread;
use std::time::{Duration, Instant};

/// Poll `cond` every few milliseconds until it holds; panic with `what` if
/// it still does not after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "waited {limit:?} for {what}, in vain"
        );
        thread::sleep(Duration::from_millis(5));
    }
}
