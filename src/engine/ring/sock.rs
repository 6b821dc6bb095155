//! Sockets on the ring: `Conn` is the ring engine's `Transport`. A socket
//! has one multishot receive armed while a task reads it; the kernel puts
//! each packet in a buffer of the provided ring, and `read` copies it into
//! the connection's `RecvBuf` and hands the buffer back. The shared request
//! is sent with MSG_WAITALL and CQE_SKIP_SUCCESS: a send that succeeds
//! posts nothing, one that fails is seen by the next read. Connect is a
//! nonblocking connect completed by a ring poll (IORING_OP_CONNECT stalls
//! when thousands are opened at once, measured with tokio-uring).

use super::bufring::BGID;
use super::core::{driver, try_driver};
use super::driver::{ud, Driver, K_NONE, K_RECV, K_SEND};
use crate::engine::io::{RecvBuf, Transport};
use io_uring::{opcode, squeue, types};
use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

impl Driver {
    /// Copy what has come for socket `i` into `dst`, or wait for it.
    fn sock_read(
        &mut self,
        i: u32,
        gen: u32,
        cx: &mut Context<'_>,
        dst: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        let (epoch, fixed) = (self.epoch, self.fixed(i));
        let Driver { socks, bufs, .. } = &mut *self;
        let Some(s) = socks.get(i, gen) else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        if !s.data.is_empty() {
            let mut n = 0;
            while let Some((bid, from, to)) = s.data.front_mut() {
                let src = bufs.get(*bid, *from as usize, *to as usize);
                let k = src.len().min(dst.len() - n);
                // SAFETY: `k` bytes fit in both, and a provided buffer is
                // never the caller's memory.
                unsafe {
                    std::ptr::copy_nonoverlapping(src.as_ptr(), dst[n..].as_mut_ptr().cast(), k)
                };
                n += k;
                *from += k as u16;
                if from < to {
                    break;
                }
                bufs.put(*bid);
                s.data.pop_front();
            }
            bufs.publish();
            return Poll::Ready(Ok(n));
        }
        if s.err != 0 {
            return Poll::Ready(Err(io::Error::from_raw_os_error(-s.err)));
        }
        if s.eof {
            return Poll::Ready(Ok(0));
        }
        if !s.armed {
            s.armed = true;
            s.epoch = epoch;
            let e = match fixed {
                Some(f) => opcode::RecvMulti::new(f, BGID).build(),
                None => opcode::RecvMulti::new(types::Fd(s.fd), BGID).build(),
            };
            self.push(&e.user_data(ud(K_RECV, gen, i)));
        }
        let s = &mut self.socks.slots[i as usize];
        match &s.reader {
            Some(w) if w.will_wake(cx.waker()) => {}
            Some(_) => s.reader = Some(cx.waker().clone()),
            None => {
                s.reader = Some(cx.waker().clone());
                self.waiting += 1;
            }
        }
        Poll::Pending
    }

    fn sock_send(&mut self, i: u32, gen: u32, req: &'static [u8]) {
        let (epoch, fixed) = (self.epoch, self.fixed(i));
        let Some(s) = self.socks.get(i, gen) else {
            return;
        };
        s.epoch = epoch;
        let (p, n) = (req.as_ptr(), req.len() as u32);
        let e = match fixed {
            Some(f) => opcode::Send::new(f, p, n),
            None => opcode::Send::new(types::Fd(s.fd), p, n),
        };
        let e = e
            .flags(libc::MSG_WAITALL | libc::MSG_NOSIGNAL)
            .build()
            .flags(squeue::Flags::SKIP_SUCCESS);
        self.push(&e.user_data(ud(K_SEND, gen, i)));
    }

    /// The registered file of socket slot `i`, if it has one.
    fn fixed(&self, i: u32) -> Option<types::Fixed> {
        ((i as usize) < self.files.len()).then_some(types::Fixed(i))
    }

    /// A connected socket takes a slot, and the file of that slot when
    /// there is one: the update is queued ahead of the socket's entries,
    /// and the kernel issues them in order, so they find it in place.
    fn sock_open(&mut self, fd: RawFd) -> (u32, u32) {
        let (i, gen) = self.socks.open(fd);
        if self.fixed(i).is_some() {
            self.files[i as usize] = fd;
            self.socks.slots[i as usize].epoch = self.epoch;
            self.update_file(i);
        }
        (i, gen)
    }

    /// Queue the update of file `i` to `files[i]` (an fd, or -1 to empty
    /// it), read when the kernel issues it: `files` never moves.
    fn update_file(&mut self, i: u32) {
        let fd = &self.files[i as usize] as *const RawFd;
        let e = opcode::FilesUpdate::new(fd, 1)
            .offset(i as i32)
            .build()
            .flags(squeue::Flags::SKIP_SUCCESS);
        self.push(&e.user_data(ud(K_NONE, 0, 0)));
    }

    /// The socket is closing: its entries must reach the kernel before its
    /// fd number can name another socket, and an armed receive is ended by
    /// `shutdown` (its slot is freed when the receive's last completion comes).
    /// Its registered file is emptied, after its entries in the queue: the
    /// kernel keeps the socket open until the entries in flight are done,
    /// and the slot (so the file) names no other socket before it is freed.
    fn sock_close(&mut self, i: u32, gen: u32) {
        let epoch = self.epoch;
        let Some(s) = self.socks.get(i, gen) else {
            return;
        };
        let (armed, fd, unsubmitted) = (s.armed, s.fd, s.epoch == epoch);
        if s.reader.take().is_some() {
            self.waiting -= 1;
        }
        if unsubmitted {
            self.flush();
        }
        if self.fixed(i).is_some() {
            self.files[i as usize] = -1;
            self.update_file(i);
        }
        if armed {
            // SAFETY: our socket, still open (the caller closes it next).
            unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
            self.socks.slots[i as usize].closing = true;
        } else {
            self.socks.free(i, &mut self.bufs);
        }
    }
}

/// A one-shot operation in flight: its result when it completes. Dropped
/// before that, it is cancelled, and `buf` (what the kernel reads) is kept
/// by the driver until the kernel lets go of it.
pub(super) struct Op {
    slot: (u32, u32),
    done: bool,
    buf: Option<Vec<u8>>,
}

impl Op {
    /// The buffer given to `start`, back once the operation is done.
    pub(super) fn take_buf(&mut self) -> Option<Vec<u8>> {
        self.buf.take()
    }

    fn start(e: squeue::Entry, buf: Option<Vec<u8>>) -> Op {
        Op {
            slot: driver(|d| d.op_start(e)),
            done: false,
            buf,
        }
    }
}

impl Future for Op {
    type Output = i32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<i32> {
        let r = driver(|d| d.op_poll(self.slot.0, cx));
        if r.is_ready() {
            self.done = true;
        }
        r
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        if !self.done {
            let buf = self.buf.take();
            try_driver(|d| d.op_drop(self.slot.0, self.slot.1, buf));
        }
    }
}

pub struct Conn {
    slot: (u32, u32),
    fd: OwnedFd,
}

impl Drop for Conn {
    fn drop(&mut self) {
        try_driver(|d| d.sock_close(self.slot.0, self.slot.1));
    }
}

impl Conn {
    /// Copy what has come into `dst`, or wait for it (`read`, and the
    /// byte stream of `stream`).
    pub(super) fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        let (i, gen) = self.slot;
        driver(|d| d.sock_read(i, gen, cx, dst))
    }

    /// Start sending all of `buf` (MSG_WAITALL); the operation gives it back.
    pub(super) fn send_op(&self, buf: Vec<u8>) -> Op {
        let fixed = driver(|d| d.fixed(self.slot.0));
        let (p, n) = (buf.as_ptr(), buf.len().min(1 << 30) as u32);
        let e = match fixed {
            Some(f) => opcode::Send::new(f, p, n),
            None => opcode::Send::new(types::Fd(self.fd.as_raw_fd()), p, n),
        };
        let e = e.flags(libc::MSG_WAITALL | libc::MSG_NOSIGNAL).build();
        Op::start(e, Some(buf))
    }
}

impl Transport for Conn {
    async fn connect(addr: SocketAddr, source: Option<IpAddr>) -> io::Result<Self> {
        let (fd, pending) = start_connect(addr, source)?;
        if pending {
            let r = Op::start(
                opcode::PollAdd::new(types::Fd(fd.as_raw_fd()), libc::POLLOUT as u32).build(),
                None,
            )
            .await;
            if r < 0 {
                return Err(io::Error::from_raw_os_error(-r));
            }
        }
        finish_connect(fd.as_raw_fd())?;
        let slot = driver(|d| d.sock_open(fd.as_raw_fd()));
        Ok(Conn { slot, fd })
    }

    async fn write_all(&mut self, req: &'static [u8]) -> io::Result<()> {
        driver(|d| d.sock_send(self.slot.0, self.slot.1, req));
        Ok(())
    }

    async fn write_owned(&mut self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        let (mut buf, mut off) = (buf, 0);
        let fixed = driver(|d| d.fixed(self.slot.0));
        while off < buf.len() {
            let (p, n) = (buf[off..].as_ptr(), (buf.len() - off).min(1 << 30) as u32);
            let e = match fixed {
                Some(f) => opcode::Send::new(f, p, n),
                None => opcode::Send::new(types::Fd(self.fd.as_raw_fd()), p, n),
            };
            let e = e.flags(libc::MSG_NOSIGNAL).build();
            let mut op = Op::start(e, Some(buf));
            let r = (&mut op).await;
            buf = op.buf.take().unwrap_or_default();
            match r {
                0 => return (Err(io::ErrorKind::WriteZero.into()), buf),
                r if r < 0 => return (Err(io::Error::from_raw_os_error(-r)), buf),
                r => off += r as usize,
            }
        }
        (Ok(()), buf)
    }

    async fn read(&mut self, buf: &mut RecvBuf) -> io::Result<usize> {
        let spare = buf.spare_mut();
        // SAFETY: the same memory; what `sock_read` writes is initialised.
        let dst = unsafe { &mut *(std::ptr::from_mut(spare) as *mut [MaybeUninit<u8>]) };
        let n = std::future::poll_fn(|cx| self.poll_read_into(cx, dst)).await?;
        buf.commit(n);
        Ok(n)
    }

    fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// The last reap's time: one clock reading for all it reaped.
    #[inline]
    fn now() -> Instant {
        super::now()
    }
}

/// A nonblocking socket connecting to `addr` (from `source`, as
/// `io::tcp_connect` binds); true if the connect is still in progress.
fn start_connect(addr: SocketAddr, source: Option<IpAddr>) -> io::Result<(OwnedFd, bool)> {
    let family = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain syscall; the fd is owned at once.
    let raw = unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    if let Some(ip) = source {
        // Failure (kernels before 4.2) only means the port is chosen at bind time.
        setopt(raw, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, 1);
        let (sa, len) = sockaddr(SocketAddr::new(ip, 0));
        // SAFETY: a valid sockaddr of `len` bytes.
        if unsafe { libc::bind(raw, (&raw const sa).cast(), len) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let (sa, len) = sockaddr(addr);
    // SAFETY: as above.
    if unsafe { libc::connect(raw, (&raw const sa).cast(), len) } == 0 {
        return Ok((fd, false));
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINPROGRESS) => Ok((fd, true)),
        _ => Err(e),
    }
}

/// The connect's outcome, then TCP_NODELAY, and back to blocking mode: the
/// ring waits for readiness itself, and io_uring returns EAGAIN to the
/// caller for a nonblocking file instead of waiting.
fn finish_connect(fd: RawFd) -> io::Result<()> {
    let mut err: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: an int option of the right size.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&raw mut err).cast(),
            &mut len,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    if err != 0 {
        return Err(io::Error::from_raw_os_error(err));
    }
    setopt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1);
    // SAFETY: plain fcntl on our socket.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK);
    }
    Ok(())
}

fn setopt(fd: RawFd, level: libc::c_int, name: libc::c_int, v: libc::c_int) {
    // SAFETY: an int option of the right size on our socket.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&raw const v).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than, and aligned for, sockaddr_in.
            unsafe { (&raw mut ss).cast::<libc::sockaddr_in>().write(sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { (&raw mut ss).cast::<libc::sockaddr_in6>().write(sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}
