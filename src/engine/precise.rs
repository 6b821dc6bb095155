//! Waits finer than tokio's 1 ms timer ticks, for random arrivals: a tick
//! would round every send to a whole millisecond and blur gaps that are
//! often shorter (at 1000/s the coefficient of variation would read ~1.08,
//! not 1). Each wait arms a timerfd (nanoseconds, 50 us kernel slack)
//! taken from this worker thread's pool, so after the first waits nothing
//! is allocated; a wait cancelled midway drops its timer.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Instant;
use tokio::io::unix::AsyncFd;

struct TimerFd(OwnedFd);

impl AsRawFd for TimerFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

thread_local! {
    static POOL: RefCell<Vec<AsyncFd<TimerFd>>> = const { RefCell::new(Vec::new()) };
}

fn take() -> io::Result<AsyncFd<TimerFd>> {
    if let Some(t) = POOL.with(|p| p.borrow_mut().pop()) {
        return Ok(t);
    }
    // SAFETY: plain syscall; the fd is owned below.
    let fd = unsafe {
        libc::timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd that nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let readable = tokio::io::Interest::READABLE;
    // SAFETY: the timer owns its fd, which nothing replaces or closes
    // while the AsyncFd holds it.
    Ok(unsafe { AsyncFd::register_with_interest(TimerFd(owned), readable) }?)
}

/// Sleep until `at` (CLOCK_MONOTONIC, the clock of `Instant`).
pub async fn sleep_until(at: Instant) -> io::Result<()> {
    let now = Instant::now();
    if at <= now {
        return Ok(());
    }
    let t = take()?;
    let fd = t.get_ref().as_raw_fd();
    let d = at - now;
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: d.as_secs() as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        },
    };
    // SAFETY: a valid timerfd and a correctly sized struct.
    if unsafe { libc::timerfd_settime(fd, 0, &spec, std::ptr::null_mut()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    loop {
        let mut ready = t.readable().await?;
        let mut expired = 0u64;
        // SAFETY: reads 8 bytes into a u64.
        let n = unsafe { libc::read(fd, (&raw mut expired).cast(), 8) };
        // Drained either way: the next wait starts from a clean state.
        ready.clear_ready();
        if n == 8 {
            break;
        }
    }
    POOL.with(|p| p.borrow_mut().push(t));
    Ok(())
}
