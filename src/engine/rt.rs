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
    /// None once it ended: dropped before the set hears of it.
    f: Option<Pin<Box<F>>>,
    me: Rc<Member>,
    set: Rc<SetState>,
}

impl<F: Future<Output = ()>> Future for Tracked<F> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(f) = this.f.as_mut() else {
            return Poll::Ready(());
        };
        if !this.me.aborted.get() {
            let w = this.me.waker.take();
            match w {
                Some(w) if w.will_wake(cx.waker()) => this.me.waker.set(Some(w)),
                _ => this.me.waker.set(Some(cx.waker().clone())),
            }
            if f.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        this.f = None;
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
            f: Some(Box::pin(f)),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Sets its flag when dropped: an aborted task's future must be.
    struct Dropped(Rc<Cell<bool>>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }

    #[test]
    fn a_task_set_joins_each_task_and_drops_the_aborted() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        tokio::task::LocalSet::new().block_on(&rt, async {
            let mut set = TaskSet::new();
            for ms in [3, 1, 2] {
                set.spawn_local(async move { sleep(Duration::from_millis(ms)).await });
            }
            let mut joined = 0;
            while set.join_next().await.is_some() {
                joined += 1;
            }
            assert_eq!(joined, 3);
            assert_eq!(set.try_join_next(), None);

            let gone = Rc::new(Cell::new(false));
            let flag = Dropped(gone.clone());
            set.spawn_local(async move {
                let _flag = flag;
                std::future::pending::<()>().await;
            });
            sleep(Duration::from_millis(1)).await;
            assert!(!gone.get(), "a running task is not dropped");
            set.abort_all();
            let joined = timeout(Duration::from_secs(5), set.join_next()).await;
            assert_eq!(joined, Ok(Some(())), "the aborted task ends");
            assert!(gone.get(), "the aborted task's future was dropped");
            assert_eq!(set.join_next().await, None);
        });
    }
}
