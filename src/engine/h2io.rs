//! How an HTTP/2 connection is made (TCP, then TLS with ALPN h2, or h2c
//! by prior knowledge, then the HTTP/2 preface) and the byte stream h2
//! runs on, which counts what it reads for `bytes_read`: a tokio socket,
//! or on a ring worker a ring socket (`ring::Stream`).

use super::io::{tcp_connect, Transport};
use super::lifecycle::Lifecycle;
use super::ring;
use super::shared::StatsHandle;
use super::ConnSettings;
use crate::proto::h2::{CONN_WINDOW, MAX_FRAME, STREAM_WINDOW};
use crate::proto::tls;
use crate::stats::Fault;
use bytes::Bytes;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

pub type SendRequest = ::h2::client::SendRequest<Bytes>;

/// A connection ready for streams, and the future that drives its frames.
pub struct Connected {
    pub send: SendRequest,
    pub driver: Pin<Box<dyn Future<Output = ()>>>,
}

/// Connect within `--connect-timeout`, shake hands (TLS, then the HTTP/2
/// preface) within it again; None if the worker stops first.
pub async fn connect(
    conn: &ConnSettings,
    life: &Lifecycle,
    stats: StatsHandle,
    source: Option<IpAddr>,
    started: Instant,
) -> Option<Result<Connected, Fault>> {
    let attempt = super::rt::timeout(conn.connect_timeout, Tcp::connect(conn.addr, source));
    let tcp = match life.unless_stopped(attempt).await? {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Some(Err(Fault::from_connect_error(&e))),
        Err(_) => return Some(Err(Fault::ConnectTimeout)),
    };
    let connected = Instant::now();
    stats
        .get()
        .borrow_mut()
        .record_connect(connected.saturating_duration_since(started).as_micros() as u64);
    let stream = match &conn.tls {
        None => Stream::Plain(tcp),
        Some(client) => {
            life.startup.handshaking();
            let connector = tokio_rustls::TlsConnector::from(client.config.clone());
            let shake = super::rt::timeout(
                conn.connect_timeout,
                connector.connect(client.name.clone(), tcp),
            );
            let s = match life.unless_stopped(shake).await? {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return Some(Err(handshake_fault(&e))),
                Err(_) => return Some(Err(Fault::TlsHandshakeTimeout)),
            };
            let (_, session) = s.get_ref();
            let info = tls::info_of(session);
            let resumed = tls::resumed(session);
            stats
                .get()
                .borrow_mut()
                .record_tls(connected.elapsed().as_micros() as u64, resumed);
            if info.alpn.as_deref() != Some("h2") {
                return Some(Err(Fault::TlsNoAlpn));
            }
            life.startup.tls_negotiated(info);
            Stream::Tls(Box::new(s))
        }
    };
    let io = Counted { stream, stats };
    let shake = ::h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONN_WINDOW)
        .max_frame_size(MAX_FRAME)
        .handshake::<_, Bytes>(io);
    let (send, connection) = match life
        .unless_stopped(super::rt::timeout(conn.connect_timeout, shake))
        .await?
    {
        Ok(Ok(pair)) => pair,
        Ok(Err(_)) => return Some(Err(Fault::H2Protocol)),
        Err(_) => return Some(Err(Fault::ConnectTimeout)),
    };
    let driver = Box::pin(async move {
        let _ = connection.await;
    });
    Some(Ok(Connected { send, driver }))
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

/// The TCP connection: a tokio socket (epoll engine), or a ring socket on
/// a ring worker, where h2 and rustls read and write through the ring.
enum Tcp {
    Tokio(TcpStream),
    Ring(ring::Stream),
}

impl Tcp {
    async fn connect(addr: std::net::SocketAddr, source: Option<IpAddr>) -> io::Result<Tcp> {
        if ring::active() {
            let c = <ring::Conn as Transport>::connect(addr, source).await?;
            return Ok(Tcp::Ring(ring::Stream::new(c)));
        }
        let s = tcp_connect(addr, source).await?;
        let _ = s.set_nodelay(true);
        Ok(Tcp::Tokio(s))
    }
}

/// Forward tokio's byte-stream traits to whichever variant `$self` holds.
macro_rules! each {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            Tcp::Tokio($s) => $e,
            Tcp::Ring($s) => $e,
        }
    };
}

impl AsyncRead for Tcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each!(self.get_mut(), s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Tcp {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        each!(self.get_mut(), s => Pin::new(s).poll_write(cx, b))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        b: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each!(self.get_mut(), s => Pin::new(s).poll_write_vectored(cx, b))
    }

    fn is_write_vectored(&self) -> bool {
        each!(self, s => s.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self.get_mut(), s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self.get_mut(), s => Pin::new(s).poll_shutdown(cx))
    }
}

enum Stream {
    Plain(Tcp),
    Tls(Box<tokio_rustls::client::TlsStream<Tcp>>),
}

/// The connection's byte stream, counting what it reads (frames, heads
/// and bodies; plaintext under TLS, as the HTTP/1.1 loop counts).
struct Counted {
    stream: Stream,
    stats: StatsHandle,
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
            me.stats.get().borrow_mut().record_bytes(n);
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
