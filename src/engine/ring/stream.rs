//! A ring socket as tokio's `AsyncRead`/`AsyncWrite`, for the code that
//! needs a byte stream (the `h2` crate, rustls over HTTP/2). Reads copy
//! from the socket's multishot receive as `Conn::read` does. Writes gather
//! into a buffer that the next flush hands to the kernel as ONE send, with
//! the ring's next submission: at most one send is in flight per socket
//! (two could complete out of order), and a flush that finds one still
//! running waits for it. So the HTTP/2 frames a task writes in one turn
//! leave in one send, and no system call is made for them by the task.

use super::sock::{Conn, Op};
use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes gathered while a send is in flight before writers wait for it.
const HIGH_WATER: usize = 256 * 1024;

pub struct Stream {
    /// The send in flight, if any (dropped before the socket: a send still
    /// running is cancelled, its buffer kept by the driver until it ends).
    op: Option<Op>,
    conn: Conn,
    /// Written since the last flush.
    out: Vec<u8>,
    /// The buffer of the last send that finished, for reuse.
    spare: Vec<u8>,
}

impl Stream {
    pub fn new(conn: Conn) -> Stream {
        Stream {
            op: None,
            conn,
            out: Vec::new(),
            spare: Vec::new(),
        }
    }

    pub fn fd(&self) -> RawFd {
        use super::super::io::Transport;
        self.conn.fd()
    }

    /// Wait for the send in flight, if any; a short send's rest is sent again.
    fn poll_sent(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(op) = &mut self.op {
            let r = match Pin::new(&mut *op).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(r) => r,
            };
            let mut buf = op.take_buf().unwrap_or_default();
            self.op = None;
            if r < 0 {
                return Poll::Ready(Err(io::Error::from_raw_os_error(-r)));
            }
            if r == 0 && !buf.is_empty() {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            let sent = (r as usize).min(buf.len());
            if sent < buf.len() {
                buf.drain(..sent);
                self.op = Some(self.conn.send_op(buf));
                continue;
            }
            buf.clear();
            if self.spare.capacity() < buf.capacity() {
                self.spare = buf;
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        // SAFETY: only initialised bytes are written into the unfilled part,
        // and exactly `n` of them are then marked filled.
        let dst: &mut [MaybeUninit<u8>] = unsafe { buf.unfilled_mut() };
        if dst.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let n = std::task::ready!(me.conn.poll_read_into(cx, dst))?;
        // SAFETY: `poll_read_into` wrote `n` bytes at the start of `dst`.
        unsafe { buf.assume_init(n) };
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if me.out.len() >= HIGH_WATER {
            std::task::ready!(me.poll_flush_inner(cx))?;
        }
        me.out.extend_from_slice(b);
        Poll::Ready(Ok(b.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if me.out.len() >= HIGH_WATER {
            std::task::ready!(me.poll_flush_inner(cx))?;
        }
        let mut n = 0;
        for b in bufs {
            me.out.extend_from_slice(b);
            n += b.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        std::task::ready!(me.poll_flush_inner(cx))?;
        std::task::ready!(me.poll_sent(cx))?;
        // SAFETY: our socket, open while `conn` is.
        unsafe { libc::shutdown(me.fd(), libc::SHUT_WR) };
        Poll::Ready(Ok(()))
    }
}

impl Stream {
    /// Hand what was written to the kernel: ready once it is queued on the
    /// ring (the submission goes with the runtime's next enter), pending
    /// while an earlier send is still running.
    fn poll_flush_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_sent(cx))?;
        if !self.out.is_empty() {
            let next = std::mem::take(&mut self.spare);
            let buf = std::mem::replace(&mut self.out, next);
            self.op = Some(self.conn.send_op(buf));
        }
        Poll::Ready(Ok(()))
    }
}
