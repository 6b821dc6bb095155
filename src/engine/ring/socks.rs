//! The ring's socket table: per socket, what its multishot receive has
//! delivered and not yet been read (buffers of the provided ring), its end
//! of stream or error, and the task waiting to read. The driver feeds it
//! completions; `sock` reads from it.

use super::bufring::BufRing;
use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::task::Waker;

#[derive(Default)]
pub(super) struct Sock {
    pub(super) gen: u32,
    pub(super) fd: RawFd,
    /// Received and not yet read: (buffer id, from, to).
    pub(super) data: VecDeque<(u16, u16, u16)>,
    pub(super) eof: bool,
    /// A receive or send error (negative errno), seen after the data.
    pub(super) err: i32,
    pub(super) armed: bool,
    /// Dropped while its receive was armed: freed at the last completion.
    pub(super) closing: bool,
    pub(super) reader: Option<Waker>,
    /// The enter that will submit its latest entry.
    pub(super) epoch: u64,
}

/// The ring's sockets, by slot; a slot's generation tells a late
/// completion of an earlier socket from one of the socket there now.
#[derive(Default)]
pub(super) struct Socks {
    pub(super) slots: Vec<Sock>,
    free: Vec<u32>,
}

impl Socks {
    pub(super) fn open(&mut self, fd: RawFd) -> (u32, u32) {
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Sock::default());
                self.slots.len() as u32 - 1
            }
        };
        let s = &mut self.slots[i as usize];
        s.fd = fd;
        (i, s.gen)
    }

    pub(super) fn get(&mut self, i: u32, gen: u32) -> Option<&mut Sock> {
        self.slots.get_mut(i as usize).filter(|s| s.gen == gen)
    }

    pub(super) fn free(&mut self, i: u32, bufs: &mut BufRing) {
        let s = &mut self.slots[i as usize];
        for (bid, _, _) in s.data.drain(..) {
            bufs.put(bid);
        }
        s.gen = (s.gen + 1) & 0xff_ffff;
        s.fd = -1;
        (s.eof, s.err, s.armed, s.closing, s.reader) = (false, 0, false, false, None);
        self.free.push(i);
    }

    /// A multishot receive completed; true if it woke a reader.
    pub fn received(&mut self, i: u32, gen: u32, res: i32, flags: u32, bufs: &mut BufRing) -> bool {
        let bid = io_uring::cqueue::buffer_select(flags);
        let Some(s) = self.get(i, gen) else {
            if let Some(b) = bid {
                bufs.put(b);
            }
            return false;
        };
        match bid {
            Some(b) if res > 0 && !s.closing => s.data.push_back((b, 0, res as u16)),
            Some(b) => bufs.put(b),
            None if res == 0 => s.eof = true,
            // Out of buffers: the receive ended; the next read arms it again.
            None if res == -libc::ENOBUFS => {}
            None if res < 0 && s.err == 0 => s.err = res,
            None => {}
        }
        if !io_uring::cqueue::more(flags) {
            s.armed = false;
            if s.closing {
                self.free(i, bufs);
                return false;
            }
        }
        s.reader.take().map(Waker::wake).is_some()
    }

    /// A send failed (successful sends post nothing); true if it woke a reader.
    pub fn send_failed(&mut self, i: u32, gen: u32, res: i32) -> bool {
        let Some(s) = self.get(i, gen) else {
            return false;
        };
        if s.err == 0 {
            // A short send under MSG_WAITALL ends only on an error.
            s.err = if res < 0 { res } else { -libc::EPIPE };
        }
        s.reader.take().map(Waker::wake).is_some()
    }
}
