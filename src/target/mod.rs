//! Built-in HTTP target server (`blast target`), used to calibrate the
//! load generator and by tests. It stands apart from the load generator's
//! layers: it imports nothing of blast's but the leaf `reflection` (gRPC
//! reflection's messages, which the client speaks too), and `cmd` and the
//! tests start it.
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
//! With `grpc`, gRPC calls (POST, `content-type: application/grpc`) go to
//! the echo service and server reflection instead (see [`grpc`]); HTTP/2 is
//! then on, as gRPC needs it.
//!
//! `GET /__blast/stats` answers `{"requests": N, "connections": M}` and is not
//! itself counted as a request; with `record`, `GET /__blast/requests` tells
//! what was received (see [`record`]).
//!
//! Here: the options, starting and stopping the threads, and the CLI entry
//! point. Each thread's accept loop is in `server`, what it answers in
//! `handler`, its counters in `counters`, the signal handling in `signals`.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use hyper::StatusCode;
use tokio::sync::watch;

use counters::Counters;
use grpc::Grpc;
pub use grpc::{GrpcOptions, Reflection};
use handler::ThreadCtx;
pub use handler::STATS_PATH;
use record::Recorder;
use server::{deepen_backlog, server_thread};
use signals::{block_term_signals, restore_signal_mask, wait_for_signal};
pub use stream::StreamOptions;

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
    /// Serve gRPC's echo and reflection (and HTTP/2, which it needs).
    pub grpc: Option<GrpcOptions>,
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
            grpc: None,
        }
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
    let http2 = opts.http2 || opts.grpc.is_some();
    let grpc = opts.grpc.map(Grpc::new).transpose()?;
    let tls = match &opts.tls_cert {
        Some(path) => Some(tls::self_signed(addr, path, http2)?),
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
                grpc: grpc.clone(),
            });
            let core = opts.cpus.as_ref().map(|c| c[index % c.len()]);
            let stop = shutdown.subscribe();
            let ready = ready_tx.clone();
            let tls = tls.clone().map(tokio_rustls::TlsAcceptor::from);
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

mod counters;
pub mod grpc;
mod handler;
pub mod record;
mod server;
mod signals;
pub mod stream;
mod tls;

#[cfg(test)]
mod tests;
