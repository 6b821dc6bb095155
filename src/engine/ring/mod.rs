//! The ring engine: a per-core runtime that owns its io_uring (through the
//! `io-uring` crate, raw `io_uring_enter`/`io_uring_register` where 0.6 has
//! no wrapper). One thread runs it: an executor for the worker's local
//! tasks (`exec`), timers (`timer`), the ring (`driver`, over the provided
//! buffer ring of `bufring`), and the sockets behind `Transport` (`sock`), also as a byte stream for
//! HTTP/2 (`stream`).
//!
//! Its loop: run the ready tasks, then ONE `io_uring_enter` that submits
//! everything they queued and waits for a batch of completions (as many as
//! the recent rate brings within the bound), bounded by the next timer and
//! (kernel 6.12+) by a min-wait after the first, then dispatch every
//! completion. A completion's time is the time it was reaped (`now`, one
//! clock reading per turn), so a batch wait adds at most its bound to the
//! latencies it holds, and the tasks that run after it none.

mod bufring;
mod core;
mod driver;
mod exec;
mod sock;
mod socks;
mod stream;
mod timer;

pub use driver::Batch;
pub use sock::Conn;
pub use stream::Stream;

pub use self::core::{active, now};
use self::core::{with_core, Core, CORE, REAPED};
use driver::Driver;
use exec::Exec;
use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;
use timer::{Key, Timers};

/// Completions one wait asks for at most, and how long (µs) it waits for
/// more once one is there: the bound a batch adds to a latency at most
/// (docs/performance.md has what was measured).
pub const BATCH: Batch = Batch {
    batch: 16,
    wait_us: 5,
};

impl Batch {
    /// `BATCH`, or what BLAST_RING_BATCH (`N` or `N/US`) sets: a knob for
    /// the measurements of docs/performance.md, not a user setting.
    pub fn from_env() -> Batch {
        let Ok(v) = std::env::var("BLAST_RING_BATCH") else {
            return BATCH;
        };
        let (n, us) = v.split_once('/').unwrap_or((&v, ""));
        Batch {
            batch: n.parse().unwrap_or(BATCH.batch).max(1),
            wait_us: us.parse().unwrap_or(BATCH.wait_us),
        }
    }
}

pub struct Runtime {
    core: Rc<Core>,
}

impl Runtime {
    /// A ring for `connections`; an error when the kernel lacks what the
    /// engine needs (EXT_ARG 5.11, buffer rings 5.19, multishot receive
    /// 6.0), and the caller falls back to the tokio-uring engine.
    pub fn new(connections: u64, batch: Batch) -> io::Result<Runtime> {
        Ok(Runtime {
            core: Rc::new(Core {
                exec: Exec::new(),
                timers: RefCell::new(Timers::default()),
                driver: RefCell::new(Driver::new(connections, batch)?),
            }),
        })
    }

    /// The kernel features the ring uses, joined with '+'.
    pub fn features(&self) -> String {
        self.core.driver.borrow().features.join("+")
    }
}

/// Spawn a task on this thread's ring runtime.
pub fn spawn_local(f: impl Future<Output = ()> + 'static) {
    with_core(|c| c.exec.spawn(f)).expect("spawn_local outside the ring runtime");
}

/// Run `f` and every task it spawns until `f` completes; then drop the
/// remaining tasks (closing their sockets) before the ring goes.
pub fn block_on<F: Future + 'static>(rt: &Runtime, f: F) -> F::Output {
    let out = Rc::new(RefCell::new(None));
    let o = out.clone();
    CORE.with(|c| *c.borrow_mut() = Some(rt.core.clone()));
    REAPED.with(|r| r.set(Some(Instant::now())));
    let core = &rt.core;
    core.exec.spawn(async move {
        let v = f.await;
        *o.borrow_mut() = Some(v);
    });
    loop {
        core.exec.run_ready();
        if out.borrow().is_some() {
            break;
        }
        let now = Instant::now();
        core.timers.borrow_mut().fire(now);
        let (wait, timeout) = if core.exec.has_ready() {
            (false, None)
        } else {
            let next = core.timers.borrow_mut().next();
            (true, next.map(|t| t.saturating_duration_since(now)))
        };
        match core.driver.borrow_mut().turn(wait, timeout) {
            Ok(reaped) => REAPED.with(|r| r.set(Some(reaped))),
            // Only a broken ring gets here (EFAULT, EBADF): nothing to recover.
            Err(e) => panic!("blast: io_uring_enter failed: {e}"),
        }
    }
    core.exec.shutdown();
    CORE.with(|c| *c.borrow_mut() = None);
    REAPED.with(|r| r.set(None));
    let v = out.borrow_mut().take();
    v.expect("the main task finished")
}

/// A timer of the ring runtime: ready at `at`, to the ring wait's precision.
pub struct Sleep {
    at: Instant,
    key: Option<Key>,
}

pub fn sleep_until(at: Instant) -> Sleep {
    Sleep { at, key: None }
}

impl Sleep {
    pub fn deadline(&self) -> Instant {
        self.at
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            if let Some(k) = self.key.take() {
                with_core(|c| c.timers.borrow_mut().remove(k));
            }
            return Poll::Ready(());
        }
        let at = self.at;
        let key = self.key;
        let k = with_core(|c| {
            let mut t = c.timers.borrow_mut();
            match key {
                Some(k) => {
                    t.update(k, cx.waker());
                    k
                }
                None => t.insert(at, cx.waker().clone()),
            }
        });
        self.key = k;
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            with_core(|c| c.timers.borrow_mut().remove(k));
        }
    }
}
