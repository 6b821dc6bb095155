//! One worker: a pinned OS thread running its own runtime (io_uring or
//! epoll), its slice of the connections, and a tick that samples the rate,
//! ships a snapshot each second, enforces `--timeout` and ends each phase.
//!
//! A run is a sequence of phases on the same connection pool: warm-up (not
//! recorded), the measured run, or each step of `blast find`. Closed loop,
//! `-n`, `-R` and ramp-up are settings of a phase, not separate engines.

use super::io::{self, Transport};
use super::lifecycle::{Startup, INTERRUPT};
use super::mix::Mix;
use super::pace::{Rate, Schedule};
use super::pacer::{PaceSpec, Phase};
use super::shared::{Assignment, Shared};
use super::{conn, h2conn, pipeline, ring, rt};
use super::{ConnSettings, Engine, Settings};
use crate::stats::{grow_record, Snapshot, Stats, MAX_RATE};
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SNAPSHOT_EVERY: Duration = Duration::from_secs(1);
const RATE_SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// How long stopped connections get to notice before the worker reports.
const STOP_GRACE: Duration = Duration::from_millis(200);

/// The running worker threads and the channels that give them phases.
pub struct Workers {
    pub handles: Vec<std::thread::JoinHandle<()>>,
    pub phases: Vec<Sender<Phase>>,
}

/// Start worker threads. Each takes its phases from its own channel (send
/// them on `Workers::phases`) and sends snapshots on `tx`, the last of each
/// recorded phase with `last` set.
pub fn spawn_all(
    cfg: &Settings,
    start: Instant,
    startup: &Arc<Startup>,
    tx: Sender<Snapshot>,
) -> std::io::Result<Workers> {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let mut handles = Vec::new();
    let mut phases = Vec::new();
    let mut first_conn = 0;
    for i in 0..cfg.shape.threads {
        let seat = Assignment {
            index: i as usize,
            threads: cfg.shape.threads,
            core: (!cores.is_empty()).then(|| cores[i as usize % cores.len()]),
            connections: cfg.shape.connections_of(i),
            first_conn,
            total_conns: cfg.shape.connections,
            conn_ramp: if cfg.shape.rate.is_none() {
                cfg.shape.ramp_up
            } else {
                Duration::ZERO
            },
            start,
            seed: cfg.shape.seed,
        };
        first_conn += seat.connections;
        let (conn, mix, startup) = (cfg.conn.clone(), cfg.mix.clone(), startup.clone());
        let engine = cfg.engine;
        let tx = tx.clone();
        let (ptx, prx) = crossbeam_channel::unbounded();
        let h = std::thread::Builder::new()
            .name(format!("blast-worker-{i}"))
            .spawn(move || run_thread(engine, seat, conn, mix, startup, prx, tx))?;
        handles.push(h);
        phases.push(ptx);
    }
    Ok(Workers { handles, phases })
}

fn run_thread(
    engine: Engine,
    seat: Assignment,
    conn: Arc<ConnSettings>,
    mix: Arc<Mix>,
    startup: Arc<Startup>,
    phases: Receiver<Phase>,
    tx: Sender<Snapshot>,
) {
    if let Some(core) = seat.core {
        core_affinity::set_for_current(core);
    }
    // Held until after the runtime below is dropped, with every operation
    // it ran: io_uring writes read the mix's encoded requests in place, so
    // they must outlive every write (see `Shared::variant`).
    let _requests = mix.clone();
    let worker = seat.index;
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
    // The worker's state is built here, on its own thread, which so first
    // touches its stats and slots.
    // The ring engine needs EXT_ARG (5.11), buffer rings (5.19) and
    // multishot receive (6.0); a kernel without them runs tokio-uring.
    let connections = seat.connections;
    let shared = Shared::new(conn, mix, seat, startup);
    // A pipelined single request's batch is written in place too: held
    // as long as the mix.
    let _batch = shared.batch.clone();
    let ring_rt = match engine {
        Engine::Uring => ring::Runtime::new(connections, ring::Batch::from_env()).ok(),
        _ => None,
    };
    match (engine, ring_rt) {
        (Engine::Uring, Some(rt)) => {
            ring::block_on(&rt, main::<ring::Conn>(shared, phases, tx.clone()))
        }
        (Engine::Uring | Engine::TokioUring, _) => match io::uring::runtime(connections) {
            Ok(rt) => io::uring::block_on(&rt, main::<io::uring::Conn>(shared, phases, tx.clone())),
            Err(e) => failed(e),
        },
        (Engine::Epoll, _) => match io::epoll::runtime() {
            Ok(rt) => io::epoll::block_on(&rt, main::<io::epoll::Conn>(shared, phases, tx.clone())),
            Err(e) => failed(e),
        },
    }
}

async fn main<T: Transport + 'static>(
    shared: Shared,
    phases: Receiver<Phase>,
    tx: Sender<Snapshot>,
) {
    let seat = shared.seat.clone();
    let timeout = shared.conn.timeout;
    let w = Rc::new(shared);
    let tick = RATE_SAMPLE_EVERY
        .min(timeout / 4)
        .max(Duration::from_millis(1));
    let mut spawned = false;
    let mut stopped = false;

    while let Some(phase) = next_phase(&phases, &w, tick, timeout).await {
        if phase.requests == Some(0) {
            // Nothing to send: this worker's share of -n is empty.
            if phase.record {
                let mut snap = w
                    .stats
                    .borrow_mut()
                    .take_snapshot(seat.index, 0, Duration::ZERO);
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
            drain(&w, timeout, tick).await;
            phase.start = phase.start.max(Instant::now());
        }
        let rate = match phase.pace {
            PaceSpec::Closed => None,
            PaceSpec::Rate {
                total_per_sec,
                ramp,
                arrival,
            } => {
                let i = seat.index as u64;
                let rate = Rate::share(total_per_sec, seat.threads, i, ramp);
                Some(Schedule::new(rate, arrival, seat.threads, i))
            }
        };
        w.begin_phase(&phase, rate);
        if !spawned {
            spawned = true;
            for i in 0..seat.connections as usize {
                if w.conn.h2.is_some() {
                    rt::spawn_local(h2conn::run(w.clone(), i));
                } else if w.conn.pipelined() {
                    rt::spawn_local(pipeline::run::<T>(w.clone(), i));
                } else {
                    rt::spawn_local(conn::run::<T>(w.clone(), i));
                }
            }
        }
        let (seq, ended_at, all_done) = run_phase(&w, &phase, &seat, &tx, tick, timeout).await;
        let interrupted = stop_requested(&w);
        let in_flight = w.in_flight();
        let not_sent = w.pacer.not_sent(ended_at);
        let finish = phase.last || interrupted || all_done;
        if finish {
            w.stop_all();
            stopped = true;
            if w.life.live() > 0 {
                let _ = rt::timeout(STOP_GRACE, w.life.all_exited()).await;
            }
        } else {
            // Between phases nothing is sent; a late response of this phase
            // is dropped with the next phase's reset.
            w.pacer.idle();
        }
        if phase.record {
            let elapsed = ended_at.saturating_duration_since(phase.start);
            let mut stats = w.stats.borrow_mut();
            // The aggregator hands a phase's last counts back too: one
            // taken here for each, so `blast find`'s steps (a phase each)
            // do not pile sets up in the return channel.
            let mut snap = if finish {
                stats.take_final_snapshot(seat.index, seq, elapsed)
            } else {
                let left = w.life.startup.spares.take();
                stats.snapshot_leaving(left, seat.index, seq, elapsed)
            };
            drop(stats);
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
        rt::sleep(Duration::from_millis(1)).await;
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
        rt::sleep(tick.min(Duration::from_millis(1))).await;
        sweep_timeouts(w, Instant::now(), timeout);
    }
}

/// Tick until the phase ends. Returns the next snapshot number, when the
/// phase ended, and whether every connection has finished (-n done).
async fn run_phase(
    w: &Shared,
    phase: &Phase,
    seat: &Assignment,
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
        let exited = w.life.all_exited();
        tokio::select! {
            _ = rt::sleep_until(wake) => {}
            _ = exited => return (seq, Instant::now(), true),
        }
        let now = Instant::now();
        while next_tick <= now {
            next_tick += tick;
        }
        sweep_timeouts(w, now, timeout);
        if phase.record && now >= next_sample {
            let total = shipped + w.stats.borrow().counts.requests;
            let dt = (now - (next_sample - RATE_SAMPLE_EVERY)).as_secs_f64();
            let rate = ((total - at_last_sample) as f64 / dt).round() as u64;
            // A sample without a response is 0 req/s (a stall, or a run
            // that got none), which the histogram holds as it is.
            let rate = rate.min(MAX_RATE);
            grow_record(&mut w.stats.borrow_mut().counts.rate, rate);
            at_last_sample = total;
            while next_sample <= now {
                next_sample += RATE_SAMPLE_EVERY;
            }
        }
        if phase.record && now >= next_snapshot {
            // The interval's counts leave a set the aggregator handed back.
            let left = w.life.startup.spares.take();
            let mut snap =
                w.stats
                    .borrow_mut()
                    .snapshot_leaving(left, seat.index, seq, next_snapshot - start);
            (snap.open, snap.in_flight) = (w.open_connections(), w.in_flight());
            shipped += snap.counts.requests;
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
    INTERRUPT.load(Ordering::Relaxed) || w.life.startup.aborted()
}

/// Shut down the socket of every request older than `timeout`; its
/// connection sees `timed_out` when the read returns.
fn sweep_timeouts(w: &Shared, now: Instant, timeout: Duration) {
    for s in &w.slots {
        if let Some(since) = s.since.get() {
            if !s.timed_out.get() && now.saturating_duration_since(since) >= timeout {
                s.timed_out.set(true);
                io::shutdown_fd(s.fd.get());
                if let Some(waker) = s.waker.take() {
                    waker.wake();
                }
            }
        }
    }
}
