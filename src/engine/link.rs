//! What a connection's loop writes to and reads from: the socket itself, or
//! a TLS session over it. The loop is the same for both; only here do bytes
//! pass through `proto::tls`. The plaintext request is still the one buffer
//! encoded before the run; over TLS it is encrypted into this link's own
//! output buffer (allocated once, reused for every write) and sent from there.

use super::io::{RecvBuf, Transport};
use crate::proto::tls::{self, Session, TlsClient};
use crate::stats::fault::is_reset;
use crate::stats::{Fault, TlsInfo};
use std::io;
use std::os::fd::RawFd;

/// A TLS record is at most 16 KiB plus overhead: one read takes a whole one.
const CIPHER_BUF: usize = 17 * 1024;

pub enum Link<T> {
    Plain(T),
    Tls(Box<TlsLink<T>>),
}

pub struct TlsLink<T> {
    io: T,
    tls: Session,
    /// Records waiting to be sent; kept (with its capacity) between writes.
    out: Vec<u8>,
    /// Ciphertext read from the socket, and how much of it the session took.
    raw: RecvBuf,
    taken: usize,
}

/// A finished handshake: the link, what it negotiated, and whether it
/// resumed an earlier session.
pub struct Handshake<T> {
    pub link: Link<T>,
    pub info: TlsInfo,
    pub resumed: bool,
}

impl<T: Transport> Link<T> {
    pub fn fd(&self) -> RawFd {
        match self {
            Link::Plain(s) => s.fd(),
            Link::Tls(t) => t.io.fd(),
        }
    }

    pub async fn write_all(&mut self, req: &'static [u8]) -> io::Result<()> {
        match self {
            Link::Plain(s) => s.write_all(req).await,
            Link::Tls(t) => {
                t.tls.write_plain(req)?;
                t.flush().await
            }
        }
    }

    /// Write a request rendered into a buffer the lane owns (a spliced
    /// sequence step): the buffer moves to the write and comes back, so
    /// io_uring reads it in place with no copy and no lifetime to fake.
    pub async fn write_buf(&mut self, req: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        match self {
            Link::Plain(s) => s.write_owned(req).await,
            Link::Tls(t) => {
                if let Err(e) = t.tls.write_plain(&req) {
                    return (Err(e), req);
                }
                (t.flush().await, req)
            }
        }
    }

    /// Append to `buf` (which has spare capacity); `Ok(0)` is end of stream.
    /// A TLS failure comes back as an `InvalidData` error carrying the
    /// rustls error (`tls::fault_in` names it).
    pub async fn read(&mut self, buf: &mut RecvBuf) -> io::Result<usize> {
        match self {
            Link::Plain(s) => s.read(buf).await,
            Link::Tls(t) => t.read(buf).await,
        }
    }
}

impl<T: Transport> TlsLink<T> {
    async fn flush(&mut self) -> io::Result<()> {
        self.out.clear();
        self.tls.take_output(&mut self.out);
        if self.out.is_empty() {
            return Ok(());
        }
        let out = std::mem::take(&mut self.out);
        let (r, out) = self.io.write_owned(out).await;
        self.out = out;
        r
    }

    async fn read(&mut self, buf: &mut RecvBuf) -> io::Result<usize> {
        loop {
            match self.tls.read_plain(buf.spare_mut()) {
                Ok(n) => {
                    buf.commit(n);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if self.taken < self.raw.len() {
                let n = self
                    .tls
                    .feed(&self.raw.data()[self.taken..])
                    .map_err(tls::as_io)?;
                self.taken += n;
                if self.tls.wants_write() {
                    // A reply the protocol owes (key update): send it now.
                    self.flush().await?;
                }
                if n > 0 {
                    continue;
                }
            }
            self.raw.clear();
            self.taken = 0;
            if self.io.read(&mut self.raw).await? == 0 {
                self.tls.feed_eof().map_err(tls::as_io)?;
            }
        }
    }
}

/// Run the TLS handshake over a connected socket. The caller bounds it in time.
pub async fn handshake<T: Transport>(io: T, client: &TlsClient) -> Result<Handshake<T>, Fault> {
    let mut t = TlsLink {
        io,
        tls: Session::new(client)?,
        out: Vec::new(),
        raw: RecvBuf::with_capacity(CIPHER_BUF),
        taken: 0,
    };
    loop {
        if t.tls.wants_write() {
            t.flush().await.map_err(|e| Fault::from_write_error(&e))?;
        }
        if !t.tls.is_handshaking() {
            break;
        }
        if t.taken >= t.raw.len() {
            t.raw.clear();
            t.taken = 0;
            match t.io.read(&mut t.raw).await {
                Ok(0) => return Err(Fault::TlsEof),
                Ok(_) => {}
                Err(e) if is_reset(&e) => return Err(Fault::TlsEof),
                Err(e) => return Err(Fault::from_read_error(&e)),
            }
        }
        let n = t
            .tls
            .feed(&t.raw.data()[t.taken..])
            .map_err(|e| client.fault_of(&e))?;
        t.taken += n;
    }
    let info = t.tls.info();
    let resumed = t.tls.resumed();
    Ok(Handshake {
        link: Link::Tls(Box::new(t)),
        info,
        resumed,
    })
}
