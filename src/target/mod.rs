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
//! With `http2`, connections are served by hyper-util's auto builder: HTTP/1.1,
//! or HTTP/2 by prior knowledge (h2c) on plain TCP and through ALPN over TLS.
//!
//! With `stream`, every other request is answered with an OpenAI-compatible
//! Server-Sent Events stream at a set pace (see [`stream`]).
//!
//! `GET /__blast/stats` answers `{"requests": N, "connections": M}` and is not
//! itself counted as a request; with `record`, `GET /__blast/requests` tells
//! what was received (see [`record`]).

use std::convert::Infallible;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Body, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::sync::watch;

use record::{Recorder, RECORD_PATH};
use stream::SseBody;
pub use stream::StreamOptions;

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
    /// Serve HTTPS with a certificate made at start, written (PEM) here.
    pub tls_cert: Option<std::path::PathBuf>,
    /// Also serve HTTP/2 (h2c prior knowledge; h2 through ALPN with TLS).
    pub http2: bool,
    /// Answer every request (but the stats endpoint) with an SSE stream of
    /// this shape instead of `body_size` bytes.
    pub stream: Option<StreamOptions>,
    /// Count requests per path and keep the first this many (0: off).
    pub record: usize,
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
            tls_cert: None,
            http2: false,
            stream: None,
            record: 0,
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
    stream: Option<StreamOptions>,
    recorder: Option<Arc<Recorder>>,
}

/// A fixed body, or an SSE stream with `--stream`.
type RespBody = Either<Full<Bytes>, SseBody>;

impl ThreadCtx {
    async fn handle(&self, mut req: Request<Incoming>, conn: u64) -> Response<RespBody> {
        if req.method() == Method::GET && req.uri().path() == STATS_PATH {
            return self.stats_response().map(Either::Left);
        }
        if let (Some(r), &Method::GET) = (&self.recorder, req.method()) {
            if req.uri().path() == RECORD_PATH {
                return json_response(r.to_json()).map(Either::Left);
            }
        }
        // Read any request body to its end so the connection can be reused
        // even when the body arrives after the headers.
        let mut kept = Vec::new();
        if !req.body().is_end_stream() {
            let body = req.body_mut();
            while let Some(frame) = body.frame().await {
                match (frame, &self.recorder) {
                    (Ok(f), Some(_)) => kept.extend_from_slice(f.data_ref().map_or(&[][..], |d| d)),
                    (Err(_), _) => break,
                    _ => {}
                }
            }
        }
        if let Some(r) = &self.recorder {
            let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
            r.record(self.index, conn, req.method().as_str(), path, &kept);
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if let (Some(opts), false) = (self.stream, req.method() == Method::HEAD) {
            // Counted when its last event is handed to the connection.
            let body = SseBody::new(opts, Arc::clone(&self.counters), self.index);
            return stream::response(self.status, body);
        }
        self.counters.requests[self.index]
            .0
            .fetch_add(1, Ordering::Relaxed);
        let mut resp = Response::new(Either::Left(Full::new(self.body.clone())));
        *resp.status_mut() = self.status;
        resp
    }

    fn stats_response(&self) -> Response<Full<Bytes>> {
        json_response(format!(
            "{{\"requests\": {}, \"connections\": {}}}",
            self.counters.requests(),
            self.counters.connections()
        ))
    }
}

fn json_response(json: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(json)));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
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
    if matches!(opts.stream, Some(s) if s.tokens == 0) {
        return Err(invalid("target: a stream needs at least 1 token".into()));
    }
    Ok(status)
}

/// Binds, spawns the server threads and returns once every thread is
/// accepting connections.
pub fn start(opts: TargetOptions) -> io::Result<Target> {
    let status = validate(&opts)?;
    let listener = TcpListener::bind(opts.listen)?;
    deepen_backlog(&listener);
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let tls = match &opts.tls_cert {
        Some(path) => Some(tls::self_signed(addr, path, opts.http2)?),
        None => None,
    };

    let counters = Arc::new(Counters::new(opts.threads));
    let recorder = (opts.record > 0).then(|| Arc::new(Recorder::new(opts.threads, opts.record)));
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
                stream: opts.stream,
                recorder: recorder.clone(),
            });
            let core = opts.cpus.as_ref().map(|c| c[index % c.len()]);
            let stop = shutdown.subscribe();
            let ready = ready_tx.clone();
            let tls = tls.clone().map(tokio_rustls::TlsAcceptor::from);
            let http2 = opts.http2;
            std::thread::Builder::new()
                .name(format!("blast-target-{index}"))
                .spawn(move || server_thread(l, ctx, (tls, http2), core, stop, ready))
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

/// std listens with a backlog of 128: when thousands of connections open
/// at once, SYNs past it are dropped and retried a second later, which a
/// load test sees as connect timeouts (measured: 793 of 15,000 with
/// blast's 2 s --connect-timeout). Listening again raises the backlog;
/// the kernel caps it at net.core.somaxconn.
fn deepen_backlog(listener: &TcpListener) {
    use std::os::fd::AsRawFd;
    // SAFETY: listen(2) on a socket we own; failure keeps the old backlog.
    unsafe {
        libc::listen(listener.as_raw_fd(), libc::c_int::MAX);
    }
}

/// How connections are spoken: TLS or not, and HTTP/2 as well or not.
type Protocols = (Option<tokio_rustls::TlsAcceptor>, bool);

fn server_thread(
    listener: TcpListener,
    ctx: Arc<ThreadCtx>,
    protocols: Protocols,
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
        accept_loop(listener, ctx, protocols, stop).await;
    });
    // Dropping the runtime drops every connection task, closing the sockets.
    drop(rt);
}

/// hyper-util's auto builder: HTTP/1.1 as `http1`, and HTTP/2 with room
/// for `blast -m 100` and more on each connection, and windows that let
/// large bodies stream at full speed.
fn auto_builder() -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1().keep_alive(true).pipeline_flush(true);
    b.http2()
        .max_concurrent_streams(4096)
        .initial_stream_window_size(8 << 20)
        .initial_connection_window_size(32 << 20)
        .max_frame_size(256 << 10)
        .max_send_buf_size(1 << 20);
    b
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    ctx: Arc<ThreadCtx>,
    (tls, http2): Protocols,
    mut stop: watch::Receiver<bool>,
) {
    let mut builder = http1::Builder::new();
    builder.keep_alive(true).pipeline_flush(true);
    let auto = http2.then(auto_builder);
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
        let seq = ctx.counters.connections[ctx.index]
            .0
            .fetch_add(1, Ordering::Relaxed);
        let conn = (ctx.index as u64) << 40 | seq;
        let _ = stream.set_nodelay(true);
        let conn_ctx = Arc::clone(&ctx);
        let service = service_fn(move |req| {
            let ctx = Arc::clone(&conn_ctx);
            async move { Ok::<_, Infallible>(ctx.handle(req, conn).await) }
        });
        if let Some(auto) = &auto {
            let (tls, auto) = (tls.clone(), auto.clone());
            tokio::spawn(async move {
                match tls {
                    None => {
                        let _ = auto.serve_connection(TokioIo::new(stream), service).await;
                    }
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let _ = auto.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                }
            });
            continue;
        }
        match &tls {
            None => {
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            Some(acceptor) => {
                let (acceptor, builder) = (acceptor.clone(), builder.clone());
                tokio::spawn(async move {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                });
            }
        }
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
    let opts_cert = opts.tls_cert.clone();
    let target = match start(opts) {
        Ok(t) => t,
        Err(e) => {
            restore_signal_mask(&old);
            return Err(e);
        }
    };
    let announced = {
        let mut out = io::stdout().lock();
        match &opts_cert {
            None => writeln!(out, "listening on http://{}", target.addr()),
            Some(cert) => writeln!(
                out,
                "listening on https://{} (certificate: {})",
                target.addr(),
                cert.display()
            ),
        }
        .and_then(|_| out.flush())
    };
    let waited = announced.and_then(|_| wait_for_signal(&set));
    let (requests, connections) = (target.requests(), target.connections());
    target.stop();
    restore_signal_mask(&old);
    waited?;
    eprintln!("served {requests} requests on {connections} connections");
    Ok(())
}

pub mod record;
pub mod stream;
mod tls;

#[cfg(test)]
mod tests;
