//! The ring itself: built with the cheapest setup the kernel accepts, each
//! feature probed and dropped alone when refused; one `io_uring_enter` per
//! loop turn that submits everything queued and waits, bounded, for a batch
//! of completions; and the completions' dispatch to sockets (multishot
//! receives into the provided buffer ring, failed sends) and one-shot
//! operations (connect polls, owned sends).

use super::bufring::{BufRing, BGID};
use super::socks::Socks;
use io_uring::{opcode, squeue, types, IoUring};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

const IORING_REGISTER_RING_FDS: libc::c_uint = 20;
const IORING_ENTER_GETEVENTS: libc::c_uint = 1;
const IORING_ENTER_EXT_ARG: libc::c_uint = 8;
const IORING_ENTER_REGISTERED_RING: libc::c_uint = 16;

/// What a completion's user_data names (its top byte).
pub(super) const K_NONE: u64 = 0;
pub(super) const K_OP: u64 = 1;
pub(super) const K_RECV: u64 = 2;
pub(super) const K_SEND: u64 = 3;

/// Kind, generation (24 bits, so a late completion of a freed slot is
/// recognised) and slot index, packed as a completion's user_data.
pub(super) fn ud(kind: u64, gen: u32, idx: u32) -> u64 {
    kind << 56 | (gen as u64 & 0xff_ffff) << 32 | idx as u64
}

fn parse_ud(ud: u64) -> (u64, u32, u32) {
    (ud >> 56, (ud >> 32) as u32 & 0xff_ffff, ud as u32)
}

/// How the loop waits: for up to `batch` completions, at most `wait_us`
/// beyond the first (kernel 6.12's min-wait); `batch` 1 is no batching.
#[derive(Clone, Copy, Debug)]
pub struct Batch {
    pub batch: u32,
    pub wait_us: u32,
}

enum OpState {
    Free,
    Waiting(Option<Waker>),
    Done(i32),
    /// Its future was dropped first: the buffer the kernel may still read
    /// stays here until the completion (or cancellation) comes.
    Orphan(#[allow(dead_code)] Option<Vec<u8>>),
}

struct Op {
    gen: u32,
    state: OpState,
}

pub(super) struct Driver {
    // Dropped first: closing the ring ends every operation before the
    // buffers they use go.
    ring: IoUring,
    pub bufs: BufRing,
    pub socks: Socks,
    ops: Vec<Op>,
    free_ops: Vec<u32>,
    /// Tasks waiting on a completion (readers, one-shot operations): the
    /// most completions a wait may ask for.
    pub waiting: usize,
    /// Entries queued since the last enter, and the count of enters, so a
    /// socket closing knows whether one of its entries is still unsubmitted.
    queued: u32,
    pub epoch: u64,
    reg: Option<u32>,
    /// The registered file table (empty without one): socket slot `i`
    /// below its length is file `i`, its entry the fd an update reads.
    pub files: Box<[RawFd]>,
    min_wait: bool,
    batch: Batch,
    cqes: Vec<(u64, i32, u32)>,
    /// Completions per turn and µs per turn lately, and when the last turn ended.
    recent: (f64, f64),
    last_turn: Instant,
    /// The features the kernel accepted, for the engine's one-line notice.
    pub features: Vec<&'static str>,
}

impl Driver {
    pub fn new(connections: u64, batch: Batch) -> io::Result<Driver> {
        let sq = connections.next_power_of_two().clamp(256, 4096) as u32;
        let cq = connections
            .saturating_mul(4)
            .next_power_of_two()
            .clamp(1024, 65536) as u32;
        let mut features = Vec::new();
        let ring = build(sq, cq, &mut features)?;
        if !ring.params().is_feature_ext_arg() {
            return Err(io::Error::other("no IORING_FEAT_EXT_ARG (kernel 5.11)"));
        }
        let nbufs = connections
            .saturating_mul(2)
            .next_power_of_two()
            .clamp(64, 1024) as u16;
        let bufs = BufRing::new(ring.as_raw_fd(), nbufs)?;
        features.push("buf_ring");
        let reg = register_ring_fd(ring.as_raw_fd());
        if reg.is_some() {
            features.push("registered_ring_fd");
        }
        if ring.params().is_feature_skip_cqe_on_success() {
            features.push("send_skip_success");
        }
        let files = register_files(&ring, connections);
        if !files.is_empty() {
            features.push("fixed_files");
        }
        let mut d = Driver {
            ring,
            bufs,
            socks: Socks::default(),
            ops: Vec::new(),
            free_ops: Vec::new(),
            waiting: 0,
            queued: 0,
            epoch: 0,
            reg,
            files,
            min_wait: true,
            batch,
            cqes: Vec::with_capacity(cq as usize),
            recent: (0.0, 1.0),
            last_turn: Instant::now(),
            features,
        };
        d.min_wait = has_min_timeout();
        if d.min_wait {
            d.features.push("min_wait");
        }
        d.probe_multishot()?;
        Ok(d)
    }

    /// A multishot receive on a socket pair's end: EINVAL before kernel 6.0.
    fn probe_multishot(&mut self) -> io::Result<()> {
        let mut fds = [0; 2];
        // SAFETY: a fresh pair, closed below.
        if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        self.push(
            &opcode::RecvMulti::new(types::Fd(fds[0]), BGID)
                .build()
                .user_data(ud(K_NONE, 0, 1)),
        );
        // SAFETY: our end of the pair; the receive then ends with 0.
        unsafe { libc::shutdown(fds[0], libc::SHUT_RDWR) };
        let n = self.take_queued();
        let r = self.enter_raw(n, 1, Some(Duration::from_secs(1)), 0);
        let mut res = None;
        // SAFETY: the only completion queue view alive.
        for cqe in unsafe { self.ring.completion_shared() } {
            res = Some(cqe.result());
        }
        // SAFETY: the pair made above.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        r?;
        match res {
            Some(r) if r >= 0 => {
                self.features.push("multishot_recv");
                Ok(())
            }
            Some(r) => Err(io::Error::from_raw_os_error(-r)),
            None => Err(io::Error::other(
                "multishot receive probe got no completion",
            )),
        }
    }

    /// Queue an entry for the next enter (submitting first if the queue is full).
    pub fn push(&mut self, e: &squeue::Entry) {
        loop {
            // SAFETY: one thread uses this ring, and no other view of the
            // submission queue is alive.
            let mut sq = unsafe { self.ring.submission_shared() };
            // SAFETY: every entry's buffers outlive its operation: static
            // requests, the buffer ring, or owned buffers kept as orphans.
            if unsafe { sq.push(e) }.is_ok() {
                self.queued += 1;
                return;
            }
            drop(sq);
            let n = self.take_queued();
            let _ = self.enter_raw(n, 0, None, 0);
        }
    }

    fn take_queued(&mut self) -> u32 {
        self.epoch += 1;
        std::mem::replace(&mut self.queued, 0)
    }

    /// Submit what is queued without waiting (a socket is about to close).
    pub fn flush(&mut self) {
        if self.queued > 0 {
            let n = self.take_queued();
            let _ = self.enter_raw(n, 0, None, 0);
        }
    }

    /// One turn: submit everything, wait (if `wait`) for a batch of
    /// completions, at most `timeout`, then dispatch them all. Returns the
    /// time read right after: the time of every completion it reaped.
    pub fn turn(&mut self, wait: bool, timeout: Option<Duration>) -> io::Result<Instant> {
        let want = match (wait, self.min_wait) {
            (false, _) => 0,
            (true, true) => self.batch_now(),
            (true, false) => 1,
        };
        let min_wait = if want > 1 { self.batch.wait_us } else { 0 };
        let n = self.take_queued();
        self.enter_raw(n, want, timeout, min_wait)?;
        let reaped = self.reap();
        // Completions and time, each smoothed over the last few turns: their
        // ratio is the recent rate (an average of per-turn ratios would be
        // inflated by the short turns that find a few completions waiting).
        let now = Instant::now();
        let us = now.saturating_duration_since(self.last_turn).as_secs_f64() * 1e6;
        self.last_turn = now;
        self.recent.0 += (reaped as f64 - self.recent.0) / 8.0;
        self.recent.1 += (us - self.recent.1) / 8.0;
        Ok(now)
    }

    /// Completions to wait for: as many as arrive within the bound at the
    /// recent rate, at most `batch` and the tasks waiting. While they keep
    /// coming, a wait ends when its batch is in, well before the bound;
    /// when they slow down, it asks for one and adds no wait at all.
    fn batch_now(&self) -> u32 {
        let (n, us) = self.recent;
        let expected = (n / us.max(1.0) * self.batch.wait_us as f64) as u32;
        expected
            .min(self.batch.batch)
            .min(self.waiting as u32)
            .max(1)
    }

    fn enter_raw(
        &self,
        submit: u32,
        want: u32,
        ts: Option<Duration>,
        min_wait_us: u32,
    ) -> io::Result<()> {
        let ts = ts.map(|d| {
            types::Timespec::new()
                .sec(d.as_secs())
                .nsec(d.subsec_nanos())
        });
        let tsp = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const types::Timespec);
        // struct io_uring_getevents_arg { sigmask u64, sigmask_sz u32, min_wait_usec u32, ts u64 }
        let arg = [0u64, (min_wait_us as u64) << 32, tsp as u64];
        let (fd, reg) = match self.reg {
            Some(i) => (i as libc::c_int, IORING_ENTER_REGISTERED_RING),
            None => (self.ring.as_raw_fd(), 0),
        };
        // SAFETY: the ring is ours; `arg` and the timespec it points to
        // live across the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_io_uring_enter,
                fd,
                submit,
                want,
                IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG | reg,
                arg.as_ptr(),
                24usize,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            // Interrupted, completions to reap first, or the wait is over: not errors.
            if !matches!(
                e.raw_os_error(),
                Some(libc::EINTR | libc::EAGAIN | libc::EBUSY | libc::ETIME)
            ) {
                return Err(e);
            }
        }
        Ok(())
    }

    fn reap(&mut self) -> usize {
        let mut cqes = std::mem::take(&mut self.cqes);
        // SAFETY: the only completion queue view alive.
        for cqe in unsafe { self.ring.completion_shared() } {
            cqes.push((cqe.user_data(), cqe.result(), cqe.flags()));
        }
        for &(u, res, flags) in &cqes {
            let (kind, gen, idx) = parse_ud(u);
            match kind {
                K_OP => self.op_done(idx, gen, res),
                K_RECV => {
                    let woke = self.socks.received(idx, gen, res, flags, &mut self.bufs);
                    self.waiting -= usize::from(woke);
                }
                K_SEND => {
                    let woke = self.socks.send_failed(idx, gen, res);
                    self.waiting -= usize::from(woke);
                }
                _ => {}
            }
        }
        let n = cqes.len();
        cqes.clear();
        self.cqes = cqes;
        self.bufs.publish();
        n
    }

    /// Start a one-shot operation; poll it with `op_poll`.
    pub fn op_start(&mut self, e: squeue::Entry) -> (u32, u32) {
        let i = match self.free_ops.pop() {
            Some(i) => i,
            None => {
                self.ops.push(Op {
                    gen: 0,
                    state: OpState::Free,
                });
                self.ops.len() as u32 - 1
            }
        };
        let op = &mut self.ops[i as usize];
        op.state = OpState::Waiting(None);
        let gen = op.gen;
        self.push(&e.user_data(ud(K_OP, gen, i)));
        (i, gen)
    }

    pub fn op_poll(&mut self, i: u32, cx: &mut Context<'_>) -> Poll<i32> {
        let op = &mut self.ops[i as usize];
        match &mut op.state {
            OpState::Done(r) => {
                let r = *r;
                self.free_op(i);
                Poll::Ready(r)
            }
            OpState::Waiting(w) => {
                if w.is_none() {
                    self.waiting += 1;
                }
                *w = Some(cx.waker().clone());
                Poll::Pending
            }
            _ => Poll::Pending,
        }
    }

    /// The operation's future is gone: cancel it if it is still running,
    /// keeping `buf` until the kernel is done with it.
    pub fn op_drop(&mut self, i: u32, gen: u32, buf: Option<Vec<u8>>) {
        let op = &mut self.ops[i as usize];
        if op.gen != gen {
            return;
        }
        match std::mem::replace(&mut op.state, OpState::Orphan(buf)) {
            OpState::Done(_) => self.free_op(i),
            OpState::Waiting(w) => {
                self.waiting -= usize::from(w.is_some());
                self.push(
                    &opcode::AsyncCancel::new(ud(K_OP, gen, i))
                        .build()
                        .user_data(ud(K_NONE, 0, 0)),
                );
            }
            _ => {}
        }
    }

    fn op_done(&mut self, i: u32, gen: u32, res: i32) {
        let Some(op) = self
            .ops
            .get_mut(i as usize)
            .filter(|o| o.gen & 0xff_ffff == gen)
        else {
            return;
        };
        match std::mem::replace(&mut op.state, OpState::Done(res)) {
            OpState::Waiting(Some(w)) => {
                self.waiting -= 1;
                w.wake();
            }
            OpState::Orphan(_) => self.free_op(i),
            _ => {}
        }
    }

    fn free_op(&mut self, i: u32) {
        let op = &mut self.ops[i as usize];
        op.state = OpState::Free;
        op.gen = op.gen.wrapping_add(1) & 0xff_ffff;
        self.free_ops.push(i);
    }
}

/// The ring with the cheapest setup the kernel accepts: SINGLE_ISSUER +
/// DEFER_TASKRUN (6.1) runs completions in our own enter, in one batch;
/// else COOP_TASKRUN (5.19) saves an interrupt per completion; else plain.
fn build(sq: u32, cq: u32, features: &mut Vec<&'static str>) -> io::Result<IoUring> {
    let mut b = IoUring::builder();
    b.setup_cqsize(cq)
        .setup_submit_all()
        .setup_single_issuer()
        .setup_defer_taskrun();
    if let Ok(r) = b.build(sq) {
        features.push("single_issuer+defer_taskrun");
        return Ok(r);
    }
    let mut b = IoUring::builder();
    b.setup_cqsize(cq).setup_coop_taskrun();
    if let Ok(r) = b.build(sq) {
        features.push("coop_taskrun");
        return Ok(r);
    }
    IoUring::builder().setup_cqsize(cq).build(sq)
}

/// IORING_FEAT_MIN_TIMEOUT (6.12), which io-uring 0.6 does not name: read
/// from the features of a throwaway ring set up by hand.
fn has_min_timeout() -> bool {
    const IORING_FEAT_MIN_TIMEOUT: u32 = 1 << 15;
    // struct io_uring_params is 120 bytes; `features` is the u32 at byte 20.
    let mut p = [0u32; 30];
    // SAFETY: a zeroed params struct of the right size; the fd is closed below.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, p.as_mut_ptr()) };
    if fd < 0 {
        return false;
    }
    // SAFETY: the fd made above.
    unsafe { libc::close(fd as RawFd) };
    p[5] & IORING_FEAT_MIN_TIMEOUT != 0
}

/// A sparse table of registered files (5.19), one per socket slot, so an
/// entry names its socket by slot and the kernel skips the fd lookup and
/// its reference count (`fget`/`fput`) per operation. Sized for twice the
/// connections (a closing socket holds its slot until its receive ends),
/// within RLIMIT_NOFILE; a slot beyond it, or no table, uses plain fds.
fn register_files(ring: &IoUring, connections: u64) -> Box<[RawFd]> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a plain getrlimit into a struct of the right type.
    let nofile = match unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } {
        0 => lim.rlim_cur,
        _ => 1024,
    };
    let n = connections
        .saturating_mul(2)
        .clamp(64, 65536)
        .min(nofile as u64) as u32;
    match ring.submitter().register_files_sparse(n) {
        Ok(()) => vec![-1; n as usize].into_boxed_slice(),
        Err(_) => Box::default(),
    }
}

/// Register the ring's own fd (5.18): each enter skips the fd lookup.
fn register_ring_fd(fd: RawFd) -> Option<u32> {
    // struct io_uring_rsrc_update { offset u32, resv u32, data u64 }
    let mut up = [u32::MAX as u64, fd as u64];
    // SAFETY: one correctly laid out update for a ring we own.
    let r = unsafe {
        libc::syscall(
            libc::SYS_io_uring_register,
            fd,
            IORING_REGISTER_RING_FDS,
            up.as_mut_ptr(),
            1,
        )
    };
    (r == 1).then_some(up[0] as u32)
}
