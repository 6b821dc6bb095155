//! The last response head a connection parsed, byte for byte, with what
//! parsing it found. A server answering the same request the same way
//! sends the same head again (nginx's changes with its `Date`, once a
//! second), so a head that starts the buffer with exactly those bytes is
//! taken without httparse: a memcmp instead of a parse. httparse's verdict
//! on a complete head depends only on its bytes, so the outcome is the one
//! parsing would give. Every HTTP/1.1 connection keeps one (its buffer
//! allocated at the first head, never per response): a parse is most of
//! what a response costs the client in user space.

/// Longest head remembered (nginx's is about 150 bytes).
const MAX: usize = 256;

#[derive(Clone, Debug)]
pub(super) struct HeadMemo<S> {
    /// The head; empty: nothing remembered. Its buffer is allocated at the
    /// first store, as long as that head, and grows (to `MAX` at most) only
    /// for a longer one: a few times per connection at most, and a
    /// connection holds its head's length, not `MAX`.
    bytes: Vec<u8>,
    /// What the parse set, for a request of `head_request`.
    head_request: bool,
    status: u16,
    keep_alive: bool,
    /// What its Content-Type set `event_stream` to, if it had one.
    event_stream: Option<bool>,
    state: S,
}

/// What a remembered head sets.
pub(super) struct Recalled<S> {
    pub len: usize,
    pub status: u16,
    pub keep_alive: bool,
    pub event_stream: Option<bool>,
    pub state: S,
}

impl<S: Copy> HeadMemo<S> {
    /// `state`: the parser's state for "nothing remembered" (never read).
    pub fn new(state: S) -> HeadMemo<S> {
        HeadMemo {
            bytes: Vec::new(),
            head_request: false,
            status: 0,
            keep_alive: false,
            event_stream: None,
            state,
        }
    }

    /// The remembered head, if `buf` starts with it.
    #[inline]
    pub fn recall(&self, buf: &[u8], head_request: bool) -> Option<Recalled<S>> {
        let n = self.bytes.len();
        if n == 0 || head_request != self.head_request || !buf.starts_with(&self.bytes) {
            return None;
        }
        Some(Recalled {
            len: n,
            status: self.status,
            keep_alive: self.keep_alive,
            event_stream: self.event_stream,
            state: self.state,
        })
    }

    /// Remember `head` and what parsing it set (the caller passes final
    /// heads only: an interim one's outcome is to read another head).
    pub fn store(&mut self, head: &[u8], head_request: bool, r: Recalled<S>) {
        self.bytes.clear();
        if head.len() > MAX {
            return;
        }
        self.bytes.extend_from_slice(head);
        self.head_request = head_request;
        self.status = r.status;
        self.keep_alive = r.keep_alive;
        self.event_stream = r.event_stream;
        self.state = r.state;
    }
}
