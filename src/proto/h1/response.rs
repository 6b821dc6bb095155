//! Incremental HTTP/1.1 response parser.
//!
//! The connection feeds it whatever bytes it has; the parser says how many it
//! took and whether the response is complete. The head is parsed with httparse
//! in place (it needs the whole head in one buffer, so an incomplete head takes
//! no bytes and the caller reads more behind it); bodies are only counted and
//! skipped, whatever their size, so memory stays flat. Framing follows RFC 9112
//! section 6: no body for HEAD, 1xx, 204 and 304; else chunked, else
//! Content-Length, else until the server closes. A Transfer-Encoding whose
//! final coding is not chunked (`gzip`) overrides Content-Length and also
//! runs to the close (§6.3 rule 4), as curl reads it: the response is then
//! counted when the server closes, and the connection is not reused, rather
//! than cut at a length the server did not frame it by. Nothing here
//! allocates.

use crate::stats::Fault;
use chunk::{chunk_step, Chunk};
use memo::{HeadMemo, Recalled};

mod chunk;
mod memo;

/// Most header lines accepted in one response head.
const MAX_HEADERS: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Head,
    Length(u64),
    UntilClose,
    Chunk(Chunk),
    Done,
}

/// How far one `feed` got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes taken from the front of the slice.
    pub consumed: usize,
    /// The response is complete.
    pub done: bool,
}

#[derive(Clone, Debug)]
pub struct ResponseParser {
    state: State,
    head_request: bool,
    status: u16,
    keep_alive: bool,
    /// A byte after the head has been taken (body, or chunk framing).
    body_seen: bool,
    /// `Content-Type: text/event-stream` (Server-Sent Events).
    event_stream: bool,
    /// Every body is taken as an event stream (`--stream`).
    events_always: bool,
    /// Hand every body to `on_body`, not only event streams' (the
    /// request has checks), and note where the head was.
    collect: bool,
    /// The last final head's place in the slice last fed (when collecting).
    head_span: Option<(usize, usize)>,
    /// The last final head and its outcome (`memo_heads`).
    memo: Option<HeadMemo<State>>,
}

impl ResponseParser {
    /// `head_request`: the request was HEAD, so no response has a body.
    pub fn new(head_request: bool) -> Self {
        ResponseParser {
            state: State::Head,
            head_request,
            status: 0,
            keep_alive: true,
            body_seen: false,
            event_stream: false,
            events_always: false,
            collect: false,
            head_span: None,
            memo: None,
        }
    }

    /// Remember the last final head and take the same bytes again without
    /// parsing them (a connection's run of identical answers).
    pub fn memo_heads(mut self) -> Self {
        self.memo = Some(HeadMemo::new(State::Head));
        self
    }

    /// A connection's parser: heads remembered, every body taken as an
    /// event stream when `events_always` (`--stream`).
    pub fn for_connection(events_always: bool) -> Self {
        Self::new(false).events_always(events_always).memo_heads()
    }

    /// Hand every body's content to `on_body` for the next response (a
    /// request with checks), and note where its head is.
    #[inline]
    pub fn set_collect(&mut self, on: bool) {
        self.collect = on;
    }

    /// Where the final head lay in the slice of the last `feed_body`, if it
    /// was parsed in that call while collecting.
    #[inline]
    pub fn head_span(&self) -> Option<(usize, usize)> {
        self.head_span
    }

    /// Take every body as an event stream, whatever its Content-Type.
    pub fn events_always(mut self, on: bool) -> Self {
        self.events_always = on;
        self.event_stream = on;
        self
    }

    /// The next request is HEAD (a mix may hold both kinds).
    #[inline]
    pub fn set_head_request(&mut self, on: bool) {
        self.head_request = on;
    }

    /// Ready for the next response on the same connection.
    #[inline]
    pub fn reset(&mut self) {
        self.state = State::Head;
        self.status = 0;
        self.keep_alive = true;
        self.body_seen = false;
        self.event_stream = self.events_always;
        self.head_span = None;
    }

    /// Status code of the response (valid once the head is parsed).
    #[inline]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the connection may carry another request after this response.
    #[inline]
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// The head has been parsed (so the response has started).
    #[inline]
    pub fn head_done(&self) -> bool {
        self.state != State::Head
    }

    /// The first byte of the body has arrived, or the response is complete
    /// without one: the moment a time to first byte is taken.
    #[inline]
    pub fn body_started(&self) -> bool {
        self.body_seen || self.state == State::Done
    }

    /// The response is a Server-Sent Events stream (valid once the head is
    /// parsed).
    #[inline]
    pub fn event_stream(&self) -> bool {
        self.event_stream
    }

    /// Take bytes from `buf`. An incomplete head consumes nothing: call again
    /// with the same bytes and more behind them.
    #[inline]
    pub fn feed(&mut self, buf: &[u8]) -> Result<Progress, Fault> {
        self.feed_body(buf, &mut |_, _| {})
    }

    /// `feed`, handing every piece of an event stream's body content
    /// (de-chunked) to `on_body` as it is taken, in order, with `true`.
    /// Other bodies are skipped as `feed` skips them, unless collecting:
    /// then they are handed over too, with `false`.
    pub fn feed_body(
        &mut self,
        buf: &[u8],
        on_body: &mut impl FnMut(&[u8], bool),
    ) -> Result<Progress, Fault> {
        let mut pos = 0;
        self.head_span = None;
        loop {
            match self.state {
                State::Head => {
                    let n = match self.parse_head(&buf[pos..])? {
                        Some(n) if self.collect => {
                            self.head_span = Some((pos, pos + n));
                            n
                        }
                        Some(n) => n,
                        None => {
                            return Ok(Progress {
                                consumed: pos,
                                done: false,
                            })
                        }
                    };
                    pos += n;
                }
                State::Done => {
                    return Ok(Progress {
                        consumed: pos,
                        done: true,
                    })
                }
                State::Length(left) => {
                    let take = left.min((buf.len() - pos) as u64);
                    if take > 0 && (self.event_stream || self.collect) {
                        on_body(&buf[pos..pos + take as usize], self.event_stream);
                    }
                    pos += take as usize;
                    self.body_seen |= take > 0;
                    if take == left {
                        self.state = State::Done;
                    } else {
                        self.state = State::Length(left - take);
                        return Ok(Progress {
                            consumed: pos,
                            done: false,
                        });
                    }
                }
                State::UntilClose => {
                    if pos < buf.len() && (self.event_stream || self.collect) {
                        on_body(&buf[pos..], self.event_stream);
                    }
                    self.body_seen |= pos < buf.len();
                    return Ok(Progress {
                        consumed: buf.len(),
                        done: false,
                    });
                }
                State::Chunk(c) => {
                    let (n, next) = if self.event_stream || self.collect {
                        let events = self.event_stream;
                        chunk_step(c, &buf[pos..], &mut |b| on_body(b, events))?
                    } else {
                        chunk_step(c, &buf[pos..], &mut |_| {})?
                    };
                    pos += n;
                    self.body_seen |= n > 0;
                    match next {
                        Some(c) => {
                            self.state = State::Chunk(c);
                            if pos == buf.len() {
                                return Ok(Progress {
                                    consumed: pos,
                                    done: false,
                                });
                            }
                        }
                        None => self.state = State::Done,
                    }
                }
            }
        }
    }

    /// The server closed the connection. Returns true when that completes the
    /// response (close-delimited body), else the fault it is.
    pub fn eof(&mut self) -> Result<(), Fault> {
        match self.state {
            State::UntilClose => {
                self.state = State::Done;
                self.keep_alive = false;
                Ok(())
            }
            State::Done => Ok(()),
            State::Head => Err(Fault::ReadEofMidHead),
            State::Length(_) | State::Chunk(_) => Err(Fault::ReadEofMidBody),
        }
    }

    /// Parse one head at the front of `buf`. `None`: incomplete.
    fn parse_head(&mut self, buf: &[u8]) -> Result<Option<usize>, Fault> {
        if let Some(r) = self
            .memo
            .as_ref()
            .and_then(|m| m.recall(buf, self.head_request))
        {
            self.status = r.status;
            self.keep_alive = r.keep_alive;
            if let Some(e) = r.event_stream {
                self.event_stream = e;
            }
            self.state = r.state;
            return Ok(Some(r.len));
        }
        // Left uninitialised: httparse writes the lines it finds, and zeroing
        // 100 of them (3.2 KB) cost more than parsing a small head.
        let mut headers = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
        let mut res = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut res,
            buf,
            &mut headers,
        );
        let n = match parsed {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                // httparse accepts any prefix; reject early what cannot become HTTP/1.x.
                // Empty lines before the status line are skipped as httparse skips
                // them, so that where the reads split does not change the verdict.
                let start = buf.iter().position(|&b| b != b'\r' && b != b'\n');
                let rest = &buf[start.unwrap_or(buf.len())..];
                let probe = &rest[..rest.len().min(5)];
                if probe != &b"HTTP/"[..probe.len()] {
                    return Err(Fault::ParseVersion);
                }
                return Ok(None);
            }
            Err(httparse::Error::Version) => return Err(Fault::ParseVersion),
            Err(_) => return Err(Fault::ParseHead),
        };
        let status = res.code.unwrap_or(0);
        let version = res.version.unwrap_or(1);
        self.status = status;

        let mut keep_alive = version >= 1;
        let mut length: Option<u64> = None;
        let mut chunked = false;
        // A Transfer-Encoding was given: it overrides Content-Length.
        let mut coded = false;
        // What a Content-Type set `event_stream` to (else it stays).
        let mut typed = None;
        for h in res.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let v = parse_length(h.value).ok_or(Fault::ParseFraming)?;
                if length.is_some_and(|l| l != v) {
                    return Err(Fault::ParseFraming);
                }
                length = Some(v);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                // The last line's last coding is the final one.
                coded = true;
                chunked = last_token_is(h.value, b"chunked");
            } else if h.name.eq_ignore_ascii_case("content-type") {
                let events = self.events_always
                    || trim(h.value)
                        .get(..17)
                        .is_some_and(|t| t.eq_ignore_ascii_case(b"text/event-stream"));
                self.event_stream = events;
                typed = Some(events);
            } else if h.name.eq_ignore_ascii_case("connection") {
                if has_token(h.value, b"close") {
                    keep_alive = false;
                } else if has_token(h.value, b"keep-alive") {
                    keep_alive = true;
                }
            }
        }
        self.keep_alive = keep_alive;

        self.state = if (100..200).contains(&status) && status != 101 {
            // Interim response: the real one follows on the same connection.
            State::Head
        } else if self.head_request || status == 101 || status == 204 || status == 304 {
            if status == 101 {
                self.keep_alive = false;
            }
            State::Done
        } else if chunked {
            State::Chunk(Chunk::Size { size: 0, digits: 0 })
        } else if coded {
            self.keep_alive = false;
            State::UntilClose
        } else if let Some(l) = length {
            if l == 0 {
                State::Done
            } else {
                State::Length(l)
            }
        } else {
            self.keep_alive = false;
            State::UntilClose
        };
        if let Some(m) = self.memo.as_mut().filter(|_| self.state != State::Head) {
            let (status, keep_alive, event_stream, state) =
                (self.status, self.keep_alive, typed, self.state);
            let r = Recalled {
                len: n,
                status,
                keep_alive,
                event_stream,
                state,
            };
            m.store(&buf[..n], self.head_request, r);
        }
        Ok(Some(n))
    }
}

fn parse_length(v: &[u8]) -> Option<u64> {
    let v = trim(v);
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(b - b'0');
    }
    Some(n)
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

fn has_token(v: &[u8], token: &[u8]) -> bool {
    v.split(|&b| b == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(token))
}

fn last_token_is(v: &[u8], token: &[u8]) -> bool {
    v.split(|&b| b == b',')
        .next_back()
        .is_some_and(|t| trim(t).eq_ignore_ascii_case(token))
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
