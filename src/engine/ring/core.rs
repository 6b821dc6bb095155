//! The ring runtime of this thread, reachable from its sockets, timers and
//! the `rt` facade: set by `block_on` for the length of the run.

use super::driver::Driver;
use super::exec::Exec;
use super::timer::Timers;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Instant;

pub(super) struct Core {
    pub exec: Exec,
    pub timers: RefCell<Timers>,
    pub driver: RefCell<Driver>,
}

thread_local! {
    pub(super) static CORE: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
    /// When the driver last reaped completions (set by `block_on` at its
    /// start and after each turn; None outside the runtime).
    pub(super) static REAPED: Cell<Option<Instant>> = const { Cell::new(None) };
}

pub(super) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    CORE.with(|c| c.borrow().as_deref().map(f))
}

/// Whether this thread runs the ring runtime (the `rt` facade asks).
pub fn active() -> bool {
    CORE.with(|c| c.borrow().is_some())
}

/// The time of the last reap: what the tasks it woke take as the time of
/// their completions, one clock reading for every completion of a turn
/// instead of one per read and per response. A completion is never older
/// than its reap, so a latency ends no earlier than the reap that saw it;
/// a request written by such a task is submitted at the next enter, after
/// this time, so one that starts here is counted no shorter either.
/// Outside the ring runtime: the clock.
pub fn now() -> Instant {
    REAPED.with(Cell::get).unwrap_or_else(Instant::now)
}

/// The driver of this thread's ring; only ring sockets call it, and they
/// exist only on a ring thread.
pub(super) fn driver<R>(f: impl FnOnce(&mut Driver) -> R) -> R {
    with_core(|c| f(&mut c.driver.borrow_mut())).expect("ring I/O outside the ring runtime")
}

pub(super) fn try_driver(f: impl FnOnce(&mut Driver)) {
    with_core(|c| f(&mut c.driver.borrow_mut()));
}
