//! One gRPC call on an HTTP/2 stream (`h2conn`'s lanes send it): the
//! prepared head and framed message go out as any request's do; the
//! answer is read for its status (`grpc-status` in the trailers, or in
//! the headers of a trailers-only response) and its messages, counted as
//! their frames complete. A server stream's messages are tokens: the first
//! one's time is TTFT, the gaps ITL, as an SSE stream's events are.
//!
//! The status goes into the report's status table (codes 0-16, apart from
//! HTTP's 100-599); one other than OK is a `grpc` error whose detail is
//! its code name and `grpc-message`. Checks read the response message as
//! JSON, decoded only for a request that has checks reading the body.

use super::collect::{self, CheckSet, Judge};
use super::h2io::SendRequest;
use super::h2stream::{failure, Conn, Outcome};
use super::lane::Kept;
use super::mix::Pick;
use super::shared::Shared;
use super::tokens::TokenClock;
use crate::proto::grpc::{code_name, parse_status, schema, Deframer, GrpcCall, INTERNAL};
use crate::proto::h2::H2Request;
use crate::stats::checks::GRPC_DETAIL;
use crate::stats::{Fault, Judged};
use std::io::Write;
use std::time::Instant;

/// Looked up on every answer: named once, not parsed from text per call.
const GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");
const GRPC_MESSAGE: http::HeaderName = http::HeaderName::from_static("grpc-message");

/// What the end of a call said.
struct Ended {
    http: u16,
    /// `grpc-status`, if the server sent one.
    code: Option<u16>,
    message: Option<http::HeaderValue>,
}

/// Send `req` (the call `call`) and read its answer to the end.
pub(super) async fn exchange(
    w: &Shared,
    conn: &Conn,
    send: &mut SendRequest,
    (tokens, kept): (&mut Option<Box<TokenClock>>, &mut Kept),
    pick: Pick,
    (req, call): (&H2Request, &GrpcCall),
    (from, t0): (Instant, Instant),
) -> Outcome {
    let set = w.mix.checks_of(w.variant(pick));
    if let Some(set) = set {
        kept.body.begin(set, w.conn.max_body);
    }
    kept.headers = None;
    // Captures and cookies are HTTP's: a call's lane reads nothing.
    kept.lane_reads = false;
    if let Some(t) = tokens.as_mut() {
        t.reset();
    }
    let (response, mut tx) = match send.send_request(req.head(), false) {
        Ok(pair) => pair,
        Err(_) if !conn.sent.get() => return Outcome::Failed(Fault::H2Protocol),
        Err(_) => return Outcome::NotSent,
    };
    conn.sent.set(true);
    let _ = tx.send_data(req.body.clone(), true);
    let mut answered = false;
    let mut ttfb_taken = false;
    let read = async {
        let resp = response.await?;
        answered = true;
        let http = resp.status().as_u16();
        let (parts, mut body) = resp.into_parts();
        // A trailers-only answer (an error, mostly) has its status here.
        let mut code = parts
            .headers
            .get(&GRPC_STATUS)
            .map(|v| parse_status(v.as_bytes()));
        let mut message = parts.headers.get(&GRPC_MESSAGE).cloned();
        if set.is_some_and(|s| s.headers) {
            kept.headers = Some(parts.headers);
        }
        let mut clock = match call.server_streaming {
            true => Some(tokens.get_or_insert_with(Default::default)),
            false => None,
        };
        let mut frames = Deframer::default();
        while let Some(chunk) = body.data().await {
            let chunk = chunk?;
            let n = chunk.len();
            if w.mix.named() {
                w.stats.borrow_mut().record_name_bytes(pick.name, n);
            }
            if let Some(c) = clock.as_deref_mut() {
                let now = Instant::now();
                frames.feed(&chunk, || c.message(now));
            }
            if set.is_some() {
                kept.body.take_body(&chunk);
            }
            if !ttfb_taken && n > 0 && !body.is_end_stream() {
                ttfb_taken = true;
                w.record_ttfb(from, Instant::now());
            }
            let _ = body.flow_control().release_capacity(n);
        }
        if code.is_none() {
            if let Some(t) = body.trailers().await? {
                code = t.get(&GRPC_STATUS).map(|v| parse_status(v.as_bytes()));
                message = t.get(&GRPC_MESSAGE).cloned();
            }
        }
        Ok::<_, ::h2::Error>(Ended {
            http,
            code,
            message,
        })
    };
    let result = super::rt::timeout_at(t0 + w.conn.timeout, read).await;
    drop(tx);
    match result {
        Err(_) => Outcome::Failed(Fault::Timeout),
        Ok(Err(e)) => failure(&e, conn, answered),
        Ok(Ok(end)) => {
            let (status, judged) = settle(w, pick.name, end, set, kept, call);
            Outcome::Done(status, ttfb_taken, Some(judged))
        }
    }
}

/// The status the report counts and the verdict on a finished call.
fn settle(
    w: &Shared,
    name: u16,
    end: Ended,
    set: Option<&CheckSet>,
    kept: &mut Kept,
    call: &GrpcCall,
) -> (u16, Judged) {
    let message = end.message.as_ref().map(|m| m.as_bytes());
    match end.code {
        // Not a gRPC answer (a proxy's 503, say): an HTTP status.
        None if end.http != 200 => (end.http, Judged::Status),
        None => {
            grpc_failure(w, name, INTERNAL, Some(b"no grpc-status in the answer"));
            (INTERNAL, Judged::Grpc)
        }
        Some(0) => (0, judge_message(w, name, set, kept, call)),
        Some(c) => {
            grpc_failure(w, name, c, message);
            (c, Judged::Grpc)
        }
    }
}

/// An OK call's checks, on its message as JSON.
fn judge_message(
    w: &Shared,
    name: u16,
    set: Option<&CheckSet>,
    kept: &mut Kept,
    call: &GrpcCall,
) -> Judged {
    let Some(set) = set else {
        return Judged::Ok;
    };
    if set.body && !kept.body.over {
        let mut json = Vec::new();
        let framed = &kept.body.body;
        if let Err(e) = schema::to_json(&call.output, framed, call.server_streaming, &mut json) {
            let detail = format!("the response is not a {}: {e}", call.output.full_name());
            w.stats.borrow_mut().record_check_detail(name, &detail);
            return Judged::Check;
        }
        kept.body.body_len = json.len() as u64;
        kept.body.body = json;
    }
    let judge = Judge {
        stats: &w.stats,
        max_body_detail: &w.conn.max_body_detail,
    };
    let hs = kept.headers.as_ref().map(|h| h as _);
    collect::judge(&judge, name, 200, Some(set), &kept.body, hs, None)
}

/// `grpc: CODE: message` as the error's detail, written in a stack
/// buffer (cut to fit) so that a run of errors allocates only for a new
/// detail.
fn grpc_failure(w: &Shared, name: u16, code: u16, message: Option<&[u8]>) {
    let mut buf = [0u8; 200];
    let mut out = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(out, "{GRPC_DETAIL}{}", code_name(code));
    if let Some(m) = message.filter(|m| !m.is_empty()) {
        // grpc-message is percent-encoded UTF-8.
        let text = percent_encoding::percent_decode(m).decode_utf8_lossy();
        let _ = write!(out, ": {text}");
    }
    let n = out.position() as usize;
    let text = match std::str::from_utf8(&buf[..n]) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&buf[..e.valid_up_to()]).unwrap_or(GRPC_DETAIL),
    };
    w.stats.borrow_mut().record_check_detail(name, text);
}
