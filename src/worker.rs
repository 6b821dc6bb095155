//! One worker: a pinned OS thread running its own runtime (io_uring or
//! epoll), its slice of the connections, and a tick that samples the rate,
//! ships a snapshot each second, enforces `--timeout` and ends the run.
//!
//! Closed loop, `-n`, warm-up (and, later, a paced rate) are settings of this
//! one worker, not separate engines.

use crate::config::{Config, Engine};
use crate::conn::{self, Slot};
use crate::io::{self, Transport};
use crate::stats::{Fault, Snapshot, Stats};
use crossbeam_channel::Sender;
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
}

const SNAPSHOT_EVERY: Duration = Duration::from_secs(1);
const RATE_SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// How long stopped connections get to notice before the worker reports.
const STOP_GRACE: Duration = Duration::from_millis(200);

/// What one worker is asked to do.
#[derive(Clone, Debug)]
pub struct Plan {
    pub index: usize,
    pub core: Option<core_affinity::CoreId>,
    pub connections: u64,
    pub requests: Option<u64>,
    /// When every worker starts (warm-up begins).
    pub start: Instant,
    pub warmup: Duration,
    pub duration: Option<Duration>,
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
    live: Cell<usize>,
    all_exited: Notify,
    pub slots: Vec<Slot>,
    pub startup: Arc<Startup>,
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

    /// Sleep (connect back-off); false if the worker stopped meanwhile.
    pub async fn sleep_unless_stopped(&self, d: Duration) -> bool {
        self.unless_stopped(tokio::time::sleep(d)).await.is_some()
    }
}

/// Start worker threads; each sends its snapshots on `tx` and a final one
/// with `last` set.
pub fn spawn_all(
    cfg: &Config,
    request: &'static [u8],
    start: Instant,
    startup: &Arc<Startup>,
    tx: Sender<Snapshot>,
) -> std::io::Result<Vec<std::thread::JoinHandle<()>>> {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let mut handles = Vec::new();
    for i in 0..cfg.threads {
        let plan = Plan {
            index: i as usize,
            core: (!cores.is_empty()).then(|| cores[i as usize % cores.len()]),
            connections: cfg.connections_of(i),
            requests: cfg.requests_of(i),
            start,
            warmup: cfg.warmup,
            duration: cfg.duration,
        };
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
        let h = std::thread::Builder::new()
            .name(format!("blast-worker-{i}"))
            .spawn(move || run_thread(engine, plan, shared, tx))?;
        handles.push(h);
    }
    Ok(handles)
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

fn run_thread(engine: Engine, plan: Plan, init: SharedInit, tx: Sender<Snapshot>) {
    if let Some(core) = plan.core {
        core_affinity::set_for_current(core);
    }
    let worker = plan.index;
    let failed = |e: std::io::Error| {
        eprintln!("blast: worker {worker}: cannot start its runtime: {e}");
        let mut s = Stats::new();
        let mut snap = s.take_snapshot(worker, 0, Duration::ZERO);
        snap.last = true;
        let _ = tx.send(snap);
    };
    match engine {
        Engine::Uring => match io::uring::runtime(plan.connections) {
            Ok(rt) => io::uring::block_on(&rt, main::<io::uring::Conn>(plan, init, tx.clone())),
            Err(e) => failed(e),
        },
        Engine::Epoll => match io::epoll::runtime() {
            Ok(rt) => io::epoll::block_on(&rt, main::<io::epoll::Conn>(plan, init, tx.clone())),
            Err(e) => failed(e),
        },
    }
}

async fn main<T: Transport + 'static>(plan: Plan, init: SharedInit, tx: Sender<Snapshot>) {
    let warming = !plan.warmup.is_zero();
    let budget = plan.requests.unwrap_or(u64::MAX);
    let mut stats = Stats::new();
    stats.recording = !warming;
    let w = Rc::new(Shared {
        request: init.request,
        addr: init.addr,
        connect_timeout: init.connect_timeout,
        head_request: init.head_request,
        keepalive: init.keepalive,
        stats: RefCell::new(stats),
        stop: Cell::new(false),
        stop_notify: Notify::new(),
        remaining: Cell::new(if warming { u64::MAX } else { budget }),
        live: Cell::new(plan.connections as usize),
        all_exited: Notify::new(),
        slots: (0..plan.connections).map(|_| Slot::default()).collect(),
        startup: init.startup.clone(),
    });
    if plan.connections == 0 || budget == 0 {
        w.live.set(0);
        w.all_exited.notify_one();
    } else {
        for i in 0..plan.connections as usize {
            tokio::task::spawn_local(conn::run::<T>(w.clone(), i));
        }
    }

    let measured_start = plan.start + plan.warmup;
    let end = plan.duration.map(|d| measured_start + d);
    let tick = RATE_SAMPLE_EVERY
        .min(init.timeout / 4)
        .max(Duration::from_millis(1));
    let mut next_tick = plan.start + tick;
    let mut next_sample = measured_start + RATE_SAMPLE_EVERY;
    let mut next_snapshot = measured_start + SNAPSHOT_EVERY;
    let mut seq = 0u32;
    let mut shipped = 0u64; // requests already sent in snapshots
    let mut at_last_sample = 0u64;
    let mut in_warmup = warming;

    loop {
        let wake = end.map_or(next_tick, |e| e.min(next_tick));
        let exited = w.all_exited.notified();
        tokio::select! {
            _ = tokio::time::sleep_until(wake.into()) => {}
            _ = exited => break,
        }
        let now = Instant::now();
        while next_tick <= now {
            next_tick += tick;
        }
        if in_warmup {
            if now < measured_start {
                sweep_timeouts(&w, now, init.timeout);
                if stop_requested(&w) {
                    break;
                }
                continue;
            }
            in_warmup = false;
            let mut s = w.stats.borrow_mut();
            s.reset();
            s.recording = true;
            w.remaining.set(budget);
        }
        sweep_timeouts(&w, now, init.timeout);
        if now >= next_sample {
            let total = shipped + w.stats.borrow().requests;
            let dt = (now - (next_sample - RATE_SAMPLE_EVERY)).as_secs_f64();
            let rate = ((total - at_last_sample) as f64 / dt).round() as u64;
            w.stats.borrow_mut().rate.saturating_record(rate.max(1));
            at_last_sample = total;
            while next_sample <= now {
                next_sample += RATE_SAMPLE_EVERY;
            }
        }
        if now >= next_snapshot {
            let snap =
                w.stats
                    .borrow_mut()
                    .take_snapshot(plan.index, seq, next_snapshot - measured_start);
            shipped += snap.requests;
            let _ = tx.send(snap);
            seq += 1;
            next_snapshot += SNAPSHOT_EVERY;
        }
        if end.is_some_and(|e| now >= e) || stop_requested(&w) {
            break;
        }
    }

    // Stop: what is written and unanswered now is in flight at the end.
    let stopped_at = Instant::now();
    let in_flight = w.slots.iter().filter(|s| s.since.get().is_some()).count() as u64;
    w.stop.set(true);
    w.stop_notify.notify_waiters();
    for s in &w.slots {
        io::shutdown_fd(s.fd.get());
    }
    if w.live.get() > 0 {
        let _ = tokio::time::timeout(STOP_GRACE, w.all_exited.notified()).await;
    }
    let elapsed = stopped_at.saturating_duration_since(measured_start);
    let mut snap = w.stats.borrow_mut().take_snapshot(plan.index, seq, elapsed);
    snap.in_flight_at_end = in_flight;
    snap.last = true;
    let _ = tx.send(snap);
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
