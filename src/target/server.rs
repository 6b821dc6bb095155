//! One server thread: its pinned core, its tokio runtime and its accept
//! loop, and how each accepted connection is spoken (HTTP/1.1, HTTP/2 through
//! hyper-util's auto builder, TLS or not). Apart from `mod.rs`, which starts
//! and stops the threads, and from `handler`, which answers the requests.

use std::convert::Infallible;
use std::io;
use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use http_body_util::Either;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::sync::watch;

use super::grpc::Grpc;
use super::handler::ThreadCtx;

/// std listens with a backlog of 128: when thousands of connections open
/// at once, SYNs past it are dropped and retried a second later, which a
/// load test sees as connect timeouts (measured: 793 of 15,000 with
/// blast's 2 s --connect-timeout). Listening again raises the backlog;
/// the kernel caps it at net.core.somaxconn.
pub(super) fn deepen_backlog(listener: &TcpListener) {
    use std::os::fd::AsRawFd;
    // SAFETY: listen(2) on a socket we own; failure keeps the old backlog.
    unsafe {
        libc::listen(listener.as_raw_fd(), libc::c_int::MAX);
    }
}

/// How connections are spoken: TLS or not, and HTTP/2 as well or not.
pub(super) type Protocols = (Option<tokio_rustls::TlsAcceptor>, bool);

pub(super) fn server_thread(
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
            async move {
                if let Some(g) = ctx.grpc.as_ref().filter(|_| Grpc::is_call(&req)) {
                    let count = || {
                        ctx.counters.requests[ctx.index]
                            .0
                            .fetch_add(1, Ordering::Relaxed);
                    };
                    return Ok::<_, Infallible>(
                        g.answer(req, ctx.delay, count).await.map(Either::Right),
                    );
                }
                Ok(ctx.handle(req, conn).await.map(Either::Left))
            }
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
