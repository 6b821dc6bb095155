//! The ring runtime of this thread, reachable from its sockets, timers and
//! the `rt` facade: set by `block_on` for the length of the run.

use super::driver::Driver;
use super::exec::Exec;
use super::timer::Timers;
use std::cell::RefCell;
use std::rc::Rc;

pub(super) struct Core {
    pub exec: Exec,
    pub timers: RefCell<Timers>,
    pub driver: RefCell<Driver>,
}

thread_local! {
    pub(super) static CORE: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

pub(super) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    CORE.with(|c| c.borrow().as_deref().map(f))
}

/// Whether this thread runs the ring runtime (the `rt` facade asks).
pub fn active() -> bool {
    CORE.with(|c| c.borrow().is_some())
}

/// The driver of this thread's ring; only ring sockets call it, and they
/// exist only on a ring thread.
pub(super) fn driver<R>(f: impl FnOnce(&mut Driver) -> R) -> R {
    with_core(|c| f(&mut c.driver.borrow_mut())).expect("ring I/O outside the ring runtime")
}

pub(super) fn try_driver(f: impl FnOnce(&mut Driver)) {
    with_core(|c| f(&mut c.driver.borrow_mut()));
}
