//! The one seam between blast and its I/O runtimes: `Transport`, the
//! receive buffer, and the tokio-uring and epoll sockets and runtimes (the
//! ring engine's own runtime is `engine::ring`). The connection loop,
//! worker, stats and reports are shared by every engine, and reach timers
//! and tasks through `engine::rt`.
//!
//! Every runtime runs its tasks on one pinned thread, so connection tasks
//! can share the worker's state through `Rc` and `Cell` without atomics.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;
use tokio::net::TcpStream;

/// A connection's receive buffer: allocated once, handed to the kernel for
/// each read and taken back. Reads append into its spare capacity, which is
/// never zero-filled, so an idle connection costs only the pages its bytes
/// have touched (wrk's fixed per-connection buffer costs the same way).
pub struct RecvBuf {
    v: Option<Vec<u8>>,
    /// Bytes `[0..init)` of the allocation have been written at least once,
    /// so `spare_mut` can hand out the spare capacity as a slice without
    /// zeroing it again.
    init: usize,
}

impl RecvBuf {
    pub fn with_capacity(cap: usize) -> Self {
        RecvBuf {
            v: Some(Vec::with_capacity(cap)),
            init: 0,
        }
    }

    /// The bytes received and not yet discarded.
    pub fn data(&self) -> &[u8] {
        self.v.as_deref().unwrap_or(&[])
    }

    pub fn len(&self) -> usize {
        self.data().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_full(&self) -> bool {
        self.v.as_ref().is_none_or(|v| v.len() == v.capacity())
    }

    pub fn clear(&mut self) {
        if let Some(v) = &mut self.v {
            v.clear();
        }
    }

    /// Drop the first `n` bytes, moving the rest (an incomplete head) to the front.
    pub fn discard_front(&mut self, n: usize) {
        if let Some(v) = &mut self.v {
            v.drain(..n.min(v.len()));
        }
    }

    /// Double the capacity, up to `max`, for a head that does not fit.
    pub fn grow(&mut self, max: usize) -> bool {
        match &mut self.v {
            Some(v) if v.capacity() < max => {
                let more = v.capacity().min(max - v.capacity()).max(1);
                v.reserve_exact(more);
                // A new allocation: only the bytes in use are known written.
                self.init = v.len();
                true
            }
            _ => false,
        }
    }

    /// The spare capacity, for a copy from user space (TLS plaintext):
    /// zeroed the first time only, then reused as it is. Follow with `commit`.
    pub fn spare_mut(&mut self) -> &mut [u8] {
        let Some(v) = &mut self.v else {
            return &mut [];
        };
        let (len, cap) = (v.len(), v.capacity());
        let start = self.init.max(len);
        if start < cap {
            // SAFETY: within the allocation; u8 has no invalid values.
            unsafe { std::ptr::write_bytes(v.as_mut_ptr().add(start), 0, cap - start) };
        }
        self.init = cap;
        // SAFETY: [len..cap) is inside the allocation and initialised (above,
        // or by an earlier write), and borrowed mutably with `self`.
        unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().add(len), cap - len) }
    }

    /// `n` bytes of `spare_mut` were filled.
    pub fn commit(&mut self, n: usize) {
        if let Some(v) = &mut self.v {
            let len = (v.len() + n).min(self.init).min(v.capacity());
            // SAFETY: at most `init` bytes, all initialised.
            unsafe { v.set_len(len) };
        }
    }
}

/// Open files one worker's runtime holds besides its connections, measured
/// in /proc/PID/fd: tokio-uring has its ring, the epoll instances of
/// tokio's reactor and its waker eventfd (4); epoll has the last three; the
/// ring engine only its ring (1). The most of the three, whichever runs.
pub const FILES_PER_WORKER: u64 = 4;

/// One TCP connection of one engine.
pub trait Transport: Sized {
    /// Connect to `addr`, from the local address `source` if given.
    fn connect(addr: SocketAddr, source: Option<IpAddr>) -> impl Future<Output = io::Result<Self>>;
    /// Write the whole shared request.
    fn write_all(&mut self, req: &'static [u8]) -> impl Future<Output = io::Result<()>>;
    /// Write all of an owned buffer (TLS records) and hand it back.
    fn write_owned(&mut self, buf: Vec<u8>) -> impl Future<Output = (io::Result<()>, Vec<u8>)>;
    /// Append to `buf` (which has spare capacity); `Ok(0)` is end of stream.
    fn read(&mut self, buf: &mut RecvBuf) -> impl Future<Output = io::Result<usize>>;
    /// The socket, so the worker can `shutdown` it to end a pending read.
    fn fd(&self) -> RawFd;
    /// The time of a completion this transport just delivered, or of a
    /// write it is about to make: the clock, unless the runtime has read
    /// it already for the completions it reaped (the ring does, per turn).
    #[inline]
    fn now() -> Instant {
        Instant::now()
    }
}

/// Connect through tokio's reactor (both engines do). With `--source` the
/// socket is bound to that address before it connects, with
/// IP_BIND_ADDRESS_NO_PORT so the kernel picks the local port at connect
/// time, per destination, instead of reserving one at bind time for every
/// destination (bind would then run out of ports, EADDRINUSE, long before
/// connect would).
pub async fn tcp_connect(addr: SocketAddr, source: Option<IpAddr>) -> io::Result<TcpStream> {
    let Some(ip) = source else {
        return TcpStream::connect(addr).await;
    };
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    let on: libc::c_int = 1;
    // SAFETY: a valid socket and an int option of the right size. Failure
    // (kernels before 4.2) only means the port is chosen at bind time.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            &on as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    sock.bind(SocketAddr::new(ip, 0))?;
    sock.connect(addr).await
}

/// Stop a connection's pending I/O from outside its task: the pending read
/// or write completes at once, and the task sees why in its worker's state.
pub fn shutdown_fd(fd: RawFd) {
    if fd >= 0 {
        // SAFETY: shutdown on a descriptor we own at worst fails with EBADF/ENOTCONN.
        unsafe {
            libc::shutdown(fd, libc::SHUT_RDWR);
        }
    }
}

pub mod uring {
    use super::*;
    use tokio_uring::buf::BoundedBuf;

    pub struct Conn(tokio_uring::net::TcpStream);

    impl Transport for Conn {
        /// Connect through the runtime's epoll reactor, then hand the socket
        /// to io_uring: IORING_OP_CONNECT stalls when thousands are opened at
        /// once (measured: 10,000 connections, hundreds timed out; none this way).
        async fn connect(addr: SocketAddr, source: Option<IpAddr>) -> io::Result<Self> {
            let s = tcp_connect(addr, source).await?;
            s.set_nodelay(true)?;
            Ok(Conn(tokio_uring::net::TcpStream::from_std(s.into_std()?)))
        }

        async fn write_all(&mut self, req: &'static [u8]) -> io::Result<()> {
            self.0.write_all(req).await.0
        }

        async fn write_owned(&mut self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
            let (r, buf) = self.0.write_all(buf).await;
            (r, buf)
        }

        async fn read(&mut self, buf: &mut RecvBuf) -> io::Result<usize> {
            let Some(v) = buf.v.take() else {
                return Err(io::ErrorKind::OutOfMemory.into());
            };
            let at = v.len();
            // The kernel writes into the spare capacity; the Vec's length
            // grows by what it wrote.
            let (res, slice) = self.0.read(v.slice(at..)).await;
            buf.v = Some(slice.into_inner());
            res
        }

        fn fd(&self) -> RawFd {
            self.0.as_raw_fd()
        }
    }

    /// Submission queue size: one operation per connection at a time.
    fn sq_entries(connections: u64) -> u32 {
        connections.next_power_of_two().clamp(256, 4096) as u32
    }

    /// Completion queue size: every connection can have a completion
    /// pending at once; an overflowing CQ falls back to a slow kernel list.
    fn cq_entries(connections: u64) -> u32 {
        connections
            .saturating_mul(2)
            .next_power_of_two()
            .clamp(512, 65536) as u32
    }

    /// A tokio-uring runtime for one worker. COOP_TASKRUN (kernel 5.19+) saves
    /// an interrupt per completion; older kernels refuse it, so retry without.
    pub fn runtime(connections: u64) -> io::Result<tokio_uring::Runtime> {
        let sq = sq_entries(connections);
        let mut fast = io_uring::IoUring::builder();
        fast.setup_coop_taskrun()
            .setup_cqsize(cq_entries(connections));
        let mut plain = io_uring::IoUring::builder();
        plain.setup_cqsize(cq_entries(connections));
        tokio_uring::Runtime::new(tokio_uring::builder().entries(sq).uring_builder(&fast))
            .or_else(|_| {
                tokio_uring::Runtime::new(tokio_uring::builder().entries(sq).uring_builder(&plain))
            })
            .or_else(|_| tokio_uring::Runtime::new(tokio_uring::builder().entries(sq)))
    }

    /// Whether io_uring works here (seccomp, sysctl and old kernels refuse it).
    pub fn probe() -> Result<(), String> {
        io_uring::IoUring::new(8)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    pub fn block_on<F: Future>(rt: &tokio_uring::Runtime, f: F) -> F::Output {
        rt.block_on(f)
    }
}

pub mod epoll {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    pub struct Conn(TcpStream);

    impl Transport for Conn {
        async fn connect(addr: SocketAddr, source: Option<IpAddr>) -> io::Result<Self> {
            let s = tcp_connect(addr, source).await?;
            s.set_nodelay(true)?;
            Ok(Conn(s))
        }

        async fn write_all(&mut self, req: &'static [u8]) -> io::Result<()> {
            self.0.write_all(req).await
        }

        async fn write_owned(&mut self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
            let r = self.0.write_all(&buf).await;
            (r, buf)
        }

        async fn read(&mut self, buf: &mut RecvBuf) -> io::Result<usize> {
            match &mut buf.v {
                // read_buf fills the spare capacity; the caller made sure there is some.
                Some(v) => self.0.read_buf(v).await,
                None => Err(io::ErrorKind::OutOfMemory.into()),
            }
        }

        fn fd(&self) -> RawFd {
            self.0.as_raw_fd()
        }
    }

    pub struct Runtime {
        rt: tokio::runtime::Runtime,
        local: tokio::task::LocalSet,
    }

    pub fn runtime() -> io::Result<Runtime> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Runtime {
            rt,
            local: tokio::task::LocalSet::new(),
        })
    }

    pub fn block_on<F: Future>(rt: &Runtime, f: F) -> F::Output {
        rt.local.block_on(&rt.rt, f)
    }
}
