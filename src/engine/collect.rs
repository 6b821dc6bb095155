//! What a connection keeps of a response for the request's checks (and,
//! through the same view, a step's captures), and the verdict on it.
//!
//! A request without checks collects nothing: `Variant::checks` is `None`
//! and the connection parses and discards as it always has (one predictable
//! test per request). With checks, what they need is kept in buffers owned
//! by the connection (or HTTP/2 lane), cleared per response and never
//! shrunk, so a steady run allocates nothing: the head's bytes when a
//! header check reads them (parsed again with httparse when judged), the
//! body up to `--max-body` when a body or json check reads it (de-chunked;
//! for an event stream the `data:` payloads, kept by the token clock),
//! only the length for `size`. A body larger than `--max-body` is a `check`
//! failure that says so, never unbounded memory.

use super::tokens::TokenClock;
use crate::proto::check::{Checks, Headers, Response, NO_HEADERS};
use crate::stats::{Judged, Stats};
use std::cell::RefCell;

/// Most header lines read back from a kept head.
const MAX_HEADERS: usize = 100;

/// The checks of one request (its name's slots numbered for the stats).
#[derive(Clone, Debug)]
pub struct CheckSet {
    pub checks: Checks,
    /// The stats slot of each check, in order.
    pub slots: Vec<usize>,
    pub body: bool,
    pub headers: bool,
}

impl CheckSet {
    pub fn new(checks: Checks, slots: Vec<usize>) -> CheckSet {
        CheckSet {
            body: checks.needs_body(),
            headers: checks.needs_headers(),
            checks,
            slots,
        }
    }
}

/// One response as collected: reused from response to response.
#[derive(Debug, Default)]
pub struct Collected {
    /// The head's bytes (status line and headers), when kept.
    pub head: Vec<u8>,
    /// The body, de-chunked, when kept (up to `max`).
    pub body: Vec<u8>,
    /// The body's length, always counted while collecting.
    pub body_len: u64,
    /// The body outgrew `max`.
    pub over: bool,
    keep_head: bool,
    keep_body: bool,
    max: usize,
}

impl Collected {
    /// A new response of a request with `set` begins.
    pub fn begin(&mut self, set: &CheckSet, max: usize) {
        self.head.clear();
        self.body.clear();
        self.body_len = 0;
        self.over = false;
        self.keep_head = set.headers;
        self.keep_body = set.body;
        self.max = max;
    }

    /// A lane reads this response too (a step's captures, the cookie
    /// jar): keep its head and (`body`) its body as well, after `begin`
    /// (`begun`) or for a request without checks instead of it.
    pub fn keep_for_lane(&mut self, begun: bool, body: bool, max: usize) {
        if !begun {
            self.head.clear();
            self.body.clear();
            self.body_len = 0;
            self.over = false;
            self.max = max;
            self.keep_body = false;
        }
        self.keep_head = true;
        self.keep_body |= body;
    }

    /// The head's bytes, if a check reads headers.
    #[inline]
    pub fn take_head(&mut self, head: &[u8]) {
        if self.keep_head {
            self.head.clear();
            self.head.extend_from_slice(head);
        }
    }

    /// A piece of the body (de-chunked).
    #[inline]
    pub fn take_body(&mut self, b: &[u8]) {
        self.body_len += b.len() as u64;
        if self.keep_body && !self.over {
            if self.body.len() + b.len() > self.max {
                self.over = true;
            } else {
                self.body.extend_from_slice(b);
            }
        }
    }
}

/// What judging needs of the worker: its stats and the `--max-body`
/// failure's detail.
pub struct Judge<'a> {
    pub stats: &'a RefCell<Stats>,
    pub max_body_detail: &'a str,
}

/// The verdict on one complete response to the request named `name`:
/// tallies each check of `set` (if any) and records the failure's detail.
/// `headers` reads the response's headers when the head was not kept as
/// bytes (HTTP/2). An event stream's error event fails it even without
/// checks.
pub fn judge(
    w: &Judge,
    name: u16,
    status: u16,
    set: Option<&CheckSet>,
    c: &Collected,
    headers: Option<&dyn Headers>,
    tokens: Option<&TokenClock>,
) -> Judged {
    let stream_error = tokens.and_then(|t| t.error.as_deref());
    let Some(set) = set else {
        return match stream_error {
            Some(m) if Judged::of_status(status) == Judged::Ok => {
                stream_failure(w, name, m);
                Judged::Check
            }
            _ => Judged::of_status(status),
        };
    };
    if !set.checks.has_status() && !set.checks.status_ok(status) {
        // The default rule failed it: body checks are not evaluated.
        return Judged::Status;
    }
    // An event stream's payloads stand for its body.
    let events = tokens.filter(|t| t.fed && t.keep.is_some());
    let (body, over) = match events {
        Some(t) => (t.data.as_slice(), t.data_over),
        None => (c.body.as_slice(), c.over),
    };
    if set.body && over {
        w.stats
            .borrow_mut()
            .record_check_detail(name, w.max_body_detail);
        return Judged::Check;
    }
    // Filled only for header checks: 3 KB to clear per response otherwise.
    let mut parsed: [httparse::Header; MAX_HEADERS];
    let from_head: &[httparse::Header];
    let hs: &dyn Headers = match headers {
        Some(h) => h,
        None if set.headers => {
            parsed = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut r = httparse::Response::new(&mut parsed);
            let _ = r.parse(&c.head);
            from_head = r.headers;
            &from_head
        }
        None => &NO_HEADERS,
    };
    let r = Response {
        status,
        headers: hs,
        body,
        body_len: if events.is_some() {
            body.len() as u64
        } else {
            c.body_len
        },
    };
    let mut stats = w.stats.borrow_mut();
    let first = set.checks.eval_each(&r, |i, ok| {
        let slot = set.slots[i];
        stats.record_check(slot, ok);
    });
    if let Some(m) = stream_error {
        drop(stats);
        stream_failure(w, name, m);
        return Judged::Check;
    }
    match first {
        Ok(()) => Judged::Ok,
        Err(i) => {
            stats.record_check_first(set.slots[i]);
            Judged::Check
        }
    }
}

/// A stream's error event: a `check` failure with the event's message.
fn stream_failure(w: &Judge, name: u16, message: &str) {
    let mut detail = [0u8; 160];
    let text = bounded_detail(&mut detail, message);
    w.stats.borrow_mut().record_check_detail(name, text);
}

/// `stream error: MESSAGE` in a stack buffer (long messages cut at a
/// character boundary), so recording it allocates only the first time.
fn bounded_detail<'a>(buf: &'a mut [u8; 160], message: &str) -> &'a str {
    const PREFIX: &str = "stream error: ";
    let mut end = message.len().min(buf.len() - PREFIX.len());
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    buf[..PREFIX.len()].copy_from_slice(PREFIX.as_bytes());
    buf[PREFIX.len()..PREFIX.len() + end].copy_from_slice(&message.as_bytes()[..end]);
    std::str::from_utf8(&buf[..PREFIX.len() + end]).unwrap_or(PREFIX)
}
