//! Incremental HTTP/1.1 response parser.
//!
//! The connection feeds it whatever bytes it has; the parser says how many it
//! took and whether the response is complete. The head is parsed with httparse
//! in place (it needs the whole head in one buffer, so an incomplete head takes
//! no bytes and the caller reads more behind it); bodies are only counted and
//! skipped, whatever their size, so memory stays flat. Framing follows RFC 9112
//! section 6: no body for HEAD, 1xx, 204 and 304; else chunked, else
//! Content-Length, else until the server closes. Nothing here allocates.

use crate::stats::Fault;

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Reading the hex size; `digits` counts those seen.
    Size {
        size: u64,
        digits: u8,
    },
    /// After `;` or whitespace on the size line, until LF.
    Extension {
        size: u64,
    },
    /// Saw CR after the size, want LF.
    SizeLf {
        size: u64,
    },
    Data(u64),
    DataCr,
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    TrailerLine,
    TrailerLf,
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
}

impl ResponseParser {
    /// `head_request`: the request was HEAD, so no response has a body.
    pub fn new(head_request: bool) -> Self {
        ResponseParser {
            state: State::Head,
            head_request,
            status: 0,
            keep_alive: true,
        }
    }

    /// Ready for the next response on the same connection.
    #[inline]
    pub fn reset(&mut self) {
        self.state = State::Head;
        self.status = 0;
        self.keep_alive = true;
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

    /// Take bytes from `buf`. An incomplete head consumes nothing: call again
    /// with the same bytes and more behind them.
    pub fn feed(&mut self, buf: &[u8]) -> Result<Progress, Fault> {
        let mut pos = 0;
        loop {
            match self.state {
                State::Head => {
                    let n = match self.parse_head(&buf[pos..])? {
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
                    pos += take as usize;
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
                    return Ok(Progress {
                        consumed: buf.len(),
                        done: false,
                    });
                }
                State::Chunk(c) => {
                    let (n, next) = chunk_step(c, &buf[pos..])?;
                    pos += n;
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
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut res = httparse::Response::new(&mut headers);
        let n = match res.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                // httparse accepts any prefix; reject early what cannot become HTTP/1.x.
                let probe = &buf[..buf.len().min(5)];
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
        for h in res.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let v = parse_length(h.value).ok_or(Fault::ParseFraming)?;
                if length.is_some_and(|l| l != v) {
                    return Err(Fault::ParseFraming);
                }
                length = Some(v);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = last_token_is(h.value, b"chunked");
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

/// Advance the chunked-body machine over `buf`. Returns the bytes taken and
/// the next state, or `None` when the body (with its trailers) is complete.
fn chunk_step(mut c: Chunk, buf: &[u8]) -> Result<(usize, Option<Chunk>), Fault> {
    let mut i = 0;
    while i < buf.len() {
        if let Chunk::Data(left) = c {
            let take = left.min((buf.len() - i) as u64);
            i += take as usize;
            c = if take == left {
                Chunk::DataCr
            } else {
                Chunk::Data(left - take)
            };
            continue;
        }
        let b = buf[i];
        i += 1;
        c = match c {
            Chunk::Size { size, digits } => match b {
                b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                    if digits >= 15 {
                        return Err(Fault::ParseChunk);
                    }
                    let d = (b as char).to_digit(16).unwrap_or(0) as u64;
                    Chunk::Size {
                        size: size * 16 + d,
                        digits: digits + 1,
                    }
                }
                _ if digits == 0 => return Err(Fault::ParseChunk),
                b'\r' => Chunk::SizeLf { size },
                b'\n' => end_of_size_line(size),
                b';' | b' ' | b'\t' => Chunk::Extension { size },
                _ => return Err(Fault::ParseChunk),
            },
            Chunk::Extension { size } => match b {
                b'\n' => end_of_size_line(size),
                _ => Chunk::Extension { size },
            },
            Chunk::SizeLf { size } => match b {
                b'\n' => end_of_size_line(size),
                _ => return Err(Fault::ParseChunk),
            },
            Chunk::DataCr => match b {
                b'\r' => Chunk::DataLf,
                b'\n' => Chunk::Size { size: 0, digits: 0 },
                _ => return Err(Fault::ParseChunk),
            },
            Chunk::DataLf => match b {
                b'\n' => Chunk::Size { size: 0, digits: 0 },
                _ => return Err(Fault::ParseChunk),
            },
            Chunk::TrailerStart => match b {
                b'\r' => Chunk::TrailerLf,
                b'\n' => return Ok((i, None)),
                _ => Chunk::TrailerLine,
            },
            Chunk::TrailerLine => match b {
                b'\n' => Chunk::TrailerStart,
                _ => Chunk::TrailerLine,
            },
            Chunk::TrailerLf => match b {
                b'\n' => return Ok((i, None)),
                _ => return Err(Fault::ParseChunk),
            },
            Chunk::Data(_) => unreachable!("handled above"),
        };
    }
    Ok((i, Some(c)))
}

fn end_of_size_line(size: u64) -> Chunk {
    if size == 0 {
        Chunk::TrailerStart
    } else {
        Chunk::Data(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `input` in pieces of `step` bytes the way a connection does:
    /// unconsumed bytes stay in front of the next read.
    fn parse_in_steps(p: &mut ResponseParser, input: &[u8], step: usize) -> Result<usize, Fault> {
        let mut pending: Vec<u8> = Vec::new();
        let mut fed = 0;
        while fed < input.len() {
            let end = (fed + step).min(input.len());
            pending.extend_from_slice(&input[fed..end]);
            fed = end;
            let pr = p.feed(&pending)?;
            pending.drain(..pr.consumed);
            if pr.done {
                return Ok(input.len() - pending.len());
            }
        }
        Err(Fault::ReadEofMidBody)
    }

    fn all_steps(input: &[u8], head: bool) -> Vec<Result<(usize, u16, bool), Fault>> {
        [1, 2, 3, 7, 64, input.len().max(1)]
            .iter()
            .map(|&s| {
                let mut p = ResponseParser::new(head);
                parse_in_steps(&mut p, input, s).map(|n| (n, p.status(), p.keep_alive()))
            })
            .collect()
    }

    #[test]
    fn content_length() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        for got in all_steps(r, false) {
            assert_eq!(got, Ok((r.len(), 200, true)));
        }
    }

    #[test]
    fn zero_length_and_no_body_statuses() {
        for r in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"[..],
            b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
        ] {
            let mut p = ResponseParser::new(false);
            assert_eq!(
                p.feed(r),
                Ok(Progress {
                    consumed: r.len(),
                    done: true
                })
            );
        }
    }

    #[test]
    fn head_request_ignores_content_length() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
        let mut p = ResponseParser::new(true);
        assert_eq!(
            p.feed(r),
            Ok(Progress {
                consumed: r.len(),
                done: true
            })
        );
    }

    #[test]
    fn interim_1xx_then_final() {
        let r = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
        for got in all_steps(r, false) {
            assert_eq!(got, Ok((r.len(), 201, true)));
        }
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
                  5;name=val\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-T: 1\r\n\r\n";
        for got in all_steps(r, false) {
            assert_eq!(got, Ok((r.len(), 200, true)));
        }
    }

    #[test]
    fn chunked_leaves_next_response_alone() {
        let r =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1";
        let mut p = ResponseParser::new(false);
        let pr = p.feed(r).unwrap();
        assert!(pr.done);
        assert_eq!(&r[pr.consumed..], b"HTTP/1.1");
    }

    #[test]
    fn bad_chunk_size_is_a_fault() {
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert_eq!(ResponseParser::new(false).feed(r), Err(Fault::ParseChunk));
    }

    #[test]
    fn close_delimited_ends_at_eof() {
        let mut p = ResponseParser::new(false);
        let r = b"HTTP/1.1 200 OK\r\n\r\nsome body bytes";
        let pr = p.feed(r).unwrap();
        assert_eq!(
            pr,
            Progress {
                consumed: r.len(),
                done: false
            }
        );
        assert!(!p.keep_alive());
        assert_eq!(p.eof(), Ok(()));
    }

    #[test]
    fn eof_mid_body_and_mid_head() {
        let mut p = ResponseParser::new(false);
        p.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
            .unwrap();
        assert_eq!(p.eof(), Err(Fault::ReadEofMidBody));
        let mut p = ResponseParser::new(false);
        assert_eq!(p.feed(b"HTTP/1.1 200 O").unwrap().consumed, 0);
        assert_eq!(p.eof(), Err(Fault::ReadEofMidHead));
    }

    #[test]
    fn garbage_is_not_http() {
        assert_eq!(
            ResponseParser::new(false).feed(b"SSH-2.0-OpenSSH\r\n"),
            Err(Fault::ParseVersion)
        );
        assert_eq!(
            ResponseParser::new(false).feed(b"hello"),
            Err(Fault::ParseVersion)
        );
        assert_eq!(
            ResponseParser::new(false).feed(b"HTTP/2 200\r\n\r\n"),
            Err(Fault::ParseVersion)
        );
    }

    #[test]
    fn conflicting_lengths_are_a_fault() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd";
        assert_eq!(ResponseParser::new(false).feed(r), Err(Fault::ParseFraming));
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n";
        assert_eq!(ResponseParser::new(false).feed(r), Err(Fault::ParseFraming));
    }

    #[test]
    fn connection_close_and_http10() {
        let r = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        let mut p = ResponseParser::new(false);
        assert!(p.feed(r).unwrap().done);
        assert!(!p.keep_alive());
        let r = b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
        let mut p = ResponseParser::new(false);
        assert!(p.feed(r).unwrap().done);
        assert!(!p.keep_alive());
        let r = b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n";
        let mut p = ResponseParser::new(false);
        assert!(p.feed(r).unwrap().done);
        assert!(p.keep_alive());
    }

    #[test]
    fn large_body_is_skipped_without_buffering() {
        let mut p = ResponseParser::new(false);
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\n";
        assert_eq!(p.feed(head).unwrap().consumed, head.len());
        let block = [b'x'; 65536];
        let mut left = 50_000_000usize;
        while left > block.len() {
            let pr = p.feed(&block).unwrap();
            assert_eq!(
                pr,
                Progress {
                    consumed: block.len(),
                    done: false
                }
            );
            left -= block.len();
        }
        assert_eq!(
            p.feed(&block[..left]).unwrap(),
            Progress {
                consumed: left,
                done: true
            }
        );
    }

    #[test]
    fn reset_reuses_parser() {
        let r = b"HTTP/1.1 503 Busy\r\nContent-Length: 1\r\n\r\nx";
        let mut p = ResponseParser::new(false);
        for _ in 0..3 {
            assert!(p.feed(r).unwrap().done);
            assert_eq!(p.status(), 503);
            p.reset();
        }
    }
}
