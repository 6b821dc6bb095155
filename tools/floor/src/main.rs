//! floor: the cheapest correct HTTP/1.1 keep-alive client for this box.
//!
//! N connections to one loopback address, one thread pinned to one CPU, the
//! same fixed request written again and again (one in flight per
//! connection), a minimal response check (status line, Content-Length or
//! chunked framing), responses counted. It is the limit blast's requests per
//! client CPU-second are judged against, so it uses every io_uring feature
//! that takes work off the request path:
//!
//! - SINGLE_ISSUER + DEFER_TASKRUN: completions are run in our own
//!   `io_uring_enter`, in one batch, instead of interrupting the thread as
//!   task work after every packet (falls back, with a message, if refused).
//! - registered ring fd: `io_uring_enter` skips the fd table lookup and
//!   reference count on every call.
//! - registered files: sends and receives name sockets by index, skipping
//!   the fd lookup and reference count per operation.
//! - multishot recv with a provided buffer ring: one receive armed per
//!   connection for the whole run; the kernel picks a buffer per packet, so
//!   there is no receive submission per request and no buffer per connection.
//! - sends with CQE_SKIP_SUCCESS: a send that succeeds posts no completion.
//! - batched submits: all sends of one batch go in the next single
//!   `io_uring_enter`, which also waits for the next completions.
//! - no busy polling (no SQPOLL, IOPOLL or SO_BUSY_POLL): they burn CPU to
//!   save latency, the opposite of what is measured here.
//!
//! io-uring 0.6 (blast's version) has no wrappers for the registered ring fd
//! or buffer rings, so those two are raw `io_uring_register` calls, and
//! `io_uring_enter` is called directly to pass the registered index.
//!
//! Usage: floor [-c CONNS] [-d SECS | -n REQUESTS] [--cpu CPU] [--batch N]
//!              [--min-wait-us US] http://127.0.0.1:PORT/PATH
//! Prints one JSON line: requests, elapsed, rps and its own user+sys CPU.
//! `--batch N` waits for up to N completions per `io_uring_enter` instead of
//! one (fewer wake-ups per request, more latency); `--min-wait-us` bounds
//! that wait once one completion is there (kernel 6.12+). Both off by
//! default: the plain floor waits for one.

use io_uring::{cqueue, opcode, squeue, types, IoUring};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;

// Kernel ABI constants that io-uring 0.6 keeps private.
const IORING_REGISTER_RING_FDS: libc::c_uint = 20;
const IORING_REGISTER_PBUF_RING: libc::c_uint = 22;
const IORING_ENTER_GETEVENTS: libc::c_uint = 1;
const IORING_ENTER_REGISTERED_RING: libc::c_uint = 16;
const IORING_ENTER_EXT_ARG: libc::c_uint = 8;

const BUF_SIZE: usize = 4096; // one provided receive buffer
const BGID: u16 = 0; // buffer group id of the ring
const TIMER: u64 = u64::MAX; // user_data of the duration timeout
const SEND: u64 = 1 << 32; // user_data kind bit: a (failed) send; else a recv

struct Args {
    conns: usize,
    secs: f64,
    requests: u64,
    cpu: Option<usize>,
    batch: u32,
    min_wait_us: u32,
    addr: SocketAddr,
    host: String,
    path: String,
}

fn usage(msg: &str) -> ! {
    eprintln!("floor: {msg}\nusage: floor [-c CONNS] [-d SECS | -n REQUESTS] [--cpu CPU] [--batch N] [--min-wait-us US] http://127.0.0.1:PORT/PATH");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        conns: 64,
        secs: 5.0,
        requests: 0,
        cpu: None,
        batch: 1,
        min_wait_us: 0,
        addr: "127.0.0.1:80".parse().unwrap(),
        host: String::new(),
        path: "/".into(),
    };
    let mut url = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "-c" => a.conns = val().parse().unwrap_or_else(|_| usage("bad -c")),
            "-d" => {
                a.secs = val()
                    .trim_end_matches('s')
                    .parse()
                    .unwrap_or_else(|_| usage("bad -d"))
            }
            "-n" => a.requests = val().parse().unwrap_or_else(|_| usage("bad -n")),
            "--cpu" => a.cpu = Some(val().parse().unwrap_or_else(|_| usage("bad --cpu"))),
            "--batch" => a.batch = val().parse().unwrap_or_else(|_| usage("bad --batch")),
            "--min-wait-us" => {
                a.min_wait_us = val().parse().unwrap_or_else(|_| usage("bad --min-wait-us"))
            }
            _ if url.is_none() && !arg.starts_with('-') => url = Some(arg),
            _ => usage(&format!("unknown argument {arg}")),
        }
    }
    let url = url.unwrap_or_else(|| usage("no URL"));
    let rest = url.strip_prefix("http://").unwrap_or(&url);
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    a.addr = host
        .parse()
        .unwrap_or_else(|_| usage("URL host must be IP:PORT"));
    if !a.addr.ip().is_loopback() {
        usage("only loopback addresses");
    }
    a.host = host.into();
    if !path.is_empty() {
        a.path = path.into();
    }
    if a.conns == 0 || a.conns > 60_000 {
        usage("-c must be 1..60000");
    }
    a
}

/// Where a connection is in the response it is reading.
enum State {
    Head,         // reading the status line and headers
    Body(u64),    // Content-Length bytes left
    Chunk(Chunk), // chunked body
}

/// Chunked framing, one byte at a time except for chunk data.
#[derive(Clone, Copy)]
enum Chunk {
    Size(u64, bool), // hex size so far, inside a chunk extension
    SizeLf(u64),
    Data(u64),
    DataCr,
    DataLf,
    Trail(usize), // trailer line length so far; an empty line ends the body
    TrailLf(usize),
}

struct Conn {
    state: State,
    head: Vec<u8>, // only used when a header is split across receives
    open: bool,
}

fn find_end(h: &[u8]) -> Option<usize> {
    h.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Checks the status line and finds the framing: the state after the head.
fn parse_head(h: &[u8], non2xx: &mut u64) -> Result<State, &'static str> {
    if h.len() < 12
        || !h.starts_with(b"HTTP/1.")
        || h[8] != b' '
        || !h[9..12].iter().all(u8::is_ascii_digit)
    {
        return Err("bad status line");
    }
    let status = (h[9] - b'0') as u16 * 100 + (h[10] - b'0') as u16 * 10 + (h[11] - b'0') as u16;
    if !(200..300).contains(&status) {
        *non2xx += 1;
    }
    let mut len = None;
    for line in h.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") {
            let v = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok());
            len = Some(v.ok_or("bad Content-Length")?);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding")
            && value.to_ascii_lowercase().ends_with(b"chunked")
        {
            return Ok(State::Chunk(Chunk::Size(0, false)));
        }
    }
    match (len, status) {
        (Some(n), _) => Ok(State::Body(n)),
        (None, 100..=199 | 204 | 304) => Ok(State::Body(0)),
        _ => Err("response without Content-Length or chunked framing"),
    }
}

impl Conn {
    /// Feeds received bytes; returns the responses they completed.
    fn feed(&mut self, mut d: &[u8], non2xx: &mut u64) -> Result<u64, &'static str> {
        let mut done = 0;
        while !d.is_empty() {
            match &mut self.state {
                State::Head => {
                    // Fast path: the whole head in this buffer, parsed in place.
                    let (head_len, from_buf) = if self.head.is_empty() {
                        match find_end(d) {
                            Some(e) => (e, true),
                            None => {
                                self.head.extend_from_slice(d);
                                return Ok(done);
                            }
                        }
                    } else {
                        let old = self.head.len();
                        self.head.extend_from_slice(d);
                        match find_end(&self.head[old.saturating_sub(3)..]) {
                            Some(e) => (old.saturating_sub(3) + e - old, false),
                            None => return Ok(done),
                        }
                    };
                    self.state = if from_buf {
                        parse_head(&d[..head_len], non2xx)?
                    } else {
                        let s = parse_head(
                            &self.head[..self.head.len() - (d.len() - head_len)],
                            non2xx,
                        )?;
                        self.head.clear();
                        s
                    };
                    d = &d[head_len..];
                }
                State::Body(n) => {
                    let take = (*n).min(d.len() as u64);
                    *n -= take;
                    d = &d[take as usize..];
                }
                State::Chunk(c) => {
                    if let Chunk::Data(n) = c {
                        let take = (*n).min(d.len() as u64);
                        *n -= take;
                        d = &d[take as usize..];
                        if *n == 0 {
                            *c = Chunk::DataCr;
                        }
                    } else {
                        *c = chunk_step(*c, d[0])?;
                        d = &d[1..];
                    }
                }
            }
            // A complete response: back to reading a head.
            if matches!(
                self.state,
                State::Body(0) | State::Chunk(Chunk::TrailLf(usize::MAX))
            ) {
                self.state = State::Head;
                done += 1;
            }
        }
        // A zero-length body completes with its head.
        if matches!(self.state, State::Body(0)) {
            self.state = State::Head;
            done += 1;
        }
        Ok(done)
    }
}

/// One byte of chunked framing. `TrailLf(usize::MAX)` marks the end.
fn chunk_step(c: Chunk, b: u8) -> Result<Chunk, &'static str> {
    Ok(match (c, b) {
        (Chunk::Size(n, false), b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F') => {
            let d = (b as char).to_digit(16).unwrap() as u64;
            Chunk::Size(n.checked_mul(16).ok_or("chunk size overflow")? + d, false)
        }
        (Chunk::Size(n, _), b'\r') => Chunk::SizeLf(n),
        (Chunk::Size(n, _), b';') => Chunk::Size(n, true),
        (Chunk::Size(n, true), _) => Chunk::Size(n, true),
        (Chunk::SizeLf(0), b'\n') => Chunk::Trail(0),
        (Chunk::SizeLf(n), b'\n') => Chunk::Data(n),
        (Chunk::DataCr, b'\r') => Chunk::DataLf,
        (Chunk::DataLf, b'\n') => Chunk::Size(0, false),
        (Chunk::Trail(n), b'\r') => Chunk::TrailLf(n),
        (Chunk::Trail(n), _) => Chunk::Trail(n + 1),
        (Chunk::TrailLf(0), b'\n') => Chunk::TrailLf(usize::MAX),
        (Chunk::TrailLf(_), b'\n') => Chunk::Trail(0),
        _ => return Err("bad chunked framing"),
    })
}

/// The provided buffer ring: `n` buffers of BUF_SIZE the kernel picks from
/// for each multishot receive, handed back by bumping the shared tail.
struct BufRing {
    ring: *mut u8, // n entries of 16 bytes: addr u64, len u32, bid u16, resv u16
    bufs: Vec<u8>,
    mask: u16,
    tail: u16,
}

impl BufRing {
    fn new(ring_fd: RawFd, n: u16) -> io::Result<BufRing> {
        let bytes = n as usize * 16;
        // The ring must be page aligned: an anonymous mapping is.
        let ring = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ring == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // struct io_uring_buf_reg { ring_addr u64, ring_entries u32, bgid u16, flags u16, resv [u64; 3] }
        let mut reg = [0u64; 5];
        reg[0] = ring as u64;
        reg[1] = n as u64 | (BGID as u64) << 32;
        let r = unsafe {
            libc::syscall(
                libc::SYS_io_uring_register,
                ring_fd,
                IORING_REGISTER_PBUF_RING,
                reg.as_ptr(),
                1,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut br = BufRing {
            ring: ring.cast(),
            bufs: vec![0; n as usize * BUF_SIZE],
            mask: n - 1,
            tail: 0,
        };
        for bid in 0..n {
            br.put(bid);
        }
        br.publish();
        Ok(br)
    }

    /// Queues buffer `bid` for the kernel (visible after `publish`). Fields
    /// are written one by one: entry 0's `resv` is the shared tail.
    fn put(&mut self, bid: u16) {
        unsafe {
            let e = self.ring.add((self.tail & self.mask) as usize * 16);
            (e as *mut u64).write(self.bufs.as_ptr().add(bid as usize * BUF_SIZE) as u64);
            (e.add(8) as *mut u32).write(BUF_SIZE as u32);
            (e.add(12) as *mut u16).write(bid);
        }
        self.tail = self.tail.wrapping_add(1);
    }

    /// One release store hands back every buffer queued since the last one.
    fn publish(&self) {
        unsafe { (*(self.ring.add(14) as *const AtomicU16)).store(self.tail, Ordering::Release) }
    }

    fn buf(&self, bid: u16, len: usize) -> &[u8] {
        &self.bufs[bid as usize * BUF_SIZE..][..len]
    }
}

/// Builds the ring with the cheapest setup the kernel accepts.
fn build_ring(entries: u32) -> io::Result<(IoUring, &'static str)> {
    let cq = entries * 4;
    let mut b = IoUring::builder();
    b.setup_cqsize(cq)
        .setup_submit_all()
        .setup_single_issuer()
        .setup_defer_taskrun();
    match b.build(entries) {
        Ok(r) => return Ok((r, "single_issuer+defer_taskrun")),
        Err(e) => eprintln!(
            "floor: kernel refused SINGLE_ISSUER+DEFER_TASKRUN ({e}); trying COOP_TASKRUN"
        ),
    }
    let mut b = IoUring::builder();
    b.setup_cqsize(cq).setup_submit_all().setup_coop_taskrun();
    match b.build(entries) {
        Ok(r) => return Ok((r, "coop_taskrun")),
        Err(e) => eprintln!("floor: kernel refused COOP_TASKRUN ({e}); plain ring"),
    }
    Ok((IoUring::builder().setup_cqsize(cq).build(entries)?, "plain"))
}

/// Registers the ring's own fd; returns the index to pass to io_uring_enter.
fn register_ring_fd(fd: RawFd) -> Option<u32> {
    // struct io_uring_rsrc_update { offset u32, resv u32, data u64 }; offset -1: any slot.
    let mut up = [u32::MAX as u64, fd as u64];
    let r = unsafe {
        libc::syscall(
            libc::SYS_io_uring_register,
            fd,
            IORING_REGISTER_RING_FDS,
            up.as_mut_ptr(),
            1,
        )
    };
    if r == 1 {
        Some(up[0] as u32)
    } else {
        eprintln!(
            "floor: could not register the ring fd ({}); using the plain fd",
            io::Error::last_os_error()
        );
        None
    }
}

fn pin(cpu: usize) {
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) != 0 {
            eprintln!(
                "floor: could not pin to CPU {cpu}: {}",
                io::Error::last_os_error()
            );
            std::process::exit(1);
        }
    }
}

fn cpu_times() -> (f64, f64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (s(ru.ru_utime), s(ru.ru_stime))
}

fn main() {
    let a = parse_args();
    if let Some(cpu) = a.cpu {
        pin(cpu);
    }
    let req = format!("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", a.path, a.host).into_bytes();

    // Connect with plain blocking sockets: set-up is not what is measured.
    let socks: Vec<TcpStream> = (0..a.conns)
        .map(|_| {
            let s = TcpStream::connect(a.addr).unwrap_or_else(|e| {
                eprintln!("floor: connect {}: {e}", a.addr);
                std::process::exit(1)
            });
            s.set_nodelay(true).unwrap();
            s
        })
        .collect();
    let fds: Vec<RawFd> = socks.iter().map(|s| s.as_raw_fd()).collect();

    let entries = (2 * a.conns as u32 + 2).next_power_of_two().max(64);
    let (mut ring, setup) = build_ring(entries).unwrap_or_else(|e| {
        eprintln!("floor: io_uring_setup: {e}");
        std::process::exit(1)
    });
    let ring_fd = ring.as_raw_fd();
    let reg_ring = register_ring_fd(ring_fd);
    let fixed = match ring.submitter().register_files(&fds) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("floor: could not register files ({e}); using plain fds");
            false
        }
    };
    // Two buffers per connection (at most one response in flight each), at
    // least 64, a power of two as the kernel requires.
    let nbufs = (2 * a.conns).next_power_of_two().clamp(64, 32768) as u16;
    let mut bufs = BufRing::new(ring_fd, nbufs).unwrap_or_else(|e| {
        eprintln!("floor: could not register a provided buffer ring: {e}");
        std::process::exit(1)
    });

    let send = |i: usize| -> squeue::Entry {
        let (p, n) = (req.as_ptr(), req.len() as u32);
        // The request (tens of bytes, one in flight) always fits the socket's
        // send buffer, so a successful send is whole and needs no completion.
        let e = if fixed {
            opcode::Send::new(types::Fixed(i as u32), p, n).build()
        } else {
            opcode::Send::new(types::Fd(fds[i]), p, n).build()
        };
        e.flags(squeue::Flags::SKIP_SUCCESS)
            .user_data(SEND | i as u64)
    };
    let recv = |i: usize| -> squeue::Entry {
        let e = if fixed {
            opcode::RecvMulti::new(types::Fixed(i as u32), BGID).build()
        } else {
            opcode::RecvMulti::new(types::Fd(fds[i]), BGID).build()
        };
        e.user_data(i as u64)
    };
    // One io_uring_enter: submits what was queued and waits for a completion.
    // With --batch N it waits for up to N completions (never more than the
    // requests in flight, so it cannot wait forever), and with --min-wait-us
    // only that long for more than one (IORING_FEAT_MIN_TIMEOUT, 6.12).
    let enter = |to_submit: u32, inflight: usize| -> io::Result<()> {
        let want = a.batch.min(inflight as u32).max(1);
        // struct io_uring_getevents_arg { sigmask u64, sigmask_sz u32, min_wait_usec u32, ts u64 }
        let arg = [0u64, (a.min_wait_us as u64) << 32, 0];
        let (ext, argp, argsz) = if a.min_wait_us > 0 {
            (IORING_ENTER_EXT_ARG, arg.as_ptr(), 24usize)
        } else {
            (0, std::ptr::null(), 0)
        };
        let (fd, flag) = match reg_ring {
            Some(idx) => (idx as libc::c_int, IORING_ENTER_REGISTERED_RING),
            None => (ring_fd, 0),
        };
        let r = unsafe {
            libc::syscall(
                libc::SYS_io_uring_enter,
                fd,
                to_submit,
                want,
                IORING_ENTER_GETEVENTS | flag | ext,
                argp,
                argsz,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            // Interrupted, completions to reap first, or the min wait over: not errors.
            if !matches!(
                e.raw_os_error(),
                Some(libc::EINTR | libc::EAGAIN | libc::EBUSY | libc::ETIME)
            ) {
                return Err(e);
            }
        }
        Ok(())
    };

    let (_, mut sq, mut cq) = ring.split();
    let mut conns: Vec<Conn> = (0..a.conns)
        .map(|_| Conn {
            state: State::Head,
            head: Vec::new(),
            open: true,
        })
        .collect();
    let ts = types::Timespec::from(std::time::Duration::from_secs_f64(a.secs));
    let limit = if a.requests > 0 { a.requests } else { u64::MAX };
    let (mut sent, mut responses, mut non2xx, mut errors, mut inflight) =
        (0u64, 0u64, 0u64, 0u64, 0usize);
    let mut stopping = false;
    let mut pending = Vec::with_capacity(2 * a.conns + 1);
    for i in 0..a.conns {
        pending.push(recv(i));
        if sent < limit {
            pending.push(send(i));
            sent += 1;
            inflight += 1;
        }
    }
    if a.requests == 0 {
        pending.push(opcode::Timeout::new(&ts).build().user_data(TIMER));
    }

    let start = Instant::now();
    while inflight > 0 {
        let n = pending.len() as u32;
        unsafe {
            sq.push_multiple(&pending)
                .expect("submission queue sized for every connection")
        };
        pending.clear();
        sq.sync();
        if let Err(e) = enter(n, inflight) {
            eprintln!("floor: io_uring_enter: {e}");
            std::process::exit(1);
        }
        cq.sync();
        for cqe in &mut cq {
            let (ud, res, flags) = (cqe.user_data(), cqe.result(), cqe.flags());
            if ud == TIMER {
                stopping = true;
                continue;
            }
            let i = (ud & 0xffff_ffff) as usize;
            if ud & SEND != 0 || res <= 0 {
                // A failed send, a receive error, or the server closed: the
                // connection is done (ENOBUFS just means re-arm, below).
                if res == -libc::ENOBUFS {
                    pending.push(recv(i));
                    continue;
                }
                if conns[i].open {
                    conns[i].open = false;
                    errors += 1;
                    inflight -= 1;
                    eprintln!(
                        "floor: connection {i}: {}",
                        if res == 0 {
                            "closed by server".into()
                        } else {
                            io::Error::from_raw_os_error(-res).to_string()
                        }
                    );
                }
                continue;
            }
            let bid = cqueue::buffer_select(flags).expect("multishot recv completes with a buffer");
            let c = &mut conns[i];
            let r = c.feed(bufs.buf(bid, res as usize), &mut non2xx);
            bufs.put(bid);
            match r {
                Ok(0) => {}
                Ok(1) if c.open => {
                    responses += 1;
                    inflight -= 1;
                    if !stopping && sent < limit {
                        pending.push(send(i));
                        sent += 1;
                        inflight += 1;
                    }
                }
                Ok(_) | Err(_) => {
                    eprintln!(
                        "floor: connection {i}: {}",
                        r.err().unwrap_or("more responses than requests")
                    );
                    std::process::exit(1);
                }
            }
            // The kernel ended the multishot receive (out of buffers): re-arm.
            if !cqueue::more(flags) && c.open {
                pending.push(recv(i));
            }
        }
        bufs.publish();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (user, sys) = cpu_times();
    let features = format!(
        "{setup}{}{}+multishot_recv+buf_ring+send_skip_success",
        if reg_ring.is_some() {
            "+registered_ring_fd"
        } else {
            ""
        },
        if fixed { "+registered_files" } else { "" }
    );
    let line = format!(
        "{{\"requests\":{responses},\"elapsed_s\":{elapsed:.6},\"rps\":{:.1},\"cpu_user_s\":{user:.6},\"cpu_sys_s\":{sys:.6},\"cpu_s\":{:.6},\"req_per_cpu_s\":{:.1},\"connections\":{},\"non_2xx\":{non2xx},\"errors\":{errors},\"ring\":\"{features}\"}}",
        responses as f64 / elapsed,
        user + sys,
        responses as f64 / (user + sys).max(1e-9),
        a.conns
    );
    let _ = writeln!(io::stdout(), "{line}");
    drop(socks);
    std::process::exit(if errors > 0 { 1 } else { 0 });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `data` split at every position; returns the responses counted.
    fn count_split(data: &[u8]) -> Vec<u64> {
        (0..=data.len())
            .map(|cut| {
                let mut c = Conn {
                    state: State::Head,
                    head: Vec::new(),
                    open: true,
                };
                let mut non2xx = 0;
                let n = c.feed(&data[..cut], &mut non2xx).unwrap()
                    + c.feed(&data[cut..], &mut non2xx).unwrap();
                assert!(
                    matches!(c.state, State::Head) && c.head.is_empty(),
                    "cut {cut}"
                );
                n
            })
            .collect()
    }

    #[test]
    fn content_length_any_split() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nServer: x\r\n\r\nHello, world!";
        assert!(count_split(r).iter().all(|&n| n == 1));
        let two = [&r[..], &r[..]].concat();
        assert!(count_split(&two).iter().all(|&n| n == 2));
    }

    #[test]
    fn chunked_any_split() {
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nHello\r\n8\r\n, world!\r\n0\r\nX-T: 1\r\n\r\n";
        assert!(count_split(r).iter().all(|&n| n == 1));
    }

    #[test]
    fn empty_bodies_and_errors() {
        assert!(count_split(b"HTTP/1.1 204 No Content\r\n\r\n")
            .iter()
            .all(|&n| n == 1));
        assert!(count_split(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .iter()
            .all(|&n| n == 1));
        let mut c = Conn {
            state: State::Head,
            head: Vec::new(),
            open: true,
        };
        let mut non2xx = 0;
        assert_eq!(
            c.feed(b"HTTP/1.1 503 X\r\nContent-Length: 1\r\n\r\nx", &mut non2xx),
            Ok(1)
        );
        assert_eq!(non2xx, 1);
        assert!(c.feed(b"HTTP/1.1 200 OK\r\n\r\n", &mut non2xx).is_err());
        let mut c = Conn {
            state: State::Head,
            head: Vec::new(),
            open: true,
        };
        assert!(c
            .feed(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                &mut non2xx
            )
            .is_err());
        assert!(Conn {
            state: State::Head,
            head: Vec::new(),
            open: true
        }
        .feed(b"SSH-2.0 hello\r\n\r\n", &mut non2xx)
        .is_err());
    }
}
