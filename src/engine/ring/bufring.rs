//! The provided buffer ring (kernel 5.19): buffers the kernel picks from for
//! each multishot receive, so a connection needs no receive buffer of its
//! own in the kernel's hands and no receive submission per response. A
//! buffer is handed back by bumping the shared tail once its bytes have
//! been copied into the connection's `RecvBuf`.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU16, Ordering};

const IORING_REGISTER_PBUF_RING: libc::c_uint = 22;
/// One buffer: a typical response fits (nginx's 13-byte answer is 160
/// bytes); a larger one spans several, copied in order.
pub const BUF_SIZE: usize = 4096;
/// The buffer group id of the ring.
pub const BGID: u16 = 0;

pub struct BufRing {
    /// `n` entries of 16 bytes: addr u64, len u32, bid u16, resv u16
    /// (entry 0's `resv` is the shared tail).
    ring: *mut u8,
    bytes: usize,
    /// `n * BUF_SIZE` bytes, an anonymous mapping: zero pages until the
    /// kernel fills a buffer, so only the pages receives reach count in
    /// the worker's memory.
    bufs: *mut u8,
    mask: u16,
    tail: u16,
    dirty: bool,
}

impl BufRing {
    /// Register `n` (a power of two) buffers with the ring `ring_fd`.
    pub fn new(ring_fd: RawFd, n: u16) -> io::Result<BufRing> {
        let bytes = n as usize * 16;
        let ring = map(bytes)?;
        let bufs = match map(n as usize * BUF_SIZE) {
            Ok(b) => b,
            Err(e) => {
                // SAFETY: the mapping made above, not registered.
                unsafe { libc::munmap(ring.cast(), bytes) };
                return Err(e);
            }
        };
        // struct io_uring_buf_reg { ring_addr u64, ring_entries u32, bgid u16, flags u16, resv [u64; 3] }
        let mut reg = [0u64; 5];
        reg[0] = ring as u64;
        reg[1] = n as u64 | (BGID as u64) << 32;
        // SAFETY: a correctly laid out registration for a ring we own.
        let r = unsafe {
            libc::syscall(
                libc::SYS_io_uring_register,
                ring_fd,
                IORING_REGISTER_PBUF_RING,
                reg.as_ptr(),
                1,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            // SAFETY: the mappings made above, not registered.
            unsafe {
                libc::munmap(ring.cast(), bytes);
                libc::munmap(bufs.cast(), n as usize * BUF_SIZE);
            }
            return Err(e);
        }
        let mut br = BufRing {
            ring,
            bytes,
            bufs,
            mask: n - 1,
            tail: 0,
            dirty: false,
        };
        for bid in 0..n {
            br.put(bid);
        }
        br.publish();
        Ok(br)
    }

    /// Queue buffer `bid` for the kernel again (visible after `publish`).
    pub fn put(&mut self, bid: u16) {
        // SAFETY: the entry is inside the mapping (masked index); fields
        // are written one by one, as entry 0's `resv` is the shared tail.
        unsafe {
            let e = self.ring.add((self.tail & self.mask) as usize * 16);
            (e as *mut u64).write(self.bufs.add(bid as usize * BUF_SIZE) as u64);
            (e.add(8) as *mut u32).write(BUF_SIZE as u32);
            (e.add(12) as *mut u16).write(bid);
        }
        self.tail = self.tail.wrapping_add(1);
        self.dirty = true;
    }

    /// One release store hands back every buffer queued since the last one.
    pub fn publish(&mut self) {
        if self.dirty {
            self.dirty = false;
            // SAFETY: the tail field of the mapping, shared with the kernel.
            unsafe {
                (*(self.ring.add(14) as *const AtomicU16)).store(self.tail, Ordering::Release)
            }
        }
    }

    /// The bytes `[from..to)` of buffer `bid`, as a completion reported them.
    pub fn get(&self, bid: u16, from: usize, to: usize) -> &[u8] {
        let (bid, to) = ((bid & self.mask) as usize, to.min(BUF_SIZE));
        // SAFETY: inside the mapping (bid masked, `to` clamped); the mapping
        // is zero-filled memory, so every byte is initialised.
        unsafe {
            std::slice::from_raw_parts(
                self.bufs.add(bid * BUF_SIZE + from),
                to.saturating_sub(from),
            )
        }
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`; the ring that used it is gone
        // (the driver drops its ring first).
        unsafe {
            libc::munmap(self.ring.cast(), self.bytes);
            libc::munmap(self.bufs.cast(), (self.mask as usize + 1) * BUF_SIZE);
        }
    }
}

/// An anonymous, page-aligned mapping of `bytes`, zero-filled.
fn map(bytes: usize) -> io::Result<*mut u8> {
    // SAFETY: a fresh anonymous mapping; the caller unmaps it.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(p.cast())
}
