//! Built-in HTTP/1.1 target server (`blast target`), used to calibrate the
//! load generator and by tests.
//!
//! Design: `threads` OS threads, each (optionally) pinned to a core and each
//! running its own tokio `current_thread` runtime. All threads accept on
//! clones of one listening socket, so the kernel spreads connections across
//! them, and a connection stays on the thread that accepted it. Nothing on
//! the request path is shared between threads: each thread owns its response
//! body `Bytes`, its own context `Arc` and its own cache-line-padded
//! counters, which are only summed when somebody asks for totals.
//!
//! `GET /__blast/stats` answers `{"requests": N, "connections": M}` and is not
//! itself counted as a request.

use std::convert::Infallible;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

/// Path of the built-in stats endpoint (`GET` only).
pub const STATS_PATH: &str = "/__blast/stats";

/// Configuration of the target server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetOptions {
    /// Address to listen on; port 0 picks a free port (see [`Target::addr`]).
    pub listen: SocketAddr,
    /// Number of server threads, at least 1.
    pub threads: usize,
    /// Sleep before answering each request; zero means no delay.
    pub delay: Duration,
    /// Response body size in bytes (the body is filled with `b'x'`).
    pub body_size: usize,
    /// Response status code; must be a final status (200..=999).
    pub status: u16,
    /// Core ids to pin server threads to: thread `i` goes to `cpus[i % len]`.
    pub cpus: Option<Vec<usize>>,
}

impl Default for TargetOptions {
    fn default() -> Self {
        TargetOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            threads: 1,
            delay: Duration::ZERO,
            body_size: 13,
            status: 200,
            cpus: None,
        }
    }
}

/// A counter alone on its own cache lines (128 bytes covers adjacent-line
/// prefetching), so per-thread increments never contend.
#[repr(align(128))]
#[derive(Default)]
struct PaddedCounter(AtomicU64);

/// Per-thread request and connection counters.
struct Counters {
    requests: Box<[PaddedCounter]>,
    connections: Box<[PaddedCounter]>,
}

impl Counters {
    fn new(threads: usize) -> Self {
        let make = || (0..threads).map(|_| PaddedCounter::default()).collect();
        Counters {
            requests: make(),
            connections: make(),
        }
    }

    fn requests(&self) -> u64 {
        sum(&self.requests)
    }

    fn connections(&self) -> u64 {
        sum(&self.connections)
    }
}

fn sum(counters: &[PaddedCounter]) -> u64 {
    counters.iter().map(|c| c.0.load(Ordering::Relaxed)).sum()
}

/// Everything one server thread needs to answer a request. Owned by a single
/// thread, so cloning its `Arc` (and its `Bytes`) stays thread-local.
#[repr(align(128))]
struct ThreadCtx {
    index: usize,
    body: Bytes,
    status: StatusCode,
    delay: Duration,
    counters: Arc<Counters>,
}

impl ThreadCtx {
    async fn handle(&self, mut req: Request<Incoming>) -> Response<Full<Bytes>> {
        if req.method() == Method::GET && req.uri().path() == STATS_PATH {
            return self.stats_response();
        }
        // Read any request body to its end so the connection can be reused
        // even when the body arrives after the headers.
        if !req.body().is_end_stream() {
            let body = req.body_mut();
            while let Some(frame) = body.frame().await {
                if frame.is_err() {
                    break;
                }
            }
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.counters.requests[self.index]
            .0
            .fetch_add(1, Ordering::Relaxed);
        let mut resp = Response::new(Full::new(self.body.clone()));
        *resp.status_mut() = self.status;
        resp
    }

    fn stats_response(&self) -> Response<Full<Bytes>> {
        let json = format!(
            "{{\"requests\": {}, \"connections\": {}}}",
            self.counters.requests(),
            self.counters.connections()
        );
        let mut resp = Response::new(Full::new(Bytes::from(json)));
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp
    }
}

/// A running target server. Call [`Target::stop`] to shut it down and join
/// its threads. Dropping a `Target` without `stop` also tells the threads to
/// stop (the shutdown channel closes) but does not wait for them, so they may
/// briefly outlive the `Target`.
pub struct Target {
    addr: SocketAddr,
    counters: Arc<Counters>,
    shutdown: watch::Sender<bool>,
    threads: Vec<JoinHandle<()>>,
}

impl Target {
    /// The address actually bound (useful when listening on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Total requests served (stats endpoint requests excluded).
    pub fn requests(&self) -> u64 {
        self.counters.requests()
    }

    /// Total connections accepted.
    pub fn connections(&self) -> u64 {
        self.counters.connections()
    }

    /// Stops accepting, closes all connections and joins every thread.
    pub fn stop(self) {
        let Target {
            shutdown, threads, ..
        } = self;
        shutdown.send_replace(true);
        for t in threads {
            let _ = t.join();
        }
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn validate(opts: &TargetOptions) -> io::Result<StatusCode> {
    if opts.threads == 0 {
        return Err(invalid("target: threads must be at least 1".into()));
    }
    if matches!(&opts.cpus, Some(c) if c.is_empty()) {
        return Err(invalid("target: cpu list must not be empty".into()));
    }
    let status = StatusCode::from_u16(opts.status)
        .map_err(|_| invalid(format!("target: invalid status code {}", opts.status)))?;
    // hyper cannot send a 1xx as the final response (it would turn it into a
    // 500), so reject those too.
    if status.is_informational() {
        return Err(invalid(format!(
            "target: status {} is informational (1xx), not a final response",
            opts.status
        )));
    }
    Ok(status)
}

/// Binds, spawns the server threads and returns once every thread is
/// accepting connections.
pub fn start(opts: TargetOptions) -> io::Result<Target> {
    let status = validate(&opts)?;
    let listener = TcpListener::bind(opts.listen)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;

    let counters = Arc::new(Counters::new(opts.threads));
    let body = vec![b'x'; opts.body_size];
    let (shutdown, _) = watch::channel(false);
    let (ready_tx, ready_rx) = mpsc::channel::<io::Result<()>>();
    let mut threads = Vec::with_capacity(opts.threads);

    let mut result = Ok(());
    for index in 0..opts.threads {
        let spawned = listener.try_clone().and_then(|l| {
            let ctx = Arc::new(ThreadCtx {
                index,
                body: Bytes::from(body.clone()),
                status,
                delay: opts.delay,
                counters: Arc::clone(&counters),
            });
            let core = opts.cpus.as_ref().map(|c| c[index % c.len()]);
            let stop = shutdown.subscribe();
            let ready = ready_tx.clone();
            std::thread::Builder::new()
                .name(format!("blast-target-{index}"))
                .spawn(move || server_thread(l, ctx, core, stop, ready))
        });
        match spawned {
            Ok(handle) => threads.push(handle),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    drop(ready_tx);
    drop(listener);

    if result.is_ok() {
        for _ in 0..threads.len() {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    result = Err(e);
                    break;
                }
                Err(_) => {
                    result = Err(io::Error::other("target: server thread exited early"));
                    break;
                }
            }
        }
    }

    let target = Target {
        addr,
        counters,
        shutdown,
        threads,
    };
    match result {
        Ok(()) => Ok(target),
        Err(e) => {
            target.stop();
            Err(e)
        }
    }
}

fn server_thread(
    listener: TcpListener,
    ctx: Arc<ThreadCtx>,
    core: Option<usize>,
    stop: watch::Receiver<bool>,
    ready: mpsc::Sender<io::Result<()>>,
) {
    if let Some(id) = core {
        // Pinning is best effort: an unknown core id just leaves the thread
        // unpinned.
        let _ = core_affinity::set_for_current(core_affinity::CoreId { id });
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        drop(ready);
        accept_loop(listener, ctx, stop).await;
    });
    // Dropping the runtime drops every connection task, closing the sockets.
    drop(rt);
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    ctx: Arc<ThreadCtx>,
    mut stop: watch::Receiver<bool>,
) {
    let mut builder = http1::Builder::new();
    builder.keep_alive(true).pipeline_flush(true);
    loop {
        let stream = tokio::select! {
            biased;
            // Either a stop signal or the `Target` being dropped.
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    if is_fatal_accept_error(&e) {
                        // Out of file descriptors or similar: back off rather
                        // than spin, but stay responsive to stop.
                        tokio::select! {
                            _ = stop.changed() => return,
                            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
                        }
                    }
                    continue;
                }
            },
        };
        ctx.counters.connections[ctx.index]
            .0
            .fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let conn_ctx = Arc::clone(&ctx);
        let service = service_fn(move |req| {
            let ctx = Arc::clone(&conn_ctx);
            async move { Ok::<_, Infallible>(ctx.handle(req).await) }
        });
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}

fn is_fatal_accept_error(e: &io::Error) -> bool {
    !matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// Blocks SIGINT and SIGTERM in the calling thread (threads spawned later
/// inherit the mask), returning the blocked set and the previous mask.
fn block_term_signals() -> io::Result<(libc::sigset_t, libc::sigset_t)> {
    // SAFETY: the sigset_t values are initialised by sigemptyset /
    // pthread_sigmask before use, and all pointers are to live locals.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok((set, old))
    }
}

fn wait_for_signal(set: &libc::sigset_t) -> io::Result<libc::c_int> {
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: `set` is an initialised signal set and `sig` a live local.
        let rc = unsafe { libc::sigwait(set, &mut sig) };
        match rc {
            0 => return Ok(sig),
            libc::EINTR => continue,
            e => return Err(io::Error::from_raw_os_error(e)),
        }
    }
}

fn restore_signal_mask(old: &libc::sigset_t) {
    // SAFETY: `old` was filled in by pthread_sigmask.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, old, std::ptr::null_mut());
    }
}

/// CLI entry point: starts the server, prints `listening on http://{addr}` to
/// stdout, serves until SIGINT or SIGTERM, then stops and prints
/// `served N requests on M connections` to stderr.
pub fn run_forever(opts: TargetOptions) -> io::Result<()> {
    // Block the signals before any server thread exists so that they are
    // delivered to `sigwait` here rather than killing the process.
    let (set, old) = block_term_signals()?;
    let target = match start(opts) {
        Ok(t) => t,
        Err(e) => {
            restore_signal_mask(&old);
            return Err(e);
        }
    };
    let announced = {
        let mut out = io::stdout().lock();
        writeln!(out, "listening on http://{}", target.addr()).and_then(|_| out.flush())
    };
    let waited = announced.and_then(|_| wait_for_signal(&set));
    let (requests, connections) = (target.requests(), target.connections());
    target.stop();
    restore_signal_mask(&old);
    waited?;
    eprintln!("served {requests} requests on {connections} connections");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read};
    use std::net::TcpStream;
    use std::time::Instant;

    struct Resp {
        status_line: String,
        content_length: Option<usize>,
        content_type: Option<String>,
        body: Vec<u8>,
    }

    fn opts(threads: usize) -> TargetOptions {
        TargetOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            threads,
            ..TargetOptions::default()
        }
    }

    fn connect(t: &Target) -> (TcpStream, BufReader<TcpStream>) {
        let s = TcpStream::connect(t.addr()).unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let r = BufReader::new(s.try_clone().unwrap());
        (s, r)
    }

    fn read_response(r: &mut BufReader<TcpStream>) -> Resp {
        let mut status_line = String::new();
        r.read_line(&mut status_line).unwrap();
        let mut content_length = None;
        let mut content_type = None;
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = Some(value.parse().unwrap());
            } else if name.eq_ignore_ascii_case("content-type") {
                content_type = Some(value.to_string());
            }
        }
        let mut body = vec![0; content_length.unwrap_or(0)];
        r.read_exact(&mut body).unwrap();
        Resp {
            status_line: status_line.trim_end().to_string(),
            content_length,
            content_type,
            body,
        }
    }

    fn get(s: &mut TcpStream, r: &mut BufReader<TcpStream>, path: &str) -> Resp {
        let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        s.write_all(req.as_bytes()).unwrap();
        read_response(r)
    }

    fn keep_alive_run(threads: usize) {
        let t = start(TargetOptions {
            body_size: 100,
            ..opts(threads)
        })
        .unwrap();
        assert_ne!(t.addr().port(), 0);
        let (mut s, mut r) = connect(&t);
        for _ in 0..5 {
            let resp = get(&mut s, &mut r, "/");
            assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
            assert_eq!(resp.content_length, Some(100));
            assert_eq!(resp.body, vec![b'x'; 100]);
        }
        assert_eq!(t.requests(), 5);
        assert_eq!(t.connections(), 1);
        t.stop();
    }

    #[test]
    fn keep_alive_one_thread() {
        keep_alive_run(1);
    }

    #[test]
    fn keep_alive_two_threads() {
        keep_alive_run(2);
    }

    #[test]
    fn many_connections_two_threads_pinned() {
        let t = start(TargetOptions {
            cpus: Some(vec![0]),
            ..opts(2)
        })
        .unwrap();
        let mut conns: Vec<_> = (0..8).map(|_| connect(&t)).collect();
        for (s, r) in conns.iter_mut() {
            for _ in 0..3 {
                let resp = get(s, r, "/anything?q=1");
                assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
                assert_eq!(resp.body, vec![b'x'; 13]);
            }
        }
        assert_eq!(t.requests(), 24);
        assert_eq!(t.connections(), 8);
        t.stop();
    }

    #[test]
    fn zero_body() {
        let t = start(TargetOptions {
            body_size: 0,
            ..opts(1)
        })
        .unwrap();
        let (mut s, mut r) = connect(&t);
        for _ in 0..2 {
            let resp = get(&mut s, &mut r, "/");
            assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
            assert_eq!(resp.content_length, Some(0));
        }
        t.stop();
    }

    #[test]
    fn delay_is_applied() {
        let t = start(TargetOptions {
            delay: Duration::from_millis(30),
            ..opts(1)
        })
        .unwrap();
        let (mut s, mut r) = connect(&t);
        for _ in 0..2 {
            let began = Instant::now();
            let resp = get(&mut s, &mut r, "/");
            assert!(began.elapsed() >= Duration::from_millis(30));
            assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
        }
        assert_eq!(t.requests(), 2);
        t.stop();
    }

    #[test]
    fn stats_endpoint() {
        let t = start(opts(2)).unwrap();
        let (mut s, mut r) = connect(&t);
        for _ in 0..3 {
            get(&mut s, &mut r, "/");
        }
        let resp = get(&mut s, &mut r, STATS_PATH);
        assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
        assert_eq!(resp.content_type.as_deref(), Some("application/json"));
        let text = String::from_utf8(resp.body).unwrap();
        assert_eq!(text, r#"{"requests": 3, "connections": 1}"#);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["requests"], 3);
        assert_eq!(v["connections"], 1);
        // The stats request itself is not counted.
        assert_eq!(t.requests(), 3);
        t.stop();
    }

    #[test]
    fn status_503() {
        let t = start(TargetOptions {
            status: 503,
            ..opts(1)
        })
        .unwrap();
        let (mut s, mut r) = connect(&t);
        let resp = get(&mut s, &mut r, "/");
        assert_eq!(resp.status_line, "HTTP/1.1 503 Service Unavailable");
        assert_eq!(resp.body, vec![b'x'; 13]);
        // Stats still answer 200 whatever the configured status.
        let resp = get(&mut s, &mut r, STATS_PATH);
        assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
        assert_eq!(t.requests(), 1);
        t.stop();
    }

    #[test]
    fn invalid_options_are_errors() {
        for status in [0, 99, 100, 150, 1000, u16::MAX] {
            let err = start(TargetOptions { status, ..opts(1) }).err().unwrap();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "status {status}");
        }
        let err = start(opts(0)).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = start(TargetOptions {
            cpus: Some(vec![]),
            ..opts(1)
        })
        .err()
        .unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn post_body_split_across_writes_keeps_connection() {
        let t = start(opts(1)).unwrap();
        let (mut s, mut r) = connect(&t);
        let body = vec![b'a'; 200_000];
        write!(
            s,
            "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        s.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        s.write_all(&body).unwrap();
        let resp = read_response(&mut r);
        assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
        let resp = get(&mut s, &mut r, "/");
        assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
        assert_eq!(t.requests(), 2);
        assert_eq!(t.connections(), 1);
        t.stop();
    }

    #[test]
    fn pipelined_requests() {
        let t = start(opts(1)).unwrap();
        let (mut s, mut r) = connect(&t);
        let req = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(10);
        s.write_all(req.as_bytes()).unwrap();
        for _ in 0..10 {
            assert_eq!(read_response(&mut r).status_line, "HTTP/1.1 200 OK");
        }
        assert_eq!(t.requests(), 10);
        t.stop();
    }

    #[test]
    fn stop_is_prompt_with_open_connections() {
        let t = start(TargetOptions {
            delay: Duration::from_secs(30),
            ..opts(2)
        })
        .unwrap();
        let addr = t.addr();
        let (mut idle, mut idle_r) = connect(&t);
        let (mut busy, mut busy_r) = connect(&t);
        // One request stuck in its 30 s delay.
        write!(busy, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        while t.connections() < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        let began = Instant::now();
        t.stop();
        assert!(began.elapsed() < Duration::from_secs(2));
        // Open connections are closed and the port no longer accepts.
        let mut buf = [0u8; 16];
        assert!(matches!(busy_r.read(&mut buf), Ok(0) | Err(_)));
        let _ = idle.write_all(b"GET / HTTP/1.1\r\n\r\n");
        assert!(matches!(idle_r.read(&mut buf), Ok(0) | Err(_)));
        let _ = busy.flush();
        assert!(TcpStream::connect(addr).is_err());
    }
}
