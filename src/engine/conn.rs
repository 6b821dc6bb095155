//! One connection: connect, write the shared request, read until the response
//! is complete, record, repeat on the same socket (keep-alive) or reconnect.
//!
//! Failures are counted (`Fault`) and the connection replaced; none of them
//! stops the run. The loop never waits on a timer per request: the worker's
//! tick sweeps the slots and `shutdown`s a socket whose request is older than
//! `--timeout` (or all of them at the end), which completes the pending read;
//! the loop then reads the reason from its slot. That works the same for
//! io_uring, where dropping a read future would not cancel the kernel
//! operation, and for epoll.

use super::collect::{self, CheckSet, Collected, Judge};
use super::io::{RecvBuf, Transport};
use super::lane::Lane;
use super::lifecycle::next_backoff;
use super::link::{self, Link};
use super::shared::{Held, Shared, Slot};
use super::tokens::TokenClock;
use crate::proto::h1::response::ResponseParser;
use crate::proto::tls;
use crate::stats::fault::is_reset;
use crate::stats::{ErrorClass, Fault, Judged};
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Receive buffer a connection starts with: enough for a typical response
/// head and small body (nginx's 13-byte answer is 160 bytes in all), so a
/// connection whose responses fit costs an eighth of a page for it (wrk
/// touches one page of its 8 KB buffer per connection).
pub const RECV_BUF: usize = 512;
/// A read that fills the buffer doubles it (a few times per connection at
/// most, never per request) up to this size, so large bodies stream in
/// fewer reads.
pub const BODY_BUF: usize = 64 * 1024;
/// A response head may grow the buffer up to this size.
pub const MAX_HEAD: usize = 256 * 1024;

/// The receiving side of a connection: its buffer (allocated once), the
/// parser, and how far into the buffer the parser has consumed.
struct Inbox {
    buf: RecvBuf,
    parser: ResponseParser,
    cursor: usize,
    /// Made the first time a response is an event stream (LLM tokens).
    tokens: Option<Box<TokenClock>>,
    /// What the checks of a request read (empty, unallocated, without).
    collected: Collected,
}

/// How one request/response exchange ended.
enum Exchange {
    /// Complete response; may the connection be reused? `skip`: a capture
    /// found nothing, so the rest of the sequence run is not sent.
    Done {
        keep_alive: bool,
        skip: bool,
    },
    /// A reused connection was closed by the server before any byte of the
    /// response: an idle close, not a failure. Reconnect and send again.
    Stale,
    Failed(Fault),
    /// The worker is stopping; the request is counted as in flight.
    Stopped,
}

pub async fn run<T: Transport>(w: Rc<Shared>, idx: usize) {
    let slot = &w.slots[idx];
    let mut inbox = Inbox {
        buf: RecvBuf::with_capacity(RECV_BUF),
        parser: ResponseParser::for_connection(w.conn.force_stream),
        cursor: 0,
        tokens: None,
        collected: Collected::default(),
    };
    let mut backoff = Duration::ZERO;
    // The request claimed from the -n budget but not yet sent to
    // completion, and its due time: both carry over when a stale
    // connection is replaced.
    let mut held = Held::default();
    let mut first = true;
    let source = w.source_of(idx);
    // Read once: the settings sit behind the run's `Arc`, the loop below
    // runs per request.
    let keepalive = w.conn.keepalive;
    // Captured values and cookies, only for a mix that has them: every
    // other run writes its pre-encoded requests as before.
    let mut lane = w.mix.lanes().then(|| Box::new(Lane::new(&w.mix)));

    // Closed loop with --ramp-up: connections open one after another.
    let open_at = w.conn_start(idx);
    let now = Instant::now();
    if open_at > now && !w.life.sleep_unless_stopped(open_at - now).await {
        w.life.conn_exited();
        return;
    }

    'connection: while !w.life.stopped() {
        // Over stages without -R, this connection is a user: it opens only
        // while the stage's users count it in.
        if w.pacer.users_staged() && !w.user_turn(idx).await {
            break;
        }
        // Claim before connecting, so -n opens no connection it will not use.
        if !w.claim(&mut held) {
            break;
        }
        let started = Instant::now();
        let attempt = connect::<T>(&w, source, started).await;
        if first {
            // Over TLS a missing client certificate shows only on the first
            // read (TLS 1.3 ends the handshake first): a connection counts as
            // through once its first exchange did not fail in TLS.
            let defer = w.conn.tls.is_some() && matches!(attempt, Some(Ok(_)));
            if let (Some(r), false) = (&attempt, defer) {
                first = false;
                w.life
                    .startup
                    .first_attempt(r.as_ref().map(drop).map_err(|f| *f));
            }
        }
        let mut conn = match attempt {
            Some(Ok(c)) => c,
            Some(Err(fault)) => {
                w.stats
                    .borrow_mut()
                    .record_request_fault(held.pick.name, fault);
                backoff = next_backoff(backoff);
                if !w.life.sleep_unless_stopped(backoff).await {
                    break;
                }
                continue;
            }
            None => break,
        };
        slot.fd.set(conn.fd());
        inbox.parser.reset();
        inbox.buf.clear();
        inbox.cursor = 0;
        let mut reused = false;
        // The server accepted, then closed or reset before answering anything.
        let mut turned_away = false;

        loop {
            if !w.ready(&mut held).await {
                break 'connection;
            }
            let outcome = exchange(
                &w,
                slot,
                &mut conn,
                &mut inbox,
                lane.as_deref_mut(),
                &held,
                reused,
            )
            .await;
            slot.since.set(None);
            if first && !matches!(outcome, Exchange::Stale | Exchange::Stopped) {
                first = false;
                w.life.startup.first_attempt(match outcome {
                    Exchange::Failed(f) if f.class() == ErrorClass::Tls => Err(f),
                    _ => Ok(()),
                });
            }
            match outcome {
                Exchange::Done { keep_alive, skip } => {
                    held.done();
                    if skip {
                        w.skip_rest(&mut held);
                    }
                    backoff = Duration::ZERO;
                    if w.thinks() && !w.think().await {
                        break 'connection;
                    }
                    if !keep_alive || !keepalive {
                        break;
                    }
                    // The stage's users dropped below this one: close.
                    if w.pacer.users_staged() && !w.user_on(idx) {
                        break;
                    }
                    reused = true;
                }
                // The claim carries over to the new connection.
                Exchange::Stale => break,
                Exchange::Failed(fault) => {
                    held.done();
                    // A step that should have captured did not: its values
                    // are missing, so the rest of the run is not sent.
                    if lane.is_some() && captures(&w, &held) {
                        w.skip_rest(&mut held);
                    }
                    w.stats
                        .borrow_mut()
                        .record_request_fault(held.pick.name, fault);
                    turned_away = !reused
                        && matches!(
                            fault,
                            Fault::ReadEofBeforeResponse | Fault::ReadReset | Fault::WriteReset
                        );
                    break;
                }
                Exchange::Stopped => break 'connection,
            }
        }
        slot.fd.set(-1);
        slot.timed_out.set(false);
        drop(conn);
        // A server that accepts and closes at once is treated like one that
        // refuses: back off rather than reconnect as fast as the kernel allows.
        if turned_away {
            backoff = next_backoff(backoff);
            if !w.life.sleep_unless_stopped(backoff).await {
                break;
            }
        }
    }
    slot.fd.set(-1);
    w.life.conn_exited();
}

/// Connect within `--connect-timeout`, then (over https) shake hands
/// within it again; None if the worker stops first. Records both times.
pub(super) async fn connect<T: Transport>(
    w: &Shared,
    source: Option<IpAddr>,
    started: Instant,
) -> Option<Result<Link<T>, Fault>> {
    let attempt = super::rt::timeout(w.conn.connect_timeout, T::connect(w.conn.addr, source));
    let sock = match w.life.unless_stopped(attempt).await? {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Some(Err(Fault::from_connect_error(&e))),
        Err(_) => return Some(Err(Fault::ConnectTimeout)),
    };
    let connected = Instant::now();
    w.stats
        .borrow_mut()
        .record_connect(connected.saturating_duration_since(started).as_micros() as u64);
    let Some(client) = &w.conn.tls else {
        return Some(Ok(Link::Plain(sock)));
    };
    w.life.startup.handshaking();
    // Boxed: the handshake's state (a TLS session, about 2.5 KB) would
    // otherwise sit in every connection's future, plain ones included.
    let shake = super::rt::timeout(
        w.conn.connect_timeout,
        Box::pin(link::handshake(sock, client)),
    );
    Some(match w.life.unless_stopped(shake).await? {
        Ok(Ok(h)) => {
            let us = connected.elapsed().as_micros() as u64;
            w.stats.borrow_mut().record_tls(us, h.resumed);
            w.life.startup.tls_negotiated(h.info);
            Ok(h.link)
        }
        Ok(Err(f)) => Err(f),
        Err(_) => Err(Fault::TlsHandshakeTimeout),
    })
}

/// The held request is a sequence step that captures values.
fn captures(w: &Shared, held: &Held) -> bool {
    let v = w.variant(held.pick);
    v.flow.as_ref().is_some_and(|f| !f.captures.is_empty())
}

/// Write the request and read one complete response.
async fn exchange<T: Transport>(
    w: &Shared,
    slot: &Slot,
    conn: &mut Link<T>,
    inbox: &mut Inbox,
    mut lane: Option<&mut Lane>,
    held: &Held,
    reused: bool,
) -> Exchange {
    let pick = held.pick;
    let Inbox {
        buf,
        parser,
        cursor,
        tokens,
        collected,
    } = inbox;
    if let Some(t) = tokens {
        t.reset();
    }
    let request = w.variant(pick);
    parser.set_head_request(request.head);
    // One test per request: a request without checks collects nothing.
    let set = w.mix.checks_of(request);
    // With a lane: render a spliced step or add cookies, and keep the
    // response when a capture or the cookie jar reads it.
    let (render, lane_reads) = match lane.as_deref_mut() {
        Some(l) => (l.prepare(request, Instant::now()), l.collects(request)),
        None => (false, false),
    };
    parser.set_collect(set.is_some() || lane_reads);
    let keep = match set {
        Some(set) => {
            collected.begin(set, w.conn.max_body);
            set.body.then_some(w.conn.max_body)
        }
        None => None,
    };
    if lane_reads {
        let body = lane.as_deref().is_some_and(|l| l.reads_body(request));
        collected.keep_for_lane(set.is_some(), body, w.conn.max_body);
    }
    // Latency counts from when the request was due (if it waited for a
    // connection, the wait counts); a request sent a little early counts
    // from its write. On the ring `t0` is the reap this task runs after:
    // the write is submitted later, so no latency is shortened.
    let t0 = T::now();
    let from = held.from(t0);
    slot.since.set(Some(t0));
    let wrote = match lane.as_deref_mut() {
        Some(l) if render => {
            let (r, out) = conn.write_buf(std::mem::take(&mut l.out)).await;
            l.out = out;
            r
        }
        _ => conn.write_all(&request.bytes).await,
    };
    if let Err(e) = wrote {
        // Late first: the run's end also shuts every socket, and a request
        // whose deadline had passed by then is a timeout, not a stop.
        return if slot.timed_out.get() {
            Exchange::Failed(Fault::Timeout)
        } else if w.life.stopped() {
            Exchange::Stopped
        } else if reused {
            Exchange::Stale
        } else {
            Exchange::Failed(Fault::from_write_error(&e))
        };
    }
    let mut got = 0usize;
    // Time to first byte of the body: taken when it arrives before the end
    // of the response, else off the same clock reading as the latency.
    let mut ttfb_taken = false;
    loop {
        if *cursor < buf.len() {
            // An event stream's content goes to the token clock, stamped
            // with one clock reading per read (none for other bodies).
            let mut read_at: Option<Instant> = None;
            let fed = parser.feed_body(&buf.data()[*cursor..], &mut |b, events| {
                if events {
                    let at = *read_at.get_or_insert_with(T::now);
                    let clock = tokens.get_or_insert_with(Default::default);
                    clock.keep = keep;
                    clock.feed(b, at);
                    collected.body_len += b.len() as u64;
                } else {
                    collected.take_body(b);
                }
            });
            match fed {
                Err(f) => return Exchange::Failed(f),
                Ok(pr) => {
                    if let Some((a, b)) = parser.head_span() {
                        collected.take_head(&buf.data()[*cursor + a..*cursor + b]);
                    }
                    *cursor += pr.consumed;
                    if !pr.done && !ttfb_taken && parser.body_started() {
                        ttfb_taken = true;
                        w.record_ttfb(from, T::now());
                    }
                    if pr.done {
                        let ended = Ended {
                            from,
                            t0,
                            at: T::now(),
                            ttfb: !ttfb_taken,
                            lane: lane.filter(|_| lane_reads).map(|l| (l, request)),
                        };
                        let skip =
                            finish(w, pick.name, parser.status(), set, collected, tokens, ended);
                        let keep_alive = parser.keep_alive();
                        parser.reset();
                        if *cursor == buf.len() {
                            buf.clear();
                            *cursor = 0;
                        }
                        return Exchange::Done { keep_alive, skip };
                    }
                }
            }
            if *cursor == buf.len() {
                buf.clear();
            } else {
                // An incomplete head: keep it at the front, read the rest behind it.
                buf.discard_front(*cursor);
            }
            *cursor = 0;
        }
        if buf.is_full() && !buf.grow(MAX_HEAD) {
            return Exchange::Failed(Fault::ParseHeadTooLarge);
        }
        let r = conn.read(buf).await;
        // Late first, as for the write.
        if slot.timed_out.get() {
            return Exchange::Failed(Fault::Timeout);
        }
        if w.life.stopped() {
            return Exchange::Stopped;
        }
        match r {
            Ok(0) => {
                return match parser.eof() {
                    Ok(()) => {
                        let ended = Ended {
                            from,
                            t0,
                            at: T::now(),
                            ttfb: !ttfb_taken,
                            lane: lane.filter(|_| lane_reads).map(|l| (l, request)),
                        };
                        let skip =
                            finish(w, pick.name, parser.status(), set, collected, tokens, ended);
                        Exchange::Done {
                            keep_alive: false,
                            skip,
                        }
                    }
                    Err(_) if got == 0 && reused => Exchange::Stale,
                    Err(_) if got == 0 => Exchange::Failed(Fault::ReadEofBeforeResponse),
                    Err(f) => Exchange::Failed(f),
                };
            }
            Ok(n) => {
                got += n;
                w.stats.borrow_mut().record_request_bytes(pick.name, n);
                if buf.is_full() {
                    buf.grow(BODY_BUF);
                }
            }
            Err(e) if got == 0 && reused && is_reset(&e) => return Exchange::Stale,
            Err(e) if tls::fault_in(&e).is_some() => {
                return Exchange::Failed(tls::fault_in(&e).unwrap_or(Fault::TlsOther))
            }
            Err(e) => return Exchange::Failed(Fault::from_read_error(&e)),
        }
    }
}

/// When a complete response's request was due and written and when it
/// completed, whether its time to first byte is still to be taken, and
/// the lane that reads it (captures, cookies) with the request.
pub(super) struct Ended<'a> {
    pub(super) from: Instant,
    pub(super) t0: Instant,
    pub(super) at: Instant,
    pub(super) ttfb: bool,
    pub(super) lane: Option<(&'a mut Lane, &'a super::mix::Variant)>,
}

/// A complete response: judge it (by its status alone unless it has
/// checks or was an event stream), let its lane take cookies and captures
/// (a capture that finds nothing fails a response the checks passed, as
/// `check`), then record it and its tokens. True: the rest of the
/// sequence run is skipped.
pub(super) fn finish(
    w: &Shared,
    name: u16,
    status: u16,
    set: Option<&CheckSet>,
    collected: &Collected,
    tokens: &mut Option<Box<TokenClock>>,
    e: Ended,
) -> bool {
    let mut judged = match (set, tokens.as_deref()) {
        (None, None) => Judged::of_status(status),
        (set, clock) => {
            let judge = Judge {
                stats: &w.stats,
                max_body_detail: &w.conn.max_body_detail,
            };
            collect::judge(&judge, name, status, set, collected, None, clock)
        }
    };
    let missing = e.lane.and_then(|(l, v)| {
        let (head, body) = (&collected.head, &collected.body);
        l.absorb(v, status, head, body, Instant::now()).err()
    });
    if let (Judged::Ok, Some(detail)) = (judged, missing) {
        w.stats.borrow_mut().record_check_detail(name, detail);
        judged = Judged::Check;
    }
    w.record_response(name, status, judged, e.from, e.t0, e.at);
    if e.ttfb {
        w.record_ttfb(e.from, e.at);
    }
    if let Some(t) = tokens {
        w.record_tokens(t, e.from, judged != Judged::Ok);
    }
    missing.is_some()
}
