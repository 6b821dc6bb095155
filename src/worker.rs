//! One worker: a pinned OS thread running its own runtime (io_uring or
//! epoll), its slice of the connections, and a tick that samples the rate,
//! ships a snapshot each second, enforces `--timeout` and ends each phase.
//!
//! A run is a sequence of phases on the same connection pool: warm-up (not
//! recorded), the measured run, or each step of `blast find`. Closed loop,
//! `-n`, `-R` and ramp-up are settings of a phase, not separate engines.

use crate::config::{Config, Engine};
use crate::conn::{self, Slot};
use crate::io::{self, Transport};
use crate::pace::Rate;
use crate::stats::{Fault, Snapshot, Stats};
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
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
            if self.pending.load(Ordering::Acquire) == 0 || Instant::now() > until {
                self.abort.store(true, Ordering::Release);
                let f = self.fault.load(Ordering::Acquire) as usize;
                return Err(Fault::ALL.get(f).copied().unwrap_or(Fault::ConnectOther));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn aborted(&self) -> bool {
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

const SNAPSHOT_EVERY: Duration = Duration::from_secs(1);
const RATE_SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// How long stopped connections get to notice before the worker reports.
const STOP_GRACE: Duration = Duration::from_millis(200);
/// A paced request is sent up to this much early rather than late: tokio's
/// timer has 1 ms ticks and the runtime parks in whole milliseconds, so a
/// wake-up aimed at the due time lands up to ~1 ms after it, and that
/// lateness would be counted as latency. Early sends count from the write;
/// the schedule (and so the rate) is unchanged.
const EARLY: Duration = Duration::from_millis(2);
/// A paced wait longer than this can be cut short by the end of the run.
const LONG_WAIT: Duration = Duration::from_millis(20);

/// Where a worker sits in the run: what it owns, and when it started.
#[derive(Clone, Debug)]
pub struct Plan {
    pub index: usize,
    pub threads: u64,
    pub core: Option<core_affinity::CoreId>,
    pub connections: u64,
    /// Global index of this worker's first connection, for the ramp.
    pub first_conn: u64,
    pub total_conns: u64,
    /// Closed loop: open connections linearly over this long.
    pub conn_ramp: Duration,
    pub start: Instant,
}

/// How requests are paced in a phase.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PaceSpec {
    /// Each connection sends its next request when the last one completes.
    Closed,
    /// Open loop at this total rate (all threads), ramped over `ramp`.
    Rate { total_per_sec: f64, ramp: Duration },
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

#[derive(Clone, Copy, Debug)]
enum Pace {
    /// Between phases: nothing is sent.
    Idle,
    Closed,
    Rate {
        rate: Rate,
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
    pub request: &'static [u8],
    pub addr: SocketAddr,
    pub connect_timeout: Duration,
    pub head_request: bool,
    pub keepalive: bool,
    pub stats: RefCell<Stats>,
    pub stop: Cell<bool>,
    stop_notify: Notify,
    /// Requests left to send under `-n` (u64::MAX: no limit).
    remaining: Cell<u64>,
    pace: Cell<Pace>,
    /// Next request index of the paced schedule.
    next_k: Cell<u64>,
    /// Paced requests written in this phase.
    written: Cell<u64>,
    phase_id: Cell<u32>,
    phase_changed: Notify,
    live: Cell<usize>,
    all_exited: Notify,
    pub slots: Vec<Slot>,
    pub startup: Arc<Startup>,
    conn_ramp: Duration,
    first_conn: u64,
    total_conns: u64,
    start: Instant,
}

impl Shared {
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
            Pace::Rate { rate, start, end } => {
                let k = self.next_k.get();
                let at = start + Duration::from_secs_f64(rate.due_s(k));
                if end.is_some_and(|e| at >= e) {
                    return Due::Idle(self.phase_id.get());
                }
                self.next_k.set(k + 1);
                Due::At(at)
            }
        }
    }

    /// Wait for `at`, up to `EARLY` before it. False if the worker stopped.
    /// Short waits (the high-rate case) take no stop notification, which
    /// would lock tokio's Notify per request; long ones end with the run.
    pub async fn wait_until(&self, at: Instant) -> bool {
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
    fn in_flight(&self) -> u64 {
        self.slots
            .iter()
            .filter(|s| s.since.get().is_some())
            .count() as u64
    }

    fn begin_phase(&self, p: &Phase, rate: Option<Rate>) {
        {
            let mut s = self.stats.borrow_mut();
            s.reset();
            s.recording = p.record;
        }
        self.remaining.set(p.requests.unwrap_or(u64::MAX));
        self.next_k.set(0);
        self.written.set(0);
        self.pace.set(match rate {
            None => Pace::Closed,
            Some(rate) => Pace::Rate {
                rate,
                start: p.start,
                end: p.duration.map(|d| p.start + d),
            },
        });
        self.phase_id.set(self.phase_id.get() + 1);
        self.phase_changed.notify_waiters();
    }

    /// Paced requests that were due by `at` but never written.
    fn not_sent(&self, at: Instant) -> u64 {
        match self.pace.get() {
            Pace::Rate { rate, start, .. } => {
                let due = rate.due_before(at.saturating_duration_since(start).as_secs_f64());
                due.saturating_sub(self.written.get())
            }
            _ => 0,
        }
    }

    fn stop_all(&self) {
        self.stop.set(true);
        self.stop_notify.notify_waiters();
        self.phase_changed.notify_waiters();
        for s in &self.slots {
            io::shutdown_fd(s.fd.get());
        }
    }
}

/// The running worker threads and the channels that give them phases.
pub struct Workers {
    pub handles: Vec<std::thread::JoinHandle<()>>,
    pub phases: Vec<Sender<Phase>>,
}

/// Start worker threads. Each takes its phases from its own channel (send
/// them on `Workers::phases`) and sends snapshots on `tx`, the last of each
/// recorded phase with `last` set.
pub fn spawn_all(
    cfg: &Config,
    request: &'static [u8],
    start: Instant,
    startup: &Arc<Startup>,
    tx: Sender<Snapshot>,
) -> std::io::Result<Workers> {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let mut handles = Vec::new();
    let mut phases = Vec::new();
    let mut first_conn = 0;
    for i in 0..cfg.threads {
        let plan = Plan {
            index: i as usize,
            threads: cfg.threads,
            core: (!cores.is_empty()).then(|| cores[i as usize % cores.len()]),
            connections: cfg.connections_of(i),
            first_conn,
            total_conns: cfg.connections,
            conn_ramp: if cfg.rate.is_none() {
                cfg.ramp_up
            } else {
                Duration::ZERO
            },
            start,
        };
        first_conn += plan.connections;
        let shared = SharedInit {
            request,
            addr: cfg.addr,
            connect_timeout: cfg.connect_timeout,
            timeout: cfg.timeout,
            head_request: cfg.head_request,
            keepalive: cfg.keepalive,
            startup: startup.clone(),
        };
        let engine = cfg.engine;
        let tx = tx.clone();
        let (ptx, prx) = crossbeam_channel::unbounded();
        let h = std::thread::Builder::new()
            .name(format!("blast-worker-{i}"))
            .spawn(move || run_thread(engine, plan, shared, prx, tx))?;
        handles.push(h);
        phases.push(ptx);
    }
    Ok(Workers { handles, phases })
}

/// The `Send` part of a worker's settings, moved into its thread.
#[derive(Clone)]
struct SharedInit {
    request: &'static [u8],
    addr: SocketAddr,
    connect_timeout: Duration,
    timeout: Duration,
    head_request: bool,
    keepalive: bool,
    startup: Arc<Startup>,
}

fn run_thread(
    engine: Engine,
    plan: Plan,
    init: SharedInit,
    phases: Receiver<Phase>,
    tx: Sender<Snapshot>,
) {
    if let Some(core) = plan.core {
        core_affinity::set_for_current(core);
    }
    let worker = plan.index;
    let failed = |e: std::io::Error| {
        eprintln!("blast: worker {worker}: cannot start its runtime: {e}");
        // Answer every recorded phase so the aggregator is not left waiting.
        while let Ok(p) = phases.recv() {
            if p.record {
                let mut snap = Stats::new().take_snapshot(worker, 0, Duration::ZERO);
                snap.last = true;
                let _ = tx.send(snap);
            }
        }
    };
    match engine {
        Engine::Uring => match io::uring::runtime(plan.connections) {
            Ok(rt) => {
                io::uring::block_on(&rt, main::<io::uring::Conn>(plan, init, phases, tx.clone()))
            }
            Err(e) => failed(e),
        },
        Engine::Epoll => match io::epoll::runtime() {
            Ok(rt) => {
                io::epoll::block_on(&rt, main::<io::epoll::Conn>(plan, init, phases, tx.clone()))
            }
            Err(e) => failed(e),
        },
    }
}

async fn main<T: Transport + 'static>(
    plan: Plan,
    init: SharedInit,
    phases: Receiver<Phase>,
    tx: Sender<Snapshot>,
) {
    let w = Rc::new(Shared {
        request: init.request,
        addr: init.addr,
        connect_timeout: init.connect_timeout,
        head_request: init.head_request,
        keepalive: init.keepalive,
        stats: RefCell::new(Stats::new()),
        stop: Cell::new(false),
        stop_notify: Notify::new(),
        remaining: Cell::new(u64::MAX),
        pace: Cell::new(Pace::Idle),
        next_k: Cell::new(0),
        written: Cell::new(0),
        phase_id: Cell::new(0),
        phase_changed: Notify::new(),
        live: Cell::new(plan.connections as usize),
        all_exited: Notify::new(),
        slots: (0..plan.connections).map(|_| Slot::default()).collect(),
        startup: init.startup.clone(),
        conn_ramp: plan.conn_ramp,
        first_conn: plan.first_conn,
        total_conns: plan.total_conns,
        start: plan.start,
    });
    let tick = RATE_SAMPLE_EVERY
        .min(init.timeout / 4)
        .max(Duration::from_millis(1));
    let mut spawned = false;
    let mut stopped = false;

    while let Some(phase) = next_phase(&phases, &w, tick, init.timeout).await {
        if phase.requests == Some(0) {
            // Nothing to send: this worker's share of -n is empty.
            if phase.record {
                let mut snap = w
                    .stats
                    .borrow_mut()
                    .take_snapshot(plan.index, 0, Duration::ZERO);
                snap.last = true;
                let _ = tx.send(snap);
            }
            if phase.last {
                break;
            }
            continue;
        }
        let mut phase = phase;
        if spawned && matches!(phase.pace, PaceSpec::Rate { .. }) {
            // Let the previous step's requests finish (or time out) so its
            // backlog does not count against this one; the schedule starts
            // when this worker is ready.
            drain(&w, init.timeout, tick).await;
            phase.start = phase.start.max(Instant::now());
        }
        let rate = match phase.pace {
            PaceSpec::Closed => None,
            PaceSpec::Rate {
                total_per_sec,
                ramp,
            } => Some(Rate::share(
                total_per_sec,
                plan.threads,
                plan.index as u64,
                ramp,
            )),
        };
        w.begin_phase(&phase, rate);
        if !spawned {
            spawned = true;
            for i in 0..plan.connections as usize {
                tokio::task::spawn_local(conn::run::<T>(w.clone(), i));
            }
        }
        let (seq, ended_at, all_done) = run_phase(&w, &phase, &plan, &tx, tick, init.timeout).await;
        let interrupted = stop_requested(&w);
        let in_flight = w.in_flight();
        let not_sent = w.not_sent(ended_at);
        let finish = phase.last || interrupted || all_done;
        if finish {
            w.stop_all();
            stopped = true;
            if w.live.get() > 0 {
                let _ = tokio::time::timeout(STOP_GRACE, w.all_exited.notified()).await;
            }
        } else {
            // Between phases nothing is sent; a late response of this phase
            // is dropped with the next phase's reset.
            w.pace.set(Pace::Idle);
        }
        if phase.record {
            let elapsed = ended_at.saturating_duration_since(phase.start);
            let mut snap = w.stats.borrow_mut().take_snapshot(plan.index, seq, elapsed);
            snap.in_flight_at_end = in_flight;
            snap.not_sent_at_end = not_sent;
            snap.last = true;
            let _ = tx.send(snap);
        }
        if finish {
            break;
        }
    }
    if !stopped {
        w.stop_all();
    }
}

/// Wait until no request is in flight, at most `timeout` (plus a tick).
async fn drain(w: &Shared, timeout: Duration, tick: Duration) {
    let until = Instant::now() + timeout + tick;
    while w.in_flight() > 0 && Instant::now() < until && !stop_requested(w) {
        tokio::time::sleep(Duration::from_millis(1)).await;
        sweep_timeouts(w, Instant::now(), timeout);
    }
}

/// Wait for the next phase, keeping timeouts enforced meanwhile. None when
/// the run is over (no more phases will come).
async fn next_phase(
    phases: &Receiver<Phase>,
    w: &Shared,
    tick: Duration,
    timeout: Duration,
) -> Option<Phase> {
    loop {
        match phases.try_recv() {
            Ok(p) => return Some(p),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
        if stop_requested(w) {
            return None;
        }
        tokio::time::sleep(tick.min(Duration::from_millis(1))).await;
        sweep_timeouts(w, Instant::now(), timeout);
    }
}

/// Tick until the phase ends. Returns the next snapshot number, when the
/// phase ended, and whether every connection has finished (-n done).
async fn run_phase(
    w: &Shared,
    phase: &Phase,
    plan: &Plan,
    tx: &Sender<Snapshot>,
    tick: Duration,
    timeout: Duration,
) -> (u32, Instant, bool) {
    let start = phase.start;
    let end = phase.duration.map(|d| start + d);
    let mut next_tick = Instant::now() + tick;
    let mut next_sample = start + RATE_SAMPLE_EVERY;
    let mut next_snapshot = start + SNAPSHOT_EVERY;
    let mut seq = 0u32;
    let mut shipped = 0u64; // requests already sent in snapshots
    let mut at_last_sample = 0u64;
    loop {
        let wake = end.map_or(next_tick, |e| e.min(next_tick));
        let exited = w.all_exited.notified();
        tokio::select! {
            _ = tokio::time::sleep_until(wake.into()) => {}
            _ = exited => return (seq, Instant::now(), true),
        }
        let now = Instant::now();
        while next_tick <= now {
            next_tick += tick;
        }
        sweep_timeouts(w, now, timeout);
        if phase.record && now >= next_sample {
            let total = shipped + w.stats.borrow().requests;
            let dt = (now - (next_sample - RATE_SAMPLE_EVERY)).as_secs_f64();
            let rate = ((total - at_last_sample) as f64 / dt).round() as u64;
            w.stats.borrow_mut().rate.saturating_record(rate.max(1));
            at_last_sample = total;
            while next_sample <= now {
                next_sample += RATE_SAMPLE_EVERY;
            }
        }
        if phase.record && now >= next_snapshot {
            let snap = w
                .stats
                .borrow_mut()
                .take_snapshot(plan.index, seq, next_snapshot - start);
            shipped += snap.requests;
            let _ = tx.send(snap);
            seq += 1;
            next_snapshot += SNAPSHOT_EVERY;
        }
        if end.is_some_and(|e| now >= e) || stop_requested(w) {
            return (seq, end.map_or(now, |e| e.min(now)), false);
        }
    }
}

fn stop_requested(w: &Shared) -> bool {
    INTERRUPT.load(Ordering::Relaxed) || w.startup.aborted()
}

/// Shut down the socket of every request older than `timeout`; its
/// connection sees `timed_out` when the read returns.
fn sweep_timeouts(w: &Shared, now: Instant, timeout: Duration) {
    for s in &w.slots {
        if let Some(since) = s.since.get() {
            if !s.timed_out.get() && now.saturating_duration_since(since) >= timeout {
                s.timed_out.set(true);
                io::shutdown_fd(s.fd.get());
            }
        }
    }
}
