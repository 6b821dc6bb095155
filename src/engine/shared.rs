//! What a worker's connection tasks share, on one thread: the request, the
//! `-n` budget, the pacing schedule of the current phase, the stop flag and
//! one `Slot` per connection. Plus the two things shared across threads:
//! Ctrl-C and the outcome of every connection's first attempt.

use super::io;
use super::mix::{Chooser, Cursor, Mix, Pick, Variant};
use super::pace::{precise, Arrival, Schedule};
use super::tokens::TokenClock;
use super::H2Settings;
use crate::proto::tls::TlsClient;
use crate::stats::slo::Condition;
use crate::stats::{Fault, Stats, TlsInfo};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Set by Ctrl-C (or by an embedding program) to end the run early.
pub static INTERRUPT: AtomicBool = AtomicBool::new(false);

/// How the first connection attempt of every connection went, so the run can
/// end at once (exit 3) when none could connect, without a probe connection
/// of its own that the server would count.
#[derive(Default)]
pub struct Startup {
    pending: AtomicUsize,
    any_ok: AtomicBool,
    fault: AtomicU8,
    /// Set when every first attempt failed: the workers stop.
    abort: AtomicBool,
    /// Some TLS handshake completed (its first exchange may still be slow).
    handshaken: AtomicBool,
    /// What the first completed TLS handshake negotiated.
    tls: OnceLock<TlsInfo>,
}

impl Startup {
    pub fn new(connections: u64) -> Arc<Self> {
        Arc::new(Startup {
            pending: AtomicUsize::new(connections as usize),
            ..Default::default()
        })
    }

    /// Called once per connection, after its first attempt.
    pub fn first_attempt(&self, result: Result<(), Fault>) {
        match result {
            Ok(()) => self.any_ok.store(true, Ordering::Release),
            Err(f) => self.fault.store(f as u8, Ordering::Release),
        }
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }

    /// Wait until one connection succeeded (Ok) or all failed (the fault).
    pub fn wait(&self, limit: Duration) -> Result<(), Fault> {
        let until = Instant::now() + limit;
        loop {
            if self.any_ok.load(Ordering::Acquire) {
                return Ok(());
            }
            let all_failed = self.pending.load(Ordering::Acquire) == 0;
            if !all_failed && Instant::now() > until && self.handshaken.load(Ordering::Acquire) {
                // Through TLS, waiting on a slow first response: not unreachable.
                return Ok(());
            }
            if all_failed || Instant::now() > until {
                self.abort.store(true, Ordering::Release);
                let f = self.fault.load(Ordering::Acquire) as usize;
                return Err(Fault::ALL.get(f).copied().unwrap_or(Fault::ConnectOther));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// A TLS handshake completed with this outcome.
    pub fn tls_negotiated(&self, info: TlsInfo) {
        self.handshaken.store(true, Ordering::Release);
        if self.tls.get().is_none() {
            let _ = self.tls.set(info);
        }
    }

    pub fn tls_info(&self) -> Option<TlsInfo> {
        self.tls.get().cloned()
    }

    pub(super) fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }

    /// After `wait`: Err with the fault when no connection got through.
    pub fn outcome(&self) -> Result<(), Fault> {
        if self.abort.load(Ordering::Acquire) {
            let f = self.fault.load(Ordering::Acquire) as usize;
            Err(Fault::ALL.get(f).copied().unwrap_or(Fault::ConnectOther))
        } else {
            Ok(())
        }
    }
}

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
}

/// What the worker and a connection share about its request in flight
/// (over HTTP/2, one slot per stream of a connection).
pub struct Slot {
    /// The open socket, or -1.
    pub fd: Cell<RawFd>,
    /// When the outstanding request was written (None: no request out).
    pub since: Cell<Option<Instant>>,
    /// Set by the worker's sweep when `since` is older than `--timeout`.
    pub timed_out: Cell<bool>,
}

impl Default for Slot {
    fn default() -> Self {
        Slot {
            fd: Cell::new(-1),
            since: Cell::new(None),
            timed_out: Cell::new(false),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Pace {
    /// Between phases: nothing is sent.
    Idle,
    Closed,
    Rate {
        sched: Schedule,
        start: Instant,
        end: Option<Instant>,
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

/// State a worker's connection tasks share, on one thread only.
pub struct Shared {
    /// What the connections send, and the worker's draw state for it.
    pub mix: Arc<Mix>,
    pub chooser: Cell<Chooser>,
    pub addr: SocketAddr,
    /// `--source` addresses (empty: the kernel chooses).
    pub sources: Arc<[IpAddr]>,
    pub connect_timeout: Duration,
    pub keepalive: bool,
    /// `--stream`: every body is parsed as Server-Sent Events.
    pub force_stream: bool,
    /// Set for https: every connection shakes hands with this client.
    pub tls: Option<TlsClient>,
    /// Set for `--http2`: connections run `-m` streams each.
    pub h2: Option<H2Settings>,
    /// `--slo`'s per-request conditions (ttft, tpot, e2el): a streamed
    /// response that meets them all counts toward goodput.
    pub goodput: Arc<[Condition]>,
    /// `--timeout`: HTTP/2 streams time out one by one (HTTP/1.1
    /// connections are swept by the worker).
    pub timeout: Duration,
    pub stats: RefCell<Stats>,
    pub stop: Cell<bool>,
    pub(super) stop_notify: Notify,
    /// Requests left to send under `-n` (u64::MAX: no limit).
    pub(super) remaining: Cell<u64>,
    pub(super) pace: Cell<Pace>,
    /// Next request index of the paced schedule.
    pub(super) next_k: Cell<u64>,
    /// Paced requests written in this phase.
    pub(super) written: Cell<u64>,
    pub(super) phase_id: Cell<u32>,
    pub(super) phase_changed: Notify,
    pub(super) live: Cell<usize>,
    pub(super) all_exited: Notify,
    pub slots: Vec<Slot>,
    pub startup: Arc<Startup>,
    pub(super) conn_ramp: Duration,
    pub(super) first_conn: u64,
    pub(super) total_conns: u64,
    pub(super) start: Instant,
}

/// Back-off between failed attempts of a connection: 10 ms doubling to 1 s.
pub fn next_backoff(b: Duration) -> Duration {
    (b * 2).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

impl Shared {
    /// Record a complete response: latency from when it was due (`from`)
    /// and service time from its write (`written`), off one clock reading;
    /// with `ttfb`, also its time to first byte (a body that arrived with
    /// the end of the response, or none).
    #[inline]
    pub fn record_response(
        &self,
        name: u16,
        status: u16,
        from: Instant,
        written: Instant,
        ttfb: bool,
    ) {
        let now = Instant::now();
        let us = |t: Instant| now.saturating_duration_since(t).as_micros() as u64;
        let mut stats = self.stats.borrow_mut();
        let latency = us(from);
        stats.record_response(status, latency, us(written));
        stats.record_name_response(name, status, latency);
        if ttfb {
            stats.record_ttfb(us(from));
        }
    }

    /// A streamed response completed now: its token metrics (if it carried
    /// any content) go into this worker's counts.
    pub fn record_tokens(&self, clock: &mut TokenClock, from: Instant) {
        let mut stats = self.stats.borrow_mut();
        if stats.recording {
            clock.finish(from, Instant::now(), &self.goodput, &mut stats.stream);
        } else {
            clock.reset();
        }
    }

    /// Record a time to first byte now: the body began before the end.
    #[inline]
    pub fn record_ttfb(&self, from: Instant) {
        let us = Instant::now().saturating_duration_since(from).as_micros() as u64;
        self.stats.borrow_mut().record_ttfb(us);
    }

    /// The next request of the connection at `c`, and its variant.
    #[inline]
    pub fn pick(&self, c: &mut Cursor) -> Pick {
        if self.mix.single {
            return Pick::default();
        }
        let mut ch = self.chooser.get();
        let p = self.mix.next(c, &mut ch);
        self.chooser.set(ch);
        p
    }

    /// The variant of a pick, as the `'static` bytes an io_uring write
    /// takes (the kernel reads them in place until the write completes).
    #[inline]
    pub fn variant(&self, p: Pick) -> &'static Variant {
        let v: &Variant = &self.mix.variants[p.variant as usize];
        // SAFETY: the mix is never changed after the run is built, and the
        // worker thread holds an `Arc` of it (`worker::run_thread`) until
        // after its runtime, and so every write it submitted, is dropped:
        // the reference outlives every use made of it.
        unsafe { &*(v as *const Variant) }
    }

    /// The mix has a think time (checked before `think`, so a run without
    /// one does not build the pause's future per request).
    #[inline]
    pub fn thinks(&self) -> bool {
        !matches!(self.mix.think, super::mix::Think::None)
    }

    /// Closed loop with think time (`think` in a scenario): the pause after
    /// a request. False if the worker stopped meanwhile.
    pub async fn think(&self) -> bool {
        let t = self.mix.think;
        if !self.thinks() || !matches!(self.pace.get(), Pace::Closed) {
            return true;
        }
        let mut ch = self.chooser.get();
        let d = ch.think(t);
        self.chooser.set(ch);
        d.is_zero() || self.sleep_unless_stopped(d).await
    }

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
            } => {
                let k = self.next_k.get();
                let at = start + Duration::from_secs_f64(sched.due_s(k));
                if end.is_some_and(|e| at >= e) {
                    return Due::Idle(self.phase_id.get());
                }
                self.next_k.set(k + 1);
                if sched.is_random() {
                    sched.advance();
                    self.pace.set(Pace::Rate { sched, start, end });
                }
                Due::At(at)
            }
        }
    }

    /// Wait for `at`, up to `EARLY` before it. False if the worker stopped.
    /// Short waits (the high-rate case) take no stop notification, which
    /// would lock tokio's Notify per request; long ones end with the run.
    pub async fn wait_until(&self, at: Instant) -> bool {
        if matches!(self.pace.get(), Pace::Rate { sched, .. } if sched.is_random()) {
            return self.wait_precisely(at).await;
        }
        let now = Instant::now();
        if at > now + EARLY {
            let wake = at - EARLY;
            if wake - now > LONG_WAIT {
                return self.sleep_unless_stopped(wake - now).await;
            }
            tokio::time::sleep_until(wake.into()).await;
        }
        !self.stop.get()
    }

    /// Random arrivals: wait for `at` itself, not a timer tick near it
    /// (see `pace::precise`), so the gaps the server sees are the drawn
    /// ones. A long wait sleeps on tokio's timer, cut short by the end of
    /// the run, to within `EARLY` of `at` first.
    async fn wait_precisely(&self, at: Instant) -> bool {
        let now = Instant::now();
        if at > now + LONG_WAIT && !self.sleep_unless_stopped(at - now - EARLY).await {
            return false;
        }
        if precise::sleep_until(at).await.is_err() {
            // No timerfd (fd limit): fall back to the millisecond timer.
            tokio::time::sleep_until(at.into()).await;
        }
        !self.stop.get()
    }

    /// A paced request is being written.
    #[inline]
    pub fn paced_write(&self) {
        self.written.set(self.written.get() + 1);
    }

    /// Wait for the phase after `seen`. False if the worker stopped.
    pub async fn wait_phase(&self, seen: u32) -> bool {
        loop {
            let changed = self.phase_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.stop.get() {
                return false;
            }
            if self.phase_id.get() != seen {
                return true;
            }
            changed.await;
        }
    }

    /// Closed loop with `--ramp-up`: when connection `idx` may open.
    pub fn conn_start(&self, idx: usize) -> Instant {
        if self.conn_ramp.is_zero() || self.total_conns == 0 {
            return self.start;
        }
        let share = (self.first_conn + idx as u64) as f64 / self.total_conns as f64;
        self.start + self.conn_ramp.mul_f64(share)
    }

    /// `--source`: the local address of connection `idx`, round-robin by
    /// its index over all threads so every address gets an even share.
    pub fn source_of(&self, idx: usize) -> Option<IpAddr> {
        let n = self.sources.len() as u64;
        (n > 0).then(|| self.sources[((self.first_conn + idx as u64) % n) as usize])
    }

    pub fn conn_exited(&self) {
        let n = self.live.get() - 1;
        self.live.set(n);
        if n == 0 {
            self.all_exited.notify_one();
        }
    }

    /// Run `f` unless the worker stops first.
    pub async fn unless_stopped<F: Future>(&self, f: F) -> Option<F::Output> {
        let stopped = self.stop_notify.notified();
        tokio::pin!(stopped);
        stopped.as_mut().enable();
        if self.stop.get() {
            return None;
        }
        tokio::select! {
            r = f => Some(r),
            _ = stopped => None,
        }
    }

    /// Sleep (connect back-off, ramp); false if the worker stopped meanwhile.
    pub async fn sleep_unless_stopped(&self, d: Duration) -> bool {
        self.unless_stopped(tokio::time::sleep(d)).await.is_some()
    }

    /// Requests written and not yet answered.
    pub(super) fn in_flight(&self) -> u64 {
        self.slots
            .iter()
            .filter(|s| s.since.get().is_some())
            .count() as u64
    }

    pub(super) fn begin_phase(&self, p: &Phase, sched: Option<Schedule>) {
        {
            let mut s = self.stats.borrow_mut();
            s.reset();
            s.recording = p.record;
        }
        self.remaining.set(p.requests.unwrap_or(u64::MAX));
        self.next_k.set(0);
        self.written.set(0);
        self.pace.set(match sched {
            None => Pace::Closed,
            Some(sched) => Pace::Rate {
                sched,
                start: p.start,
                end: p.duration.map(|d| p.start + d),
            },
        });
        self.phase_id.set(self.phase_id.get() + 1);
        self.phase_changed.notify_waiters();
    }

    /// Paced requests that were due by `at` but never written.
    pub(super) fn not_sent(&self, at: Instant) -> u64 {
        match self.pace.get() {
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

    pub(super) fn stop_all(&self) {
        self.stop.set(true);
        self.stop_notify.notify_waiters();
        self.phase_changed.notify_waiters();
        for s in &self.slots {
            io::shutdown_fd(s.fd.get());
        }
    }
}
