//! Tests of the HTTP/1.1 response parser.

use super::*;

/// The response ended after `consumed` bytes.
fn done(consumed: usize) -> Progress {
    Progress {
        consumed,
        done: true,
    }
}

/// `consumed` bytes taken, and more to come.
fn more(consumed: usize) -> Progress {
    Progress {
        consumed,
        done: false,
    }
}

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
        assert_eq!(p.feed(r), Ok(done(r.len())));
    }
}

#[test]
fn head_request_ignores_content_length() {
    let r = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    let mut p = ResponseParser::new(true);
    assert_eq!(p.feed(r), Ok(done(r.len())));
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
    let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1";
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
    assert_eq!(pr, more(r.len()));
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
        assert_eq!(pr, more(block.len()));
        left -= block.len();
    }
    assert_eq!(p.feed(&block[..left]).unwrap(), done(left));
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

#[test]
fn body_started_marks_the_first_byte_after_the_head() {
    let mut p = ResponseParser::new(false);
    // The head alone: the body has not started.
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n";
    let pr = p.feed(head).unwrap();
    assert!(p.head_done() && !pr.done && !p.body_started());
    let pr = p.feed(b"a").unwrap();
    assert!(p.body_started() && !pr.done);
    p.reset();
    assert!(!p.body_started());
    // Chunked: the first chunk's size line is the first byte of the body.
    p.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    assert!(!p.body_started());
    p.feed(b"5").unwrap();
    assert!(p.body_started());
    p.reset();
    // No body at all: complete, so the moment is the end.
    let pr = p.feed(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
    assert!(pr.done && p.body_started());
}

#[test]
fn body_content_is_handed_out_de_chunked_at_any_split() {
    let chunked = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n\
Transfer-Encoding: chunked\r\n\r\n6\r\ndata: \r\n3\r\nabc\r\n0\r\nX: y\r\n\r\n";
    let length = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\ndata: abc";
    for (input, stream) in [(&chunked[..], true), (&length[..], false)] {
        for step in 1..input.len() {
            let mut p = ResponseParser::new(false);
            let (mut body, mut pending, mut fed) = (Vec::new(), Vec::new(), 0);
            loop {
                let end = (fed + step).min(input.len());
                pending.extend_from_slice(&input[fed..end]);
                fed = end;
                let pr = p
                    .feed_body(&pending, &mut |b, _| body.extend_from_slice(b))
                    .unwrap();
                pending.drain(..pr.consumed);
                if pr.done {
                    break;
                }
                assert!(fed < input.len(), "step {step}: not done");
            }
            // Only an event stream's body is handed out.
            let want: &[u8] = if stream { b"data: abc" } else { b"" };
            assert_eq!(body, want, "step {step}");
            assert_eq!(p.event_stream(), stream);
        }
    }
}

#[test]
fn collecting_hands_over_the_head_and_every_body_de_chunked() {
    let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    let mut p = ResponseParser::new(false);
    p.set_collect(true);
    let mut body = Vec::new();
    let pr = p
        .feed_body(resp, &mut |b, events| {
            assert!(!events);
            body.extend_from_slice(b);
        })
        .unwrap();
    assert!(pr.done);
    assert_eq!(body, b"hello world");
    let (a, b) = p.head_span().unwrap();
    assert!(resp[a..b].starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(resp[a..b].ends_with(b"X-A: 1\r\n\r\n"));
    // Without collecting, a plain body is skipped and no head is noted.
    p.reset();
    p.set_collect(false);
    let pr = p
        .feed_body(resp, &mut |_, _| panic!("not collecting"))
        .unwrap();
    assert!(pr.done);
    assert_eq!(p.head_span(), None);
}

/// RFC 9112 §6.3: a Transfer-Encoding whose final coding is not chunked
/// overrides Content-Length, and the body runs until the server closes.
#[test]
fn final_coding_other_than_chunked_reads_to_close() {
    for te in ["gzip", "chunked, gzip", "GZIP "] {
        let r = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: {te}\r\nContent-Length: 3\r\n\r\nabcdefgh"
        );
        let r = r.as_bytes();
        for step in [1, 2, 3, 7, 64, r.len()] {
            let mut p = ResponseParser::new(false);
            // Every byte is taken and none ends the response: the body
            // runs past Content-Length, to the close.
            assert_eq!(parse_in_steps(&mut p, r, step), Err(Fault::ReadEofMidBody));
            assert!(
                !p.keep_alive(),
                "{te}: a close-delimited body ends the connection"
            );
            assert_eq!(p.eof(), Ok(()), "{te}: the close completes the response");
        }
    }
}

/// `gzip, chunked`: chunked is the final coding, so the body is chunked.
#[test]
fn chunked_after_another_coding_is_still_chunked() {
    let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\
Content-Length: 99\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    for got in all_steps(r, false) {
        assert_eq!(got, Ok((r.len(), 200, true)));
    }
}

/// Found by the `h1_response` fuzz target: httparse skips empty lines
/// before a status line, so a stray CRLF ahead of a response passed when it
/// came in one read with the head, and was a version fault when it came
/// alone or with only part of the status line.
#[test]
fn empty_lines_before_the_status_line_in_any_pieces() {
    let r = b"\r\n\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    for got in all_steps(r, false) {
        assert_eq!(got, Ok((r.len(), 200, true)));
    }
    // Still refused early: what cannot become a status line after them.
    let mut p = ResponseParser::new(false);
    assert_eq!(p.feed(b"\r\nHTX"), Err(Fault::ParseVersion));
}

/// A remembered head gives what parsing it gives, for every response
/// that repeats it, and a different head (or a HEAD request) is parsed.
#[test]
fn remembered_heads_match_parsing() {
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    let sse = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata";
    let close = b"HTTP/1.1 503 No\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    // Over the 256 bytes a memo keeps: parsed every time, and the next
    // short head is remembered again.
    let mut long = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
    long.extend_from_slice(&[b'p'; 300]);
    long.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\nhi");
    let seq: [(&[u8], bool); 13] = [
        (ok, false),
        (ok, false),
        (ok, true),
        (sse, false),
        (sse, false),
        (close, false),
        (close, false),
        (chunked, false),
        (chunked, false),
        (&long, false),
        (&long, false),
        (ok, false),
        (ok, false),
    ];
    // What every HTTP/1.1 connection parses with.
    let mut memo = ResponseParser::for_connection(false);
    for (input, head) in seq {
        let mut plain = ResponseParser::new(head);
        memo.set_head_request(head);
        for step in [1, 7, input.len()] {
            let a = parse_in_steps(&mut plain, input, step);
            let b = parse_in_steps(&mut memo, input, step);
            let at = |p: &ResponseParser| (p.status(), p.keep_alive(), p.event_stream());
            assert_eq!(
                (a, at(&plain)),
                (b, at(&memo)),
                "{input:?} head {head} step {step}"
            );
            plain.reset();
            memo.reset();
        }
    }
    // The same head followed by the start of a different one: only the
    // remembered bytes are taken.
    let mut two = ok.to_vec();
    two.extend_from_slice(b"HTTP/1.1 204 No Content\r\n\r\n");
    assert_eq!(memo.feed(&two), Ok(done(ok.len())));
    memo.reset();
    assert_eq!(memo.feed(&two[ok.len()..]), Ok(done(two.len() - ok.len())));
    assert_eq!(memo.status(), 204);
}
