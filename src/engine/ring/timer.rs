//! The ring runtime's timers: a heap of deadlines over a slab of wakers.
//! The ring's wait is bounded by the earliest deadline, so a timer fires
//! to the nanosecond the kernel wakes us (no 1 ms tick as tokio's wheel
//! has). A sleep dropped before its deadline frees its slot at once; its
//! heap entry, stale by generation, is skipped when it surfaces.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::task::Waker;
use std::time::Instant;

struct Entry {
    gen: u32,
    waker: Option<Waker>,
}

#[derive(Default)]
pub(super) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    slots: Vec<Entry>,
    free: Vec<u32>,
}

/// A registered deadline: its slot and the slot's generation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Key(u32, u32);

impl Timers {
    pub fn insert(&mut self, at: Instant, waker: Waker) -> Key {
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Entry {
                    gen: 0,
                    waker: None,
                });
                self.slots.len() as u32 - 1
            }
        };
        let e = &mut self.slots[i as usize];
        e.waker = Some(waker);
        self.heap.push(Reverse((at, i, e.gen)));
        Key(i, e.gen)
    }

    /// A newer waker for a registered deadline.
    pub fn update(&mut self, k: Key, waker: &Waker) {
        if let Some(e) = self.slots.get_mut(k.0 as usize).filter(|e| e.gen == k.1) {
            match &e.waker {
                Some(w) if w.will_wake(waker) => {}
                _ => e.waker = Some(waker.clone()),
            }
        }
    }

    pub fn remove(&mut self, k: Key) {
        if let Some(e) = self.slots.get_mut(k.0 as usize).filter(|e| e.gen == k.1) {
            e.gen = e.gen.wrapping_add(1);
            e.waker = None;
            self.free.push(k.0);
        }
    }

    fn live(&self, i: u32, gen: u32) -> bool {
        self.slots[i as usize].gen == gen
    }

    /// Wake every sleeper whose deadline has passed; they remove themselves.
    pub fn fire(&mut self, now: Instant) {
        while let Some(&Reverse((at, i, gen))) = self.heap.peek() {
            if at > now {
                break;
            }
            self.heap.pop();
            if self.live(i, gen) {
                if let Some(w) = self.slots[i as usize].waker.take() {
                    w.wake();
                }
            }
        }
    }

    /// The earliest live deadline (stale entries on top are dropped).
    pub fn next(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, i, gen))) = self.heap.peek() {
            if self.live(i, gen) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;
    use std::time::Duration;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn fires_in_order_and_skips_removed() {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        let w = Waker::from(c.clone());
        let mut t = Timers::default();
        let t0 = Instant::now();
        let a = t.insert(t0 + Duration::from_millis(5), w.clone());
        let b = t.insert(t0 + Duration::from_millis(1), w.clone());
        let _c = t.insert(t0 + Duration::from_millis(9), w.clone());
        assert_eq!(t.next(), Some(t0 + Duration::from_millis(1)));
        t.remove(b);
        assert_eq!(t.next(), Some(t0 + Duration::from_millis(5)));
        t.fire(t0 + Duration::from_millis(6));
        assert_eq!(c.0.load(Ordering::Relaxed), 1);
        t.remove(a);
        // The freed slot is reused with a new generation.
        let d = t.insert(t0 + Duration::from_millis(2), w);
        assert_ne!(d, a);
        t.remove(a);
        assert_eq!(t.next(), Some(t0 + Duration::from_millis(2)));
        t.fire(t0 + Duration::from_millis(20));
        assert_eq!(c.0.load(Ordering::Relaxed), 3);
    }
}
