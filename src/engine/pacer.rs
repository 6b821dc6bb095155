//! A worker's pacing of the current phase: the `-n` budget, where it is in
//! the open-loop schedule (`pace`), how many paced requests went out, and
//! which phase it is. Single-threaded `Cell`s, copied in and out: nothing
//! is allocated or locked per request.

use super::lifecycle::Lifecycle;
use super::pace::{Arrival, Schedule};
use crate::shape::Stages;
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// A paced request is sent up to this much early rather than late: tokio's
/// timer has 1 ms ticks and the runtime parks in whole milliseconds, so a
/// wake-up aimed at the due time lands up to ~1 ms after it, and that
/// lateness would be counted as latency. Early sends count from the write;
/// the schedule (and so the rate) is unchanged.
const EARLY: Duration = Duration::from_millis(2);
/// A paced wait longer than this can be cut short by the end of the run.
const LONG_WAIT: Duration = Duration::from_millis(20);

/// How requests are paced in a phase.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PaceSpec {
    /// Each connection sends its next request when the last one completes.
    Closed,
    /// Open loop at this total rate (all threads), ramped over `ramp`,
    /// with evenly spaced or random (`--arrival poisson`) gaps.
    Rate {
        total_per_sec: f64,
        ramp: Duration,
        arrival: Arrival,
    },
}

/// One phase of a run, the same for every worker but `requests`.
#[derive(Clone, Debug)]
pub struct Phase {
    pub start: Instant,
    pub duration: Option<Duration>,
    pub pace: PaceSpec,
    /// This worker's share of `-n`.
    pub requests: Option<u64>,
    /// Record and report this phase (warm-up does not).
    pub record: bool,
    /// The run ends with this phase: stop connections, count what is in flight.
    pub last: bool,
    /// `--stages`: the rate (open loop) or the users (closed) follow it,
    /// from `start`.
    pub stages: Option<Arc<Stages>>,
}

#[derive(Clone, Copy, Debug)]
enum Pace {
    /// Between phases: nothing is sent.
    Idle,
    Closed,
    Rate {
        sched: Schedule,
        start: Instant,
        end: Option<Instant>,
        /// Due times follow `Pacer::stages` rather than the fixed rate.
        staged: bool,
    },
}

/// What a connection should do for its next request.
pub enum Due {
    /// Send now; latency counts from the write.
    Now,
    /// Send at this scheduled time; latency counts from it.
    At(Instant),
    /// No request is due in this phase: wait for the next one.
    Idle(u32),
}

/// The pacing state a worker's connections share, on one thread.
pub struct Pacer {
    /// Requests left to send under `-n` (u64::MAX: no limit).
    remaining: Cell<u64>,
    pace: Cell<Pace>,
    /// Next request index of the paced schedule.
    next_k: Cell<u64>,
    /// Paced requests written in this phase.
    written: Cell<u64>,
    phase_id: Cell<u32>,
    phase_changed: Notify,
    /// The phase's stages and when it started (None: no stages).
    stages: RefCell<Option<(Arc<Stages>, Instant)>>,
    /// Closed loop over stages: each connection is a user, on or off.
    users: Cell<bool>,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer {
            remaining: Cell::new(u64::MAX),
            pace: Cell::new(Pace::Idle),
            next_k: Cell::new(0),
            written: Cell::new(0),
            phase_id: Cell::new(0),
            phase_changed: Notify::new(),
            stages: RefCell::new(None),
            users: Cell::new(false),
        }
    }
}

impl Pacer {
    /// Take one request from the `-n` budget.
    #[inline]
    pub fn claim(&self) -> bool {
        let r = self.remaining.get();
        if r == 0 {
            return false;
        }
        if r != u64::MAX {
            self.remaining.set(r - 1);
        }
        true
    }

    /// When the next request of this connection is due.
    #[inline]
    pub fn next_due(&self) -> Due {
        match self.pace.get() {
            Pace::Closed => Due::Now,
            Pace::Idle => Due::Idle(self.phase_id.get()),
            Pace::Rate {
                mut sched,
                start,
                end,
                staged,
            } => {
                let k = self.next_k.get();
                let due = if staged {
                    match self.staged_due(&sched, k) {
                        Some(d) => d,
                        None => return Due::Idle(self.phase_id.get()),
                    }
                } else {
                    sched.due_s(k)
                };
                let at = start + Duration::from_secs_f64(due);
                if end.is_some_and(|e| at >= e) {
                    return Due::Idle(self.phase_id.get());
                }
                self.next_k.set(k + 1);
                if sched.is_random() {
                    sched.advance();
                    self.pace.set(Pace::Rate {
                        sched,
                        start,
                        end,
                        staged,
                    });
                }
                Due::At(at)
            }
        }
    }

    /// Over stages: seconds after the start at which request `k` is due:
    /// worker i of t owns global requests i, i+t, ... and global request g
    /// is due when the area under the stages reaches g (None: never).
    fn staged_due(&self, sched: &Schedule, k: u64) -> Option<f64> {
        let st = self.stages.borrow();
        let (stages, _) = st.as_ref()?;
        let g = sched.position(k) * sched.threads() as f64;
        stages.time_of(g).map(|d| d.as_secs_f64())
    }

    /// Closed loop over stages: connections open and close with the users.
    #[inline]
    pub fn users_staged(&self) -> bool {
        self.users.get()
    }

    /// Closed loop over stages: is user `g` (a global connection index) on
    /// now? Its wait otherwise: until when, or None (never again).
    pub fn user_on(&self, g: u64) -> Result<(), Option<Instant>> {
        let st = self.stages.borrow();
        let Some((stages, start)) = st.as_ref() else {
            return Ok(());
        };
        // User g is on while g < the target, rounded.
        let v = g as f64 + 0.5;
        let elapsed = start.elapsed();
        if stages.target_at(elapsed) >= v {
            return Ok(());
        }
        Err(stages.reaches(elapsed, v).map(|t| *start + t))
    }

    /// Closed loop: each request follows the last one's response.
    #[inline]
    pub fn is_closed(&self) -> bool {
        matches!(self.pace.get(), Pace::Closed)
    }

    /// Wait for `at`, up to `EARLY` before it. False if the worker stopped.
    /// Short waits (the high-rate case) take no stop notification, which
    /// would lock tokio's Notify per request; long ones end with the run.
    pub async fn wait_until(&self, at: Instant, life: &Lifecycle) -> bool {
        if matches!(self.pace.get(), Pace::Rate { sched, .. } if sched.is_random()) {
            return wait_precisely(at, life).await;
        }
        let now = Instant::now();
        if at > now + EARLY {
            let wake = at - EARLY;
            if wake - now > LONG_WAIT {
                return life.sleep_unless_stopped(wake - now).await;
            }
            super::rt::sleep_until(wake).await;
        }
        !life.stopped()
    }

    /// A paced request is being written.
    #[inline]
    pub fn paced_write(&self) {
        self.written.set(self.written.get() + 1);
    }

    /// Wait for the phase after `seen`. False if the worker stopped.
    pub async fn wait_phase(&self, seen: u32, life: &Lifecycle) -> bool {
        loop {
            let changed = self.phase_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if life.stopped() {
                return false;
            }
            if self.phase_id.get() != seen {
                return true;
            }
            changed.await;
        }
    }

    /// Start phase `p`: a fresh budget and schedule (None: closed loop).
    pub(super) fn begin_phase(&self, p: &Phase, sched: Option<Schedule>) {
        self.remaining.set(p.requests.unwrap_or(u64::MAX));
        self.next_k.set(0);
        self.written.set(0);
        *self.stages.borrow_mut() = p.stages.clone().map(|s| (s, p.start));
        self.users.set(sched.is_none() && p.stages.is_some());
        self.pace.set(match sched {
            None => Pace::Closed,
            Some(sched) => Pace::Rate {
                sched,
                start: p.start,
                end: p.duration.map(|d| p.start + d),
                staged: p.stages.is_some(),
            },
        });
        self.phase_id.set(self.phase_id.get() + 1);
        self.phase_changed.notify_waiters();
    }

    /// Between phases: nothing is sent.
    pub(super) fn idle(&self) {
        self.pace.set(Pace::Idle);
    }

    /// The worker stops: wake the connections waiting for a phase.
    pub(super) fn wake_all(&self) {
        self.phase_changed.notify_waiters();
    }

    /// Paced requests that were due by `at` but never written.
    pub(super) fn not_sent(&self, at: Instant) -> u64 {
        match self.pace.get() {
            Pace::Rate {
                sched,
                start,
                staged: true,
                ..
            } => {
                let Some((stages, _)) = self.stages.borrow().clone() else {
                    return 0;
                };
                // This worker's share of the area, as `Rate::due_before` counts.
                let area = stages.sends_by(at.saturating_duration_since(start));
                let x = area / sched.threads() as f64 - sched.rate.offset - 1e-9;
                let due = if x <= 0.0 { 0 } else { x.ceil() as u64 };
                due.saturating_sub(self.written.get())
            }
            Pace::Rate { sched, start, .. } => {
                let s = at.saturating_duration_since(start).as_secs_f64();
                // Random arrivals count on from the next request; those
                // handed out are taken as due (true when `at` is the end).
                let due = sched.due_before(s, self.next_k.get());
                due.saturating_sub(self.written.get())
            }
            _ => 0,
        }
    }
}

/// Random arrivals: wait for `at` itself, not a timer tick near it
/// (see `precise`), so the gaps the server sees are the drawn ones. A long
/// wait sleeps on tokio's timer, cut short by the end of the run, to within
/// `EARLY` of `at` first.
async fn wait_precisely(at: Instant, life: &Lifecycle) -> bool {
    let now = Instant::now();
    if at > now + LONG_WAIT && !life.sleep_unless_stopped(at - now - EARLY).await {
        return false;
    }
    super::rt::precise_sleep_until(at).await;
    !life.stopped()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::pace::Rate;
    use crate::shape::Stage;

    /// Over stages, the workers' due times together are the shape's
    /// `time_of(g)` for g = 0, 1, 2, ...: worker i of t takes i, i+t, ...
    #[test]
    fn staged_schedule_interleaves_the_shape_over_workers() {
        let stages = Arc::new(
            Stages::new(vec![
                Stage {
                    duration: Duration::from_secs(2),
                    target: 100.0,
                },
                Stage {
                    duration: Duration::from_secs(1),
                    target: 100.0,
                },
            ])
            .unwrap(),
        );
        let start = Instant::now();
        let phase = Phase {
            start,
            duration: Some(stages.total()),
            pace: PaceSpec::Closed,
            requests: None,
            record: true,
            last: true,
            stages: Some(stages.clone()),
        };
        let mut all = Vec::new();
        for i in 0..3 {
            let p = Pacer::default();
            let sched = Schedule::new(
                Rate::share(1.0, 3, i, Duration::ZERO),
                Arrival::Constant,
                3,
                i,
            );
            p.begin_phase(&phase, Some(sched));
            let before = all.len();
            while let Due::At(t) = p.next_due() {
                all.push((t - start).as_secs_f64());
            }
            // None was written: all this worker's share is not sent.
            let mine = (all.len() - before) as u64;
            assert_eq!(p.not_sent(start + stages.total()), mine, "worker {i}");
        }
        all.sort_by(f64::total_cmp);
        // 100 over the 0 -> 100 ramp of 2 s, then 100 in the flat second.
        assert_eq!(all.len(), 200);
        for (g, t) in all.iter().enumerate() {
            let want = stages.time_of(g as f64).unwrap().as_secs_f64();
            assert!((t - want).abs() < 1e-6, "request {g}: {t} vs {want}");
        }
    }
}
