//! The ring runtime's executor: the worker's tasks (`Rc` futures, never
//! sent to another thread), a run queue, and wakers that put a task back on
//! it. Nothing in a worker is woken from another thread (the worker polls
//! its phase channel and `INTERRUPT` on its ticks), so a waker is an `Rc`
//! in disguise: no atomics, no lock.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, RawWaker, RawWakerVTable, Waker};

type BoxFuture = Pin<Box<dyn Future<Output = ()>>>;

pub(super) struct Task {
    future: RefCell<Option<BoxFuture>>,
    /// On the run queue already: a second wake before the poll adds nothing.
    queued: Cell<bool>,
    /// Its place in `Exec::tasks`, so a finished task leaves it.
    index: Cell<usize>,
    /// The run queue this task goes back on when woken.
    queue: Rc<RefCell<VecDeque<Rc<Task>>>>,
}

/// The tasks of one worker thread and the queue of those ready to run.
pub(super) struct Exec {
    queue: Rc<RefCell<VecDeque<Rc<Task>>>>,
    /// Every live task, so the runtime can drop them all when it ends (a
    /// task blocked on a notification is referenced by nothing else).
    tasks: RefCell<Vec<Option<Rc<Task>>>>,
    free: RefCell<Vec<usize>>,
}

impl Exec {
    pub fn new() -> Self {
        Exec {
            queue: Rc::new(RefCell::new(VecDeque::new())),
            tasks: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
        }
    }

    pub fn spawn(&self, f: impl Future<Output = ()> + 'static) {
        let task = Rc::new(Task {
            future: RefCell::new(Some(Box::pin(f))),
            queued: Cell::new(false),
            index: Cell::new(0),
            queue: self.queue.clone(),
        });
        let mut tasks = self.tasks.borrow_mut();
        let i = match self.free.borrow_mut().pop() {
            Some(i) => {
                tasks[i] = Some(task.clone());
                i
            }
            None => {
                tasks.push(Some(task.clone()));
                tasks.len() - 1
            }
        };
        task.index.set(i);
        schedule(&task);
    }

    pub fn has_ready(&self) -> bool {
        !self.queue.borrow().is_empty()
    }

    /// Poll the tasks ready now (not those they wake meanwhile, so I/O and
    /// timers get their turn); returns how many ran.
    pub fn run_ready(&self) -> usize {
        let n = self.queue.borrow().len();
        for _ in 0..n {
            let Some(task) = self.queue.borrow_mut().pop_front() else {
                break;
            };
            task.queued.set(false);
            let waker = waker_of(&task);
            let mut cx = Context::from_waker(&waker);
            let done = {
                let mut slot = task.future.borrow_mut();
                match slot.as_mut() {
                    Some(f) => f.as_mut().poll(&mut cx).is_ready(),
                    None => false,
                }
            };
            if done {
                // Dropped outside the borrow: its drop may wake other tasks.
                let f = task.future.borrow_mut().take();
                drop(f);
                let i = task.index.get();
                self.tasks.borrow_mut()[i] = None;
                self.free.borrow_mut().push(i);
            }
        }
        n
    }

    /// Drop every task's future (their sockets close, their buffers go).
    pub fn shutdown(&self) {
        let tasks: Vec<Rc<Task>> = self.tasks.borrow_mut().drain(..).flatten().collect();
        for t in &tasks {
            let f = t.future.borrow_mut().take();
            drop(f);
        }
        self.queue.borrow_mut().clear();
    }
}

fn schedule(task: &Rc<Task>) {
    if !task.queued.replace(true) {
        task.queue.borrow_mut().push_back(task.clone());
    }
}

fn waker_of(task: &Rc<Task>) -> Waker {
    let raw = RawWaker::new(Rc::into_raw(task.clone()).cast(), &VTABLE);
    // SAFETY: the vtable below treats the pointer as an `Rc<Task>`, which
    // it is. `Waker` claims Send + Sync; this one is only ever used on the
    // worker thread that made it: the tasks are `!Send` futures polled
    // here, and nothing in them hands a waker to another thread (see the
    // module comment; `ring::mod` spawns no thread).
    unsafe { Waker::from_raw(raw) }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone_raw, wake_raw, wake_by_ref_raw, drop_raw);

unsafe fn clone_raw(p: *const ()) -> RawWaker {
    // SAFETY: `p` came from `Rc::into_raw` (waker_of) and is still counted.
    unsafe { Rc::increment_strong_count(p.cast::<Task>()) };
    RawWaker::new(p, &VTABLE)
}

unsafe fn wake_raw(p: *const ()) {
    // SAFETY: as above; this consumes the waker's count.
    let task = unsafe { Rc::from_raw(p.cast::<Task>()) };
    schedule(&task);
}

unsafe fn wake_by_ref_raw(p: *const ()) {
    // SAFETY: as above; the count stays with the waker.
    let task = std::mem::ManuallyDrop::new(unsafe { Rc::from_raw(p.cast::<Task>()) });
    schedule(&task);
}

unsafe fn drop_raw(p: *const ()) {
    // SAFETY: as above; releases the waker's count.
    unsafe { Rc::decrement_strong_count(p.cast::<Task>()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_run_and_wake_each_other() {
        let exec = Exec::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let flag = Rc::new(tokio::sync::Notify::new());
        let (l, f) = (log.clone(), flag.clone());
        exec.spawn(async move {
            f.notified().await;
            l.borrow_mut().push("woken");
        });
        let (l, f) = (log.clone(), flag.clone());
        exec.spawn(async move {
            l.borrow_mut().push("notify");
            f.notify_one();
        });
        while exec.has_ready() {
            exec.run_ready();
        }
        assert_eq!(*log.borrow(), vec!["notify", "woken"]);
        assert!(exec.tasks.borrow().iter().all(Option::is_none));
        // A pending task is dropped at shutdown, its future with it.
        let f = flag.clone();
        exec.spawn(async move { f.notified().await });
        exec.run_ready();
        assert_eq!(Rc::strong_count(&flag), 2);
        exec.shutdown();
        assert_eq!(Rc::strong_count(&flag), 1);
    }
}
