//! What a worker's connection tasks share, on one thread, composed of one
//! part per concern: the connection settings (`ConnSettings`, the same for
//! every worker), the requests and the worker's draw state over them, the
//! pacer, the lifecycle, one `Slot` per request in flight, and the stats.
//! The pacer, lifecycle, slots and stats are fields of the one `Rc`, not
//! behind pointers of their own, so a request reaches each with no extra
//! indirection; the HTTP/1.1 loop reads what it needs of the settings,
//! behind their `Arc`, once per connection.

use super::io;
use super::lifecycle::{Lifecycle, Startup};
use super::mix::{Chooser, Cursor, Mix, Pick, Variant};
use super::pace::Schedule;
use super::pacer::{Due, Pacer, Phase};
use super::tokens::TokenClock;
use super::ConnSettings;
use crate::stats::{Judged, Stats};
use std::cell::{Cell, RefCell};
use std::net::IpAddr;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

/// A worker's assignment: its place among the workers, its core, its
/// share of the connections, and when the run started.
#[derive(Clone, Debug)]
pub struct Assignment {
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
    /// The run's seed: this worker draws from it (and its index).
    pub seed: u64,
}

/// What the worker and a connection share about its request in flight
/// (over HTTP/2, one slot per concurrent request of a connection).
pub struct Slot {
    /// The open socket, or -1.
    pub fd: Cell<RawFd>,
    /// When the outstanding request was written (None: no request out).
    pub since: Cell<Option<Instant>>,
    /// Set by the worker's sweep when `since` is older than `--timeout`.
    pub timed_out: Cell<bool>,
    /// An HTTP/2 stream's lane, woken by the sweep that marks it late (an
    /// HTTP/1.1 request's read ends when the sweep shuts its socket).
    pub waker: Cell<Option<Waker>>,
}

impl Default for Slot {
    fn default() -> Self {
        Slot {
            fd: Cell::new(-1),
            since: Cell::new(None),
            timed_out: Cell::new(false),
            waker: Cell::new(None),
        }
    }
}

/// Where a connection's next request stands before it is written. It
/// carries over when the request is sent again (a stale connection, a
/// refused stream): the same request, the same due time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Hold {
    /// None held: claim one from `-n` and pick it from the mix.
    Empty,
    /// Claimed and picked: take its due time from the pacer.
    Claimed,
    /// Closed loop: write it now; latency counts from the write.
    Now,
    /// Paced and waited for: write it; latency counts from this due time
    /// (or from the write, when that came a little early).
    Due(Instant),
}

/// The request a connection (an HTTP/2 lane) holds, and where the
/// connection is in the mix.
pub struct Held {
    pub hold: Hold,
    /// The request claimed (valid unless `hold` is `Empty`).
    pub pick: Pick,
    cursor: Cursor,
}

impl Default for Held {
    fn default() -> Self {
        Held {
            hold: Hold::Empty,
            pick: Pick {
                name: 0,
                variant: 0,
            },
            cursor: Cursor::default(),
        }
    }
}

impl Held {
    /// The request was answered, or failed: the next one is a new one.
    #[inline]
    pub fn done(&mut self) {
        self.hold = Hold::Empty;
    }

    /// When the latency of the request written at `t0` counts from.
    #[inline]
    pub fn from(&self, t0: Instant) -> Instant {
        match self.hold {
            Hold::Due(d) => d.min(t0),
            _ => t0,
        }
    }
}

/// State a worker's connection tasks share, on one thread only.
pub struct Shared {
    /// How to connect and speak, the same for every worker.
    pub conn: Arc<ConnSettings>,
    /// What the connections send, and the worker's draw state for it.
    pub mix: Arc<Mix>,
    /// A pipelined single request's batch: `--pipeline` copies of its
    /// bytes, built once, written in place (`batch_bytes`); else empty.
    pub batch: Arc<[u8]>,
    chooser: Cell<Chooser>,
    pub pacer: Pacer,
    pub life: Lifecycle,
    /// This worker's share of the connections, for the ramp and `--source`.
    pub(super) seat: Assignment,
    /// One per connection (over HTTP/2, one per concurrent request).
    pub slots: Vec<Slot>,
    pub stats: RefCell<Stats>,
}

/// A worker's stats, held past a borrow by what outlives one (the HTTP/2
/// connection's byte stream, driven by its own task): that code sees the
/// stats and nothing else of the worker's state.
#[derive(Clone)]
pub struct StatsHandle(Rc<Shared>);

impl StatsHandle {
    pub fn new(w: &Rc<Shared>) -> Self {
        StatsHandle(w.clone())
    }

    #[inline]
    pub fn get(&self) -> &RefCell<Stats> {
        &self.0.stats
    }
}

impl Shared {
    /// A worker's state, built on its own thread.
    pub(super) fn new(
        conn: Arc<ConnSettings>,
        mix: Arc<Mix>,
        seat: Assignment,
        startup: Arc<Startup>,
    ) -> Self {
        let slots = (0..seat.connections * conn.per_conn())
            .map(|_| Slot::default())
            .collect();
        let batch: Arc<[u8]> = match mix.variants.first() {
            Some(v) if mix.single && conn.pipelined() => {
                v.bytes.repeat(conn.pipeline as usize).into()
            }
            _ => Arc::from(&[][..]),
        };
        Shared {
            batch,
            chooser: Cell::new(Chooser::new(seat.seed, seat.index)),
            life: Lifecycle::new(seat.connections, startup),
            stats: RefCell::new(
                Stats::with_names(mix.names.len()).with_checks(mix.check_slots.len()),
            ),
            conn,
            mix,
            pacer: Pacer::default(),
            seat,
            slots,
        }
    }

    /// The first `k` copies of a pipelined single request (`batch`).
    pub fn batch_bytes(&self, k: usize) -> &'static [u8] {
        let b = &self.batch[..self.batch.len() / self.conn.pipeline.max(1) as usize * k];
        // SAFETY: as for `variant`: the worker thread holds an `Arc` of
        // the batch (`worker::run_thread`) until after its runtime, and so
        // every write it submitted, is dropped.
        unsafe { &*(b as *const [u8]) }
    }

    /// Record a complete response: latency from when it was due (`from`)
    /// and service time from its write (`written`) to its end (`now`, one
    /// clock reading the caller took: the ring's reap, or the clock). Its
    /// time to first byte, if still to be taken, is `record_ttfb` at `now`.
    #[inline]
    pub fn record_response(
        &self,
        name: u16,
        status: u16,
        outcome: Judged,
        from: Instant,
        written: Instant,
        now: Instant,
    ) {
        let us = |t: Instant| now.saturating_duration_since(t).as_micros() as u64;
        let mut stats = self.stats.borrow_mut();
        let latency = us(from);
        stats.record_judged(status, outcome, latency, us(written));
        stats.record_name_response(name, status, outcome, latency);
    }

    /// `run.n` pipelined responses judged by their status alone, all to
    /// the request named `run.name` with the same status, written (and due)
    /// at `run.written`, complete at `run.read_at`: the clock reading taken
    /// when the read that completed them returned. `run.ttfb` of them began
    /// in that read too.
    #[inline]
    pub fn record_piped(&self, run: &PipedRun) {
        let us = run
            .read_at
            .saturating_duration_since(run.written)
            .as_micros() as u64;
        let outcome = Judged::of_status(run.status);
        let (name, status, n, ttfb) = (run.name, run.status, run.n, run.ttfb);
        self.stats
            .borrow_mut()
            .record_piped(name, status, outcome, us, n, ttfb);
    }

    /// A streamed response completed now: its token metrics (if it carried
    /// any content) go into this worker's counts.
    /// A response that `failed` (a check) never counts toward goodput.
    pub fn record_tokens(&self, clock: &mut TokenClock, from: Instant, failed: bool) {
        let mut stats = self.stats.borrow_mut();
        if stats.recording {
            clock.finish(
                from,
                Instant::now(),
                &self.conn.goodput,
                failed,
                &mut stats.counts.stream,
            );
        } else {
            clock.reset();
        }
    }

    /// Record a time to first byte, at `now`: the body began before the end.
    #[inline]
    pub fn record_ttfb(&self, from: Instant, now: Instant) {
        let us = now.saturating_duration_since(from).as_micros() as u64;
        self.stats.borrow_mut().record_ttfb(us);
    }

    /// Claim a request from `-n` and pick it, unless one is held. False:
    /// the budget is spent.
    #[inline]
    pub fn claim(&self, held: &mut Held) -> bool {
        if matches!(held.hold, Hold::Empty) {
            if !self.pacer.claim() {
                return false;
            }
            held.pick = self.pick(&mut held.cursor);
            held.hold = Hold::Claimed;
        }
        true
    }

    /// The opening of every request, HTTP/1.1 or a lane of HTTP/2: claim
    /// and pick it, then wait until it is due (between phases, for the
    /// next phase). False: the connection ends (the `-n` budget is spent,
    /// or the worker stopped).
    #[inline]
    pub async fn ready(&self, held: &mut Held) -> bool {
        loop {
            if self.life.stopped() || !self.claim(held) {
                return false;
            }
            if !matches!(held.hold, Hold::Claimed) {
                return true;
            }
            match self.pacer.next_due() {
                Due::Now => held.hold = Hold::Now,
                Due::At(t) => {
                    if !self.pacer.wait_until(t, &self.life).await {
                        return false;
                    }
                    self.pacer.paced_write();
                    held.hold = Hold::Due(t);
                }
                Due::Idle(seen) => {
                    if !self.pacer.wait_phase(seen, &self.life).await {
                        return false;
                    }
                    continue;
                }
            }
            return true;
        }
    }

    /// The held request's step failed to capture: count the rest of its
    /// sequence run as skipped and begin a new run with the next claim.
    pub fn skip_rest(&self, held: &mut Held) {
        let mut stats = self.stats.borrow_mut();
        self.mix
            .skip_rest(&mut held.cursor, |name| stats.record_skipped(name));
    }

    /// The next request of the connection at `c`, and its variant.
    #[inline]
    fn pick(&self, c: &mut Cursor) -> Pick {
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
        if !self.thinks() || !self.pacer.is_closed() {
            return true;
        }
        let mut ch = self.chooser.get();
        let d = ch.think(t);
        self.chooser.set(ch);
        d.is_zero() || self.life.sleep_unless_stopped(d).await
    }

    /// Closed loop with `--ramp-up`: when connection `idx` may open.
    pub fn conn_start(&self, idx: usize) -> Instant {
        let s = &self.seat;
        if s.conn_ramp.is_zero() || s.total_conns == 0 {
            return s.start;
        }
        let share = (s.first_conn + idx as u64) as f64 / s.total_conns as f64;
        s.start + s.conn_ramp.mul_f64(share)
    }

    /// Closed loop over stages: is connection `idx`'s user on now?
    #[inline]
    pub fn user_on(&self, idx: usize) -> bool {
        self.pacer
            .user_on(self.seat.first_conn + idx as u64)
            .is_ok()
    }

    /// Closed loop over stages: wait until connection `idx`'s user is on
    /// (sleeping until the target reaches it, or the run ends). False if
    /// the worker stopped.
    pub async fn user_turn(&self, idx: usize) -> bool {
        let g = self.seat.first_conn + idx as u64;
        loop {
            if self.life.stopped() {
                return false;
            }
            let wait = match self.pacer.user_on(g) {
                Ok(()) => return true,
                // A millisecond past the crossing, so the target is there.
                Err(Some(at)) => {
                    at.saturating_duration_since(Instant::now()) + Duration::from_millis(1)
                }
                // Never again in this run: wait for its end.
                Err(None) => Duration::from_secs(365 * 86_400),
            };
            if !self.life.sleep_unless_stopped(wait).await {
                return false;
            }
        }
    }

    /// `--source`: the local address of connection `idx`, round-robin by
    /// its index over all threads so every address gets an even share.
    pub fn source_of(&self, idx: usize) -> Option<IpAddr> {
        let sources = &self.conn.sources;
        let n = sources.len() as u64;
        (n > 0).then(|| sources[((self.seat.first_conn + idx as u64) % n) as usize])
    }

    /// Requests written and not yet answered. An HTTP/1.1 request the sweep
    /// found late is not in flight: its connection counts it as a timeout
    /// as it ends (also when the end of the run ends it). HTTP/2 streams
    /// time out on their own clock, so their slots stay counted.
    pub(super) fn in_flight(&self) -> u64 {
        let h1 = self.conn.h2.is_none();
        self.slots
            .iter()
            .filter(|s| s.since.get().is_some() && !(h1 && s.timed_out.get()))
            .count() as u64
    }

    /// Connections with an open socket (HTTP/2: connections running, as
    /// its streams share one socket the slots do not hold). Read once per
    /// interval for the live metrics.
    pub(super) fn open_connections(&self) -> u64 {
        if self.conn.h2.is_some() {
            return self.life.live() as u64;
        }
        self.slots.iter().filter(|s| s.fd.get() >= 0).count() as u64
    }

    pub(super) fn begin_phase(&self, p: &Phase, sched: Option<Schedule>) {
        {
            let mut s = self.stats.borrow_mut();
            s.reset();
            s.recording = p.record;
        }
        self.pacer.begin_phase(p, sched);
    }

    pub(super) fn stop_all(&self) {
        self.life.stop();
        self.pacer.wake_all();
        for s in &self.slots {
            io::shutdown_fd(s.fd.get());
        }
    }
}

/// Responses alike (same name and status, same batch, completed by the
/// same read, so the same latency), recorded together: a read that
/// completes 16 answers records once, not 16 times. Recorded before the
/// connection waits for anything (the next read, the end of the batch),
/// so no other task ever sees it part-way.
pub struct PipedRun {
    pub name: u16,
    pub status: u16,
    /// How many; `ttfb` of them began in the read that completed them.
    pub n: u64,
    pub ttfb: u64,
    pub written: Instant,
    pub read_at: Instant,
}

impl PipedRun {
    #[inline]
    pub fn push(
        &mut self,
        w: &Shared,
        name: u16,
        status: u16,
        ttfb: bool,
        written: Instant,
        read_at: Instant,
    ) {
        let alike = self.name == name
            && self.status == status
            && self.written == written
            && self.read_at == read_at;
        if !alike {
            self.flush(w);
            (self.name, self.status, self.written, self.read_at) = (name, status, written, read_at);
        }
        self.n += 1;
        self.ttfb += u64::from(ttfb);
    }

    #[inline]
    pub fn flush(&mut self, w: &Shared) {
        if self.n > 0 {
            w.record_piped(self);
            self.n = 0;
            self.ttfb = 0;
        }
    }
}
