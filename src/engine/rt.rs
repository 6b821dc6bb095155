//! The runtime facade for code the engines share: timers, timeouts and
//! `spawn_local` go to the ring runtime on a ring worker thread and to
//! tokio everywhere else (the epoll and tokio-uring engines, HTTP/2, tests).
//! The names are tokio's, so shared code reads as it did.

use super::ring;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A sleep on whichever runtime this thread runs.
pub enum Sleep {
    Tokio(tokio::time::Sleep),
    Ring(ring::Sleep),
}

pub fn sleep_until(at: Instant) -> Sleep {
    if ring::active() {
        Sleep::Ring(ring::sleep_until(at))
    } else {
        Sleep::Tokio(tokio::time::sleep_until(at.into()))
    }
}

pub fn sleep(d: Duration) -> Sleep {
    sleep_until(Instant::now() + d)
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: structural pinning: neither variant is moved out of the
        // pinned enum, and the enum is never moved once pinned.
        unsafe {
            match self.get_unchecked_mut() {
                Sleep::Tokio(s) => Pin::new_unchecked(s).poll(cx),
                Sleep::Ring(s) => Pin::new_unchecked(s).poll(cx),
            }
        }
    }
}

/// The deadline passed before the future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

/// `f`, unless `deadline` comes first.
pub struct Timeout<F> {
    f: F,
    sleep: Sleep,
}

pub fn timeout_at<F: Future>(deadline: Instant, f: F) -> Timeout<F> {
    Timeout {
        f,
        sleep: sleep_until(deadline),
    }
}

pub fn timeout<F: Future>(d: Duration, f: F) -> Timeout<F> {
    timeout_at(Instant::now() + d, f)
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of both fields, as for `Sleep`.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: `f` is pinned with `self` and never moved.
        if let Poll::Ready(v) = unsafe { Pin::new_unchecked(&mut this.f) }.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        // SAFETY: as above, for the sleep.
        match unsafe { Pin::new_unchecked(&mut this.sleep) }.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Run `f` as a task of this thread's runtime (a tokio `LocalSet`, or the ring).
pub fn spawn_local(f: impl Future<Output = ()> + 'static) {
    if ring::active() {
        ring::spawn_local(f);
    } else {
        tokio::task::spawn_local(f);
    }
}

/// Sleep until `at` to the microsecond, for random arrivals: the ring's
/// timers are that precise already; tokio's tick is 1 ms, so there a
/// timerfd waits (`precise`), and the tick if no timerfd can be had.
pub async fn precise_sleep_until(at: Instant) {
    if ring::active() {
        ring::sleep_until(at).await;
    } else if super::precise::sleep_until(at).await.is_err() {
        tokio::time::sleep_until(at.into()).await;
    }
}
