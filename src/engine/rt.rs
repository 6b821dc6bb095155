//! The runtime facade for code the engines share: timers, timeouts and
//! `spawn_local` go to the ring runtime on a ring worker thread and to
//! tokio everywhere else (the epoll and tokio-uring engines, HTTP/2, tests).
//! The names are tokio's, so shared code reads as it did.

use super::ring;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
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

/// Tasks spawned together on this thread's runtime, to learn when one has
/// ended and to end them all: tokio's `JoinSet`, on either runtime. An
/// aborted task is woken and dropped at its next poll, as tokio's are.
#[derive(Default)]
pub struct TaskSet {
    set: Rc<SetState>,
}

#[derive(Default)]
struct SetState {
    running: Cell<usize>,
    /// Ended and not yet joined.
    ended: Cell<usize>,
    /// The task waiting in `join_next`.
    waiter: Cell<Option<Waker>>,
    members: RefCell<Vec<Rc<Member>>>,
}

#[derive(Default)]
struct Member {
    aborted: Cell<bool>,
    ended: Cell<bool>,
    /// The member's task, woken to be dropped when it is aborted.
    waker: Cell<Option<Waker>>,
}

struct Tracked<F> {
    f: Pin<Box<F>>,
    me: Rc<Member>,
    set: Rc<SetState>,
}

impl<F: Future<Output = ()>> Future for Tracked<F> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if !this.me.aborted.get() {
            let w = this.me.waker.take();
            match w {
                Some(w) if w.will_wake(cx.waker()) => this.me.waker.set(Some(w)),
                _ => this.me.waker.set(Some(cx.waker().clone())),
            }
            if this.f.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        this.me.ended.set(true);
        this.me.waker.take();
        this.set.running.set(this.set.running.get() - 1);
        this.set.ended.set(this.set.ended.get() + 1);
        if let Some(w) = this.set.waiter.take() {
            w.wake();
        }
        Poll::Ready(())
    }
}

impl TaskSet {
    pub fn new() -> TaskSet {
        TaskSet::default()
    }

    pub fn spawn_local(&mut self, f: impl Future<Output = ()> + 'static) {
        let me = Rc::new(Member::default());
        let mut members = self.set.members.borrow_mut();
        members.retain(|m| !m.ended.get());
        members.push(me.clone());
        drop(members);
        self.set.running.set(self.set.running.get() + 1);
        spawn_local(Tracked {
            f: Box::pin(f),
            me,
            set: self.set.clone(),
        });
    }

    /// One task that ended, if any has since the last join.
    pub fn try_join_next(&mut self) -> Option<()> {
        let n = self.set.ended.get();
        (n > 0).then(|| self.set.ended.set(n - 1))
    }

    /// Wait for a task to end; None once none is left.
    pub async fn join_next(&mut self) -> Option<()> {
        std::future::poll_fn(|cx| {
            if let Some(()) = self.try_join_next() {
                return Poll::Ready(Some(()));
            }
            if self.set.running.get() == 0 {
                return Poll::Ready(None);
            }
            self.set.waiter.set(Some(cx.waker().clone()));
            Poll::Pending
        })
        .await
    }

    /// End every task: each is dropped when its runtime next polls it.
    pub fn abort_all(&mut self) {
        for m in self.set.members.borrow_mut().drain(..) {
            m.aborted.set(true);
            if let Some(w) = m.waker.take() {
                w.wake();
            }
        }
    }
}

impl Drop for TaskSet {
    fn drop(&mut self) {
        self.abort_all();
    }
}
