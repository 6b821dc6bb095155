//! One HTTP/2 connection (`--http2`): connect (TCP, then TLS with ALPN h2,
//! or prior-knowledge h2c), hand the socket to the `h2` crate, and run
//! `-m` lanes on it. A lane is the HTTP/1.1 loop of `conn.rs` for one
//! stream at a time: claim from `-n`, take its due time from the schedule,
//! send, read the response to its end, record, repeat. So `-c 8 -m 100`
//! keeps 800 requests in flight, each with its own slot (in flight, due
//! time) as an HTTP/1.1 connection has.
//!
//! h2 needs tokio's AsyncRead/AsyncWrite, so this runs on the epoll
//! engine's runtime only. Bodies are counted and dropped as they come, and
//! their window released at once, so memory stays flat.
//!
//! A graceful GOAWAY (the server's limit of requests per connection) or a
//! REFUSED_STREAM is no error: the streams the server did not process are
//! sent again, on a new connection when this one takes no more streams.
//! Any other reset is an error naming its code. `--timeout` is per stream:
//! a late stream is cancelled (RST_STREAM) and the connection kept.

use super::shared::{Due, Shared};
use crate::proto::h2::{classify, Failure, CONN_WINDOW, MAX_FRAME, STREAM_WINDOW};
use crate::proto::tls;
use crate::stats::{ErrorClass, Fault};
use bytes::Bytes;
use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

type SendRequest = ::h2::client::SendRequest<Bytes>;

/// A request a lane holds across a reconnect: claimed from `-n`, and its
/// due time once taken from the schedule (None inside: closed loop).
#[derive(Clone, Copy, Default)]
struct Held {
    claimed: bool,
    due: Option<Option<Instant>>,
}

/// Why a lane ended.
enum LaneEnd {
    /// The `-n` budget is spent.
    Done,
    /// The connection takes no more streams: carry this request over.
    Reconnect(Held),
    Stopped,
}

/// How one stream ended.
enum Outcome {
    Done(u16),
    /// Not sent: the connection takes no new stream.
    NotSent,
    /// Not processed by the server: send again.
    Again,
    /// Cut with no answer on a connection that answered before: an idle
    /// close, as HTTP/1.1's stale connection. Send again on a new one.
    Stale,
    Failed(Fault),
}

/// What the lanes of one connection share.
struct Conn {
    /// Responses completed on it.
    answered: Cell<u64>,
    /// Whether it took any stream.
    sent: Cell<bool>,
    /// Over TLS the first exchange decides the connection's first attempt
    /// (a missing client certificate shows only then); shared by the lanes.
    first: Rc<Cell<bool>>,
}

pub async fn run(w: Rc<Shared>, idx: usize) {
    let streams = w.h2.as_ref().map_or(1, |h| h.streams) as usize;
    let mut held = vec![Held::default(); streams];
    let mut backoff = Duration::ZERO;
    let first = Rc::new(Cell::new(true));

    let open_at = w.conn_start(idx);
    let now = Instant::now();
    if open_at > now && !w.sleep_unless_stopped(open_at - now).await {
        w.conn_exited();
        return;
    }

    'connection: while !w.stop.get() {
        // Claim before connecting, so -n opens no connection it will not use.
        if !held.iter().any(|h| h.claimed) {
            if !w.claim() {
                break;
            }
            held[0].claimed = true;
        }
        let attempt = connect(&w, Instant::now()).await;
        if first.get() {
            let defer = w.tls.is_some() && matches!(attempt, Some(Ok(_)));
            if let (Some(r), false) = (&attempt, defer) {
                first.set(false);
                w.startup
                    .first_attempt(r.as_ref().map(drop).map_err(|f| *f));
            }
        }
        let send = match attempt {
            Some(Ok(s)) => s,
            Some(Err(fault)) => {
                w.stats.borrow_mut().record_fault(fault);
                backoff = next_backoff(backoff);
                if !w.sleep_unless_stopped(backoff).await {
                    break;
                }
                continue;
            }
            None => break,
        };
        let SendAndDrive { send, driver } = send;
        let conn = Rc::new(Conn {
            answered: Cell::new(0),
            sent: Cell::new(false),
            first: first.clone(),
        });
        let mut lanes = JoinSet::new();
        for (j, h) in held.iter().enumerate() {
            let lane = lane(w.clone(), conn.clone(), send.clone(), idx * streams + j, *h);
            lanes.spawn_local(async move { (j, lane.await) });
        }
        drop(send);
        let mut reconnect = false;
        let mut stopped = false;
        while !lanes.is_empty() {
            match w.unless_stopped(lanes.join_next()).await {
                None => {
                    stopped = true;
                    break;
                }
                Some(Some(Ok((j, end)))) => match end {
                    LaneEnd::Done => held[j] = Held::default(),
                    LaneEnd::Reconnect(h) => {
                        held[j] = h;
                        reconnect = true;
                    }
                    LaneEnd::Stopped => stopped = true,
                },
                Some(_) => {}
            }
        }
        lanes.abort_all();
        driver.abort();
        if stopped || !reconnect {
            break 'connection;
        }
        // A server that accepts and then ends the connection before
        // answering anything is treated like one that refuses: back off.
        if conn.answered.get() == 0 {
            backoff = next_backoff(backoff);
            if !w.sleep_unless_stopped(backoff).await {
                break;
            }
        } else {
            backoff = Duration::ZERO;
        }
    }
    w.conn_exited();
}

/// A connection ready for streams, and the task that drives its frames.
struct SendAndDrive {
    send: SendRequest,
    driver: tokio::task::JoinHandle<()>,
}

/// Connect within `--connect-timeout`, shake hands (TLS, then the HTTP/2
/// preface) within it again; None if the worker stops first.
async fn connect(w: &Rc<Shared>, started: Instant) -> Option<Result<SendAndDrive, Fault>> {
    let attempt = tokio::time::timeout(w.connect_timeout, TcpStream::connect(w.addr));
    let tcp = match w.unless_stopped(attempt).await? {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Some(Err(Fault::from_connect_error(&e))),
        Err(_) => return Some(Err(Fault::ConnectTimeout)),
    };
    let _ = tcp.set_nodelay(true);
    let connected = Instant::now();
    w.stats
        .borrow_mut()
        .record_connect(connected.saturating_duration_since(started).as_micros() as u64);
    let stream = match &w.tls {
        None => Stream::Plain(tcp),
        Some(client) => {
            let connector = tokio_rustls::TlsConnector::from(client.config.clone());
            let shake = tokio::time::timeout(
                w.connect_timeout,
                connector.connect(client.name.clone(), tcp),
            );
            let s = match w.unless_stopped(shake).await? {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return Some(Err(handshake_fault(&e))),
                Err(_) => return Some(Err(Fault::TlsHandshakeTimeout)),
            };
            let (_, session) = s.get_ref();
            let info = tls::info_of(session);
            let resumed = tls::resumed(session);
            w.stats
                .borrow_mut()
                .record_tls(connected.elapsed().as_micros() as u64, resumed);
            if info.alpn.as_deref() != Some("h2") {
                return Some(Err(Fault::TlsNoAlpn));
            }
            w.startup.tls_negotiated(info);
            Stream::Tls(Box::new(s))
        }
    };
    let io = Counted {
        stream,
        w: w.clone(),
    };
    let shake = ::h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONN_WINDOW)
        .max_frame_size(MAX_FRAME)
        .handshake::<_, Bytes>(io);
    let (send, connection) = match w
        .unless_stopped(tokio::time::timeout(w.connect_timeout, shake))
        .await?
    {
        Ok(Ok(pair)) => pair,
        Ok(Err(_)) => return Some(Err(Fault::H2Protocol)),
        Err(_) => return Some(Err(Fault::ConnectTimeout)),
    };
    let driver = tokio::task::spawn_local(async move {
        let _ = connection.await;
    });
    Some(Ok(SendAndDrive { send, driver }))
}

/// A TLS handshake failure from tokio-rustls, as a counter.
fn handshake_fault(e: &io::Error) -> Fault {
    if let Some(f) = tls::fault_in(e) {
        return f;
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => Fault::TlsEof,
        _ => Fault::TlsOther,
    }
}

/// One stream at a time on a shared connection; see the module doc.
async fn lane(
    w: Rc<Shared>,
    conn: Rc<Conn>,
    mut send: SendRequest,
    slot: usize,
    mut held: Held,
) -> LaneEnd {
    let slot = &w.slots[slot];
    // Streams refused in a row: the first is sent again at once (the server
    // told its stream limit late), later ones after a growing pause, so a
    // server refusing everything is not asked again as fast as it answers.
    let mut refused = 0u32;
    loop {
        if w.stop.get() {
            return LaneEnd::Stopped;
        }
        if !held.claimed {
            if !w.claim() {
                return LaneEnd::Done;
            }
            held.claimed = true;
        }
        let at = match held.due {
            Some(at) => at,
            None => match w.next_due() {
                Due::Now => None,
                Due::At(t) => {
                    if !w.wait_until(t).await {
                        return LaneEnd::Stopped;
                    }
                    w.paced_write();
                    Some(t)
                }
                Due::Idle(seen) => {
                    if !w.wait_phase(seen).await {
                        return LaneEnd::Stopped;
                    }
                    continue;
                }
            },
        };
        held.due = Some(at);
        // Wait for a stream the server's concurrency limit allows.
        send = match send.ready().await {
            Ok(s) => s,
            Err(_) => return LaneEnd::Reconnect(held),
        };
        let t0 = Instant::now();
        // Latency counts from when the request was due; one sent a little
        // early counts from its write.
        let from = at.map_or(t0, |d| d.min(t0));
        slot.since.set(Some(t0));
        let outcome = exchange(&w, &conn, &mut send, t0).await;
        slot.since.set(None);
        // The worker's sweep marks late slots; here timeouts are per stream.
        slot.timed_out.set(false);
        if conn.first.get() && !matches!(outcome, Outcome::NotSent | Outcome::Again) {
            conn.first.set(false);
            w.startup.first_attempt(match outcome {
                Outcome::Failed(f) if f.class() == ErrorClass::Tls => Err(f),
                _ => Ok(()),
            });
        }
        match outcome {
            Outcome::Done(status) => {
                record(&w, status, from, t0);
                conn.answered.set(conn.answered.get() + 1);
                held = Held::default();
                refused = 0;
            }
            // The claim and due time carry over to the next attempt.
            Outcome::Again => {
                refused += 1;
                if refused > 1 {
                    let pause = Duration::from_micros(500 << refused.min(8));
                    if !w.sleep_unless_stopped(pause).await {
                        return LaneEnd::Stopped;
                    }
                }
            }
            Outcome::NotSent | Outcome::Stale => return LaneEnd::Reconnect(held),
            Outcome::Failed(f) => {
                w.stats.borrow_mut().record_fault(f);
                held = Held::default();
                refused = 0;
            }
        }
    }
}

/// Send the request on a new stream and read its response to the end.
async fn exchange(w: &Shared, conn: &Conn, send: &mut SendRequest, t0: Instant) -> Outcome {
    let Some(h2) = &w.h2 else {
        return Outcome::Failed(Fault::H2Protocol);
    };
    let req = &h2.request;
    let body = !req.body.is_empty();
    let (response, mut tx) = match send.send_request(req.head(), !body) {
        Ok(pair) => pair,
        // A connection that never took a stream will not take this one
        // either: a failure, not a loop of reconnects.
        Err(_) if !conn.sent.get() => return Outcome::Failed(Fault::H2Protocol),
        Err(_) => return Outcome::NotSent,
    };
    conn.sent.set(true);
    if body {
        // Shared bytes: h2 sends them as the server's window allows.
        let _ = tx.send_data(req.body.clone(), true);
    }
    let head_request = req.method() == http::Method::HEAD;
    let mut answered = false;
    let read = async {
        let resp = response.await?;
        answered = true;
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        if !head_request {
            while let Some(chunk) = body.data().await {
                let n = chunk?.len();
                let _ = body.flow_control().release_capacity(n);
            }
        }
        Ok::<u16, ::h2::Error>(status)
    };
    let result = tokio::time::timeout_at((t0 + w.timeout).into(), read).await;
    drop(tx);
    match result {
        Err(_) => Outcome::Failed(Fault::Timeout),
        Ok(Ok(status)) => Outcome::Done(status),
        Ok(Err(e)) => match classify(&e) {
            Failure::Unprocessed => Outcome::Again,
            Failure::Fault(f) => Outcome::Failed(f),
            Failure::Io(_) if !answered && conn.answered.get() > 0 => Outcome::Stale,
            Failure::Io(kind) => Outcome::Failed(io_fault(kind, answered)),
        },
    }
}

/// A connection that failed under a stream, as HTTP/1.1 names it.
fn io_fault(kind: io::ErrorKind, answered: bool) -> Fault {
    use io::ErrorKind as K;
    match kind {
        K::ConnectionReset | K::ConnectionAborted => Fault::ReadReset,
        K::UnexpectedEof | K::BrokenPipe if answered => Fault::ReadEofMidBody,
        K::UnexpectedEof | K::BrokenPipe => Fault::ReadEofBeforeResponse,
        _ => Fault::ReadOther,
    }
}

/// Back-off between failed attempts: 10 ms doubling to 1 s.
fn next_backoff(b: Duration) -> Duration {
    (b * 2).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

#[inline]
fn record(w: &Shared, status: u16, from: Instant, written: Instant) {
    let now = Instant::now();
    let us = |t: Instant| now.saturating_duration_since(t).as_micros() as u64;
    w.stats
        .borrow_mut()
        .record_response(status, us(from), us(written));
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// The connection's byte stream, counting what it reads (frames, heads
/// and bodies; plaintext under TLS, as the HTTP/1.1 loop counts).
struct Counted {
    stream: Stream,
    w: Rc<Shared>,
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let before = buf.filled().len();
        let r = match &mut me.stream {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        let n = buf.filled().len() - before;
        if n > 0 {
            me.w.stats.borrow_mut().record_bytes(n);
        }
        r
    }
}

impl AsyncWrite for Counted {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, b),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, b),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        b: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, b),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, b),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
