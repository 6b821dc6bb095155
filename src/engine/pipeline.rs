//! One pipelined HTTP/1.1 connection (`--pipeline N`, closed loop): write N
//! requests back to back in one write, then read their N responses in
//! order, as TechEmpower's `wrk -s pipeline.lua -- 16` and `h2load --h1 -m
//! 16` do. Each request's latency counts from its batch's write to the end
//! of its own response.
//!
//! The batch's bytes live in a buffer the connection owns, filled when the
//! batch's requests change (a single request: once; a mix: per batch, a copy
//! of pre-encoded variants) and moved to the write and back, so a batch
//! allocates nothing. `-n` stays exact: a batch claims at most what is left
//! of the budget, so the last one is short.
//!
//! A connection that ends before all N answers came (RFC 9112 §9.3.2):
//! - the last complete response said `Connection: close` (nginx does at
//!   its `keepalive_requests`): the unanswered rest were never read by the
//!   server and are sent again on a new connection, as the RFC asks; they
//!   are not errors, and `-n` is what the server answered (wrk drops them
//!   uncounted; h2load counts them failed: against nginx closing every 100,
//!   `h2load --h1 -n 5000 -c 8 -m 16` had 600 failed, nginx answered 4,400);
//! - a reused connection that ends before a byte of the batch's first
//!   response is stale (an idle close): the whole batch is sent again;
//! - otherwise the response being read is one error (`read: EOF mid-body`,
//!   a reset, a parse error, a timeout) and each unanswered request after it
//!   is counted as a `read` error too (`read: EOF before response`, or the
//!   same reset or timeout), then the connection is replaced.
//!
//! `--timeout` counts from the batch's write, swept by the worker as for
//! one request: the connection's first slot holds the socket and the clock;
//! its other slots only count the batch's unanswered requests as in flight.

use super::collect::Collected;
use super::conn::{self, Ended, BODY_BUF, MAX_HEAD, RECV_BUF};
use super::io::{RecvBuf, Transport};
use super::lifecycle::next_backoff;
use super::link::Link;
use super::mix::Pick;
use super::shared::{Held, PipedRun, Shared, Slot};
use super::tokens::TokenClock;
use crate::proto::h1::response::ResponseParser;
use crate::proto::tls;
use crate::stats::fault::is_reset;
use crate::stats::{ErrorClass, Fault};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Receive buffer of a pipelined connection: room for N typical responses
/// (nginx's 13-byte answer is 160 bytes, `blast target`'s 110), so one read
/// takes a whole batch; it grows as `conn`'s does for larger ones.
fn recv_buf(depth: usize) -> usize {
    (depth * 256).clamp(RECV_BUF, BODY_BUF)
}

/// What a connection keeps across its batches.
struct Pipe {
    /// The batch's requests in write order, `picks[head..]` not yet
    /// answered; kept across a reconnect.
    picks: Vec<Pick>,
    head: usize,
    /// A mix's batch, as written (a single request's is `Shared::batch`).
    bytes: Vec<u8>,
    buf: RecvBuf,
    parser: ResponseParser,
    cursor: usize,
    /// When the last read returned: every response it completed ends then.
    read_at: Instant,
    tokens: Option<Box<TokenClock>>,
    collected: Collected,
    run: PipedRun,
}

/// How a batch ended.
enum Batch {
    /// Every response came; may the connection be reused?
    Done {
        keep_alive: bool,
    },
    /// `Connection: close` (or a close-delimited body) before the last
    /// response: the rest go again on a new connection.
    Closed,
    /// A reused connection closed before the first response began.
    Stale,
    /// Response `picks[head]` failed; the rest were not answered.
    Failed(Fault),
    Stopped,
}

pub async fn run<T: Transport>(w: Rc<Shared>, idx: usize) {
    let depth = w.conn.per_conn() as usize;
    let now = Instant::now();
    let slots = &w.slots[idx * depth..(idx + 1) * depth];
    let mut p = Pipe {
        picks: Vec::with_capacity(depth),
        head: 0,
        bytes: Vec::new(),
        buf: RecvBuf::with_capacity(recv_buf(depth)),
        parser: ResponseParser::for_connection(w.conn.force_stream),
        cursor: 0,
        read_at: Instant::now(),
        tokens: None,
        collected: Collected::default(),
        run: PipedRun {
            name: 0,
            status: 0,
            n: 0,
            ttfb: 0,
            written: now,
            read_at: now,
        },
    };
    let mut held = Held::default();
    let mut backoff = Duration::ZERO;
    let mut first = true;
    let source = w.source_of(idx);
    let open_at = w.conn_start(idx);
    if open_at > now && !w.life.sleep_unless_stopped(open_at - now).await {
        w.life.conn_exited();
        return;
    }
    'connection: while !w.life.stopped() {
        if w.pacer.users_staged() && !w.user_turn(idx).await {
            break;
        }
        // Claim before connecting, so -n opens no connection it will not use.
        if !fill(&w, &mut held, &mut p, depth).await {
            break;
        }
        let started = Instant::now();
        let attempt = conn::connect::<T>(&w, source, started).await;
        if first {
            let defer = w.conn.tls.is_some() && matches!(attempt, Some(Ok(_)));
            if let (Some(r), false) = (&attempt, defer) {
                first = false;
                w.life
                    .startup
                    .first_attempt(r.as_ref().map(drop).map_err(|f| *f));
            }
        }
        let mut link = match attempt {
            Some(Ok(c)) => c,
            Some(Err(fault)) => {
                // As for one request: the claims carry over to the next try.
                let name = p.picks[0].name;
                w.stats.borrow_mut().record_request_fault(name, fault);
                backoff = next_backoff(backoff);
                if !w.life.sleep_unless_stopped(backoff).await {
                    break;
                }
                continue;
            }
            None => break,
        };
        slots[0].fd.set(link.fd());
        p.parser.reset();
        p.buf.clear();
        p.cursor = 0;
        let mut reused = false;
        let mut turned_away = false;
        loop {
            if !fill(&w, &mut held, &mut p, depth).await {
                break 'connection;
            }
            let outcome = batch(&w, slots, &mut link, &mut p, reused).await;
            for s in slots {
                s.since.set(None);
            }
            // What was answered leaves the batch; what was not stays for
            // the next one (a failure counts it below).
            if !matches!(outcome, Batch::Failed(_)) {
                p.picks.drain(..p.head);
                p.head = 0;
            }
            if first && !matches!(outcome, Batch::Stale | Batch::Stopped) {
                first = false;
                w.life.startup.first_attempt(match outcome {
                    Batch::Failed(f) if f.class() == ErrorClass::Tls => Err(f),
                    _ => Ok(()),
                });
            }
            match outcome {
                Batch::Done { keep_alive } => {
                    backoff = Duration::ZERO;
                    if !keep_alive || (w.pacer.users_staged() && !w.user_on(idx)) {
                        break;
                    }
                    reused = true;
                }
                Batch::Closed | Batch::Stale => break,
                Batch::Failed(fault) => {
                    // The unanswered rest: timed out, reset or not written
                    // as the failed one was, else ended before a response.
                    let rest = match fault.class() {
                        ErrorClass::Timeout | ErrorClass::Write => fault,
                        _ if fault == Fault::ReadReset => fault,
                        _ => Fault::ReadEofBeforeResponse,
                    };
                    let answered = std::mem::take(&mut p.head);
                    let mut stats = w.stats.borrow_mut();
                    for (i, pick) in p.picks.drain(..).enumerate().skip(answered) {
                        let f = if i == answered { fault } else { rest };
                        stats.record_request_fault(pick.name, f);
                    }
                    drop(stats);
                    turned_away = !reused
                        && answered == 0
                        && matches!(
                            fault,
                            Fault::ReadEofBeforeResponse | Fault::ReadReset | Fault::WriteReset
                        );
                    break;
                }
                Batch::Stopped => break 'connection,
            }
        }
        for s in slots {
            s.fd.set(-1);
            s.timed_out.set(false);
        }
        drop(link);
        if turned_away {
            backoff = next_backoff(backoff);
            if !w.life.sleep_unless_stopped(backoff).await {
                break;
            }
        }
    }
    for s in slots {
        s.fd.set(-1);
    }
    w.life.conn_exited();
}

/// Top the batch up to `depth` requests: the first through `ready` (which
/// waits out a pause between phases), the rest claimed while `-n` lasts.
/// False: nothing to send (the budget is spent, or the worker stopped).
async fn fill(w: &Shared, held: &mut Held, p: &mut Pipe, depth: usize) -> bool {
    while p.picks.len() < depth {
        let claimed = if p.picks.is_empty() {
            w.ready(held).await
        } else {
            w.claim(held)
        };
        if !claimed {
            break;
        }
        p.picks.push(held.pick);
        held.done();
    }
    !p.picks.is_empty() && !w.life.stopped()
}

/// A mix's batch: its variants copied into the connection's buffer, which
/// moves to the write and back. A single request's needs none: its copies
/// are built once for the worker (`Shared::batch`).
fn encode(w: &Shared, p: &mut Pipe) {
    if w.mix.single {
        return;
    }
    p.bytes.clear();
    for pick in &p.picks {
        p.bytes.extend_from_slice(&w.variant(*pick).bytes);
    }
}

/// Write the batch: a single request's copies in place (on the ring, a
/// send that posts no completion, as one request's is; a failed one is
/// seen by the read), a mix's from the connection's buffer.
async fn write<T: Transport>(w: &Shared, link: &mut Link<T>, p: &mut Pipe) -> std::io::Result<()> {
    if w.mix.single {
        return link.write_all(w.batch_bytes(p.picks.len())).await;
    }
    let (wrote, bytes) = link.write_buf(std::mem::take(&mut p.bytes)).await;
    p.bytes = bytes;
    wrote
}

/// Write the batch in one write, then read its responses in order,
/// moving `head` past each as it is recorded.
async fn batch<T: Transport>(
    w: &Shared,
    slots: &[Slot],
    link: &mut Link<T>,
    p: &mut Pipe,
    reused: bool,
) -> Batch {
    let b = write_and_read(w, slots, link, p, reused).await;
    p.run.flush(w);
    b
}

async fn write_and_read<T: Transport>(
    w: &Shared,
    slots: &[Slot],
    link: &mut Link<T>,
    p: &mut Pipe,
    reused: bool,
) -> Batch {
    encode(w, p);
    // The ring's last reap, as for one request (`conn::exchange`).
    let t0 = T::now();
    for s in &slots[..p.picks.len()] {
        s.since.set(Some(t0));
    }
    if let Err(e) = write(w, link, p).await {
        return if slots[0].timed_out.get() {
            Batch::Failed(Fault::Timeout)
        } else if w.life.stopped() {
            Batch::Stopped
        } else if reused {
            Batch::Stale
        } else {
            Batch::Failed(Fault::from_write_error(&e))
        };
    }
    while p.head < p.picks.len() {
        let stale_if_empty = reused && p.head == 0;
        let keep_alive = match response(w, &slots[0], link, p, t0, stale_if_empty).await {
            Ok(k) => k,
            Err(b) => return b,
        };
        p.head += 1;
        // The first slot keeps the batch's clock until its last answer;
        // the others count what is still in flight.
        let left = p.picks.len() - p.head;
        if left > 0 {
            slots[left].since.set(None);
        }
        if !keep_alive {
            return if left == 0 {
                Batch::Done { keep_alive }
            } else {
                Batch::Closed
            };
        }
    }
    Batch::Done { keep_alive: true }
}

/// Read and record the response of `picks[head]`, written at `t0`. Ok: it is
/// complete; may the connection carry on? `stale_if_empty`: an end before
/// its first byte is an idle close.
async fn response<T: Transport>(
    w: &Shared,
    slot: &Slot,
    link: &mut Link<T>,
    p: &mut Pipe,
    t0: Instant,
    stale_if_empty: bool,
) -> Result<bool, Batch> {
    let pick = p.picks[p.head];
    let Pipe {
        buf,
        parser,
        cursor,
        read_at,
        tokens,
        collected,
        run,
        ..
    } = p;
    if let Some(t) = tokens {
        t.reset();
    }
    let request = w.variant(pick);
    parser.set_head_request(request.head);
    let set = w.mix.checks_of(request);
    parser.set_collect(set.is_some());
    let keep = match set {
        Some(set) => {
            collected.begin(set, w.conn.max_body);
            set.body.then_some(w.conn.max_body)
        }
        None => None,
    };
    let mut began = false;
    let mut ttfb_taken = false;
    loop {
        if *cursor < buf.len() {
            began = true;
            let fed = parser.feed_body(&buf.data()[*cursor..], &mut |b, events| {
                if events {
                    let at = *read_at;
                    let clock = tokens.get_or_insert_with(Default::default);
                    clock.keep = keep;
                    clock.feed(b, at);
                    collected.body_len += b.len() as u64;
                } else {
                    collected.take_body(b);
                }
            });
            let pr = fed.map_err(Batch::Failed)?;
            if let Some((a, b)) = parser.head_span() {
                collected.take_head(&buf.data()[*cursor + a..*cursor + b]);
            }
            *cursor += pr.consumed;
            if !pr.done && !ttfb_taken && parser.body_started() {
                ttfb_taken = true;
                w.record_ttfb(t0, *read_at);
            }
            if pr.done {
                if set.is_none() && tokens.is_none() {
                    run.push(w, pick.name, parser.status(), !ttfb_taken, t0, *read_at);
                } else {
                    let ended = Ended {
                        from: t0,
                        t0,
                        at: T::now(),
                        ttfb: !ttfb_taken,
                        lane: None,
                    };
                    conn::finish(w, pick.name, parser.status(), set, collected, tokens, ended);
                }
                let keep_alive = parser.keep_alive();
                parser.reset();
                if *cursor == buf.len() {
                    buf.clear();
                    *cursor = 0;
                }
                return Ok(keep_alive);
            }
            if *cursor == buf.len() {
                buf.clear();
            } else {
                buf.discard_front(*cursor);
            }
            *cursor = 0;
        }
        if buf.is_full() && !buf.grow(MAX_HEAD) {
            return Err(Batch::Failed(Fault::ParseHeadTooLarge));
        }
        run.flush(w);
        let r = link.read(buf).await;
        *read_at = T::now();
        if slot.timed_out.get() {
            return Err(Batch::Failed(Fault::Timeout));
        }
        if w.life.stopped() {
            return Err(Batch::Stopped);
        }
        match r {
            Ok(0) => {
                return match parser.eof() {
                    Ok(()) => {
                        let ended = Ended {
                            from: t0,
                            t0,
                            at: T::now(),
                            ttfb: !ttfb_taken,
                            lane: None,
                        };
                        conn::finish(w, pick.name, parser.status(), set, collected, tokens, ended);
                        parser.reset();
                        Ok(false)
                    }
                    Err(_) if !began && stale_if_empty => Err(Batch::Stale),
                    Err(_) if !began => Err(Batch::Failed(Fault::ReadEofBeforeResponse)),
                    Err(f) => Err(Batch::Failed(f)),
                };
            }
            Ok(n) => {
                w.stats.borrow_mut().record_request_bytes(pick.name, n);
                if buf.is_full() {
                    buf.grow(BODY_BUF);
                }
            }
            Err(e) if !began && stale_if_empty && is_reset(&e) => return Err(Batch::Stale),
            Err(e) => {
                let f = tls::fault_in(&e).unwrap_or_else(|| Fault::from_read_error(&e));
                return Err(Batch::Failed(f));
            }
        }
    }
}
