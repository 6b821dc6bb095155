//! One HTTP/2 connection slot (`--http2`): a task that keeps a connection
//! up and `-m` lanes that share it. A lane is the HTTP/1.1 loop of
//! `conn.rs` for one stream at a time: claim from `-n`, take its due time
//! from the schedule, send, read the response to its end, record, repeat.
//! So `-c 8 -m 100` keeps 800 requests in flight, each with its own slot
//! (in flight, due time) as an HTTP/1.1 connection has.
//!
//! Lanes outlive connections. When the connection takes no more streams
//! (GOAWAY, close, error) the first lane to see it retires it and waits;
//! the task connects again and every lane moves to the new connection at
//! its next request, while streams still running on the old one finish
//! there (a graceful GOAWAY lets them). No lane waits for another, so a
//! reconnect under `-R` delays no request beyond the connect itself.
//!
//! h2 reads and writes through tokio's AsyncRead/AsyncWrite (`h2io`): a
//! tokio socket on the epoll engine, a ring socket on the ring. Bodies are
//! counted and dropped as they come, and their window released at once, so
//! memory stays flat.
//!
//! A graceful GOAWAY (the server's limit of requests per connection) or a
//! REFUSED_STREAM is no error: the streams the server did not process are
//! sent again. Any other reset is an error naming its code. `--timeout` is
//! per stream: the worker's sweep marks a late stream's slot and wakes its
//! lane, which cancels the stream (RST_STREAM) and keeps the connection.

use super::collect::{self, Judge};
use super::grpccall;
use super::h2io::{connect, SendRequest};
use super::h2stream::{failure, Conn, FirstByte, Outcome, UnlessLate};
use super::lane::{Kept, Lane};
use super::lifecycle::next_backoff;
use super::mix::Pick;
use super::rt::TaskSet;
use super::shared::{Held, Shared, Slot, StatsHandle};
use super::tokens::TokenClock;
use crate::stats::{ErrorClass, Fault, Judged};
use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The connection a lane sends on: cloned from the task's current one.
#[derive(Clone)]
struct Current {
    generation: u64,
    send: SendRequest,
    conn: Rc<Conn>,
}

/// What a connection task and its lanes share.
struct Link {
    /// The connection lanes should send on; None while (re)connecting.
    current: RefCell<Option<Current>>,
    generation: Cell<u64>,
    /// Lanes waiting for a connection, each holding a claimed request.
    waiting: Cell<usize>,
    /// Lane -> task: a lane waits for a connection.
    wake_task: Notify,
    /// Task -> lanes: a new connection is up.
    wake_lanes: Notify,
    /// Over TLS the first exchange decides this slot's first attempt (a
    /// missing client certificate shows only then).
    first_pending: Cell<bool>,
}

impl Link {
    /// The connection of `generation` takes no more streams.
    fn retire(&self, generation: u64) {
        let mut cur = self.current.borrow_mut();
        if cur.as_ref().is_some_and(|c| c.generation == generation) {
            *cur = None;
        }
    }
}

pub async fn run(w: Rc<Shared>, idx: usize) {
    let lanes_per_conn = w.conn.per_conn() as usize;
    let open_at = w.conn_start(idx);
    let now = Instant::now();
    if open_at > now && !w.life.sleep_unless_stopped(open_at - now).await {
        w.life.conn_exited();
        return;
    }
    let link = Rc::new(Link {
        current: RefCell::new(None),
        generation: Cell::new(0),
        waiting: Cell::new(0),
        wake_task: Notify::new(),
        wake_lanes: Notify::new(),
        first_pending: Cell::new(false),
    });
    let mut lanes = TaskSet::new();
    for j in 0..lanes_per_conn {
        lanes.spawn_local(lane(w.clone(), link.clone(), idx * lanes_per_conn + j));
    }
    // Drivers of this slot's connections: an old one runs until its last
    // stream ends, beside the new one.
    let mut drivers = TaskSet::new();
    let mut backoff = Duration::ZERO;
    let mut first = true;
    // What the last connection answered, for the back-off.
    let mut last: Option<Rc<Conn>> = None;

    'slot: loop {
        // Wait until a lane needs a connection, or every lane has ended
        // (-n spent), or the worker stops.
        loop {
            if link.current.borrow().is_none() && link.waiting.get() > 0 {
                break;
            }
            let woke = w
                .life
                .unless_stopped(async {
                    tokio::select! {
                        _ = link.wake_task.notified() => true,
                        r = lanes.join_next() => r.is_some(),
                    }
                })
                .await;
            match woke {
                None | Some(false) => break 'slot,
                Some(true) => {}
            }
            while drivers.try_join_next().is_some() {}
        }
        // A server that ends connections before answering anything is
        // treated like one that refuses them: back off.
        if let Some(c) = last.take() {
            if c.answered.get() == 0 {
                backoff = next_backoff(backoff);
                if !w.life.sleep_unless_stopped(backoff).await {
                    break;
                }
            } else {
                backoff = Duration::ZERO;
            }
        }
        let attempt = connect(
            &w.conn,
            &w.life,
            StatsHandle::new(&w),
            w.source_of(idx),
            Instant::now(),
        )
        .await;
        if first {
            first = false;
            match (&attempt, w.conn.tls.is_some()) {
                (Some(Ok(_)), true) => link.first_pending.set(true),
                (Some(r), _) => w
                    .life
                    .startup
                    .first_attempt(r.as_ref().map(drop).map_err(|f| *f)),
                (None, _) => {}
            }
        }
        match attempt {
            None => break,
            Some(Err(fault)) => {
                w.stats.borrow_mut().record_fault(fault);
                backoff = next_backoff(backoff);
                if !w.life.sleep_unless_stopped(backoff).await {
                    break;
                }
            }
            Some(Ok(c)) => {
                let conn = Rc::new(Conn {
                    answered: Cell::new(0),
                    sent: Cell::new(false),
                });
                let generation = link.generation.get() + 1;
                link.generation.set(generation);
                *link.current.borrow_mut() = Some(Current {
                    generation,
                    send: c.send,
                    conn: conn.clone(),
                });
                last = Some(conn);
                drivers.spawn_local(c.driver);
                link.wake_lanes.notify_waiters();
            }
        }
    }
    // Stopped, or every lane is done: nothing more is sent on this slot.
    lanes.abort_all();
    drivers.abort_all();
    link.current.borrow_mut().take();
    w.life.conn_exited();
}

/// The connection to send on: the lane's own if still current, else the
/// task's current one, else wait for the task to connect. None if the
/// worker stops meanwhile.
async fn connection(w: &Shared, link: &Link, mine: &mut Option<Current>) -> Option<Current> {
    loop {
        if let Some(c) = mine.take() {
            if link.generation.get() == c.generation && link.current.borrow().is_some() {
                return Some(c);
            }
        }
        if let Some(c) = link.current.borrow().as_ref() {
            return Some(c.clone());
        }
        if w.life.stopped() {
            return None;
        }
        let up = link.wake_lanes.notified();
        tokio::pin!(up);
        up.as_mut().enable();
        if link.current.borrow().is_some() {
            continue;
        }
        link.waiting.set(link.waiting.get() + 1);
        link.wake_task.notify_one();
        let woke = w.life.unless_stopped(up).await;
        link.waiting.set(link.waiting.get() - 1);
        woke?;
    }
}

/// One stream at a time, on whichever connection is current; see the
/// module doc.
async fn lane(w: Rc<Shared>, link: Rc<Link>, slot: usize) {
    let slot = &w.slots[slot];
    let mut mine: Option<Current> = None;
    // A request claimed from -n and, once scheduled, its due time; both
    // carry over when it is sent again.
    let mut held = Held::default();
    // Streams refused in a row: the first is sent again at once (the server
    // told its stream limit late), later ones after a growing pause, so a
    // server refusing everything is not asked again as fast as it answers.
    let mut refused = 0u32;
    // Made the first time a response is an event stream (LLM tokens).
    let mut tokens: Option<Box<TokenClock>> = None;
    // What a request's checks read: its body and headers.
    let mut kept = Kept {
        lane: w.mix.lanes().then(|| Box::new(Lane::new(&w.mix))),
        ..Kept::default()
    };
    loop {
        if !w.ready(&mut held).await {
            return;
        }
        let Some(cur) = connection(&w, &link, &mut mine).await else {
            return;
        };
        // Wait for a stream the server's concurrency limit allows.
        let Current {
            generation,
            send,
            conn,
        } = cur;
        let mut send = match send.ready().await {
            Ok(s) => s,
            Err(_) => {
                link.retire(generation);
                continue;
            }
        };
        let t0 = Instant::now();
        // Latency counts from when the request was due; one sent a little
        // early counts from its write.
        let from = held.from(t0);
        slot.since.set(Some(t0));
        let outcome = exchange(
            &w,
            &conn,
            &mut send,
            (&mut tokens, &mut kept),
            held.pick,
            from,
            slot,
        )
        .await;
        slot.since.set(None);
        // The sweep marked it late, and the stream was cancelled.
        slot.timed_out.set(false);
        if link.first_pending.get() && !matches!(outcome, Outcome::NotSent | Outcome::Again) {
            link.first_pending.set(false);
            w.life.startup.first_attempt(match outcome {
                Outcome::Failed(f) if f.class() == ErrorClass::Tls => Err(f),
                _ => Ok(()),
            });
        }
        match outcome {
            Outcome::Done(status, ttfb_taken, verdict) => {
                let name = held.pick.name;
                let set = w.mix.checks_of(w.variant(held.pick));
                let judged = match (verdict, set, tokens.as_deref()) {
                    (Some(j), _, _) => j,
                    (None, None, None) => Judged::of_status(status),
                    (None, set, clock) => {
                        let judge = Judge {
                            stats: &w.stats,
                            max_body_detail: &w.conn.max_body_detail,
                        };
                        let hs = kept.headers.as_ref().map(|h| h as _);
                        collect::judge(&judge, name, status, set, &kept.body, hs, clock)
                    }
                };
                // The lane takes cookies and captures; one that finds
                // nothing fails the step and skips the rest of its run.
                let missing = kept.absorb(w.variant(held.pick), status, Instant::now);
                let judged = match (judged, missing) {
                    (Judged::Ok, Some(detail)) => {
                        w.stats.borrow_mut().record_check_detail(name, detail);
                        Judged::Check
                    }
                    (j, _) => j,
                };
                let end = Instant::now();
                w.record_response(name, status, judged, from, t0, end);
                if !ttfb_taken {
                    w.record_ttfb(from, end);
                }
                if let Some(t) = &mut tokens {
                    w.record_tokens(t, from, judged != Judged::Ok);
                }
                conn.answered.set(conn.answered.get() + 1);
                held.done();
                if missing.is_some() {
                    w.skip_rest(&mut held);
                }
                refused = 0;
                if w.thinks() && !w.think().await {
                    return;
                }
            }
            // The claim and due time carry over to the next attempt.
            Outcome::Again => {
                refused += 1;
                if refused > 1 {
                    let pause = Duration::from_micros(500 << refused.min(8));
                    if !w.life.sleep_unless_stopped(pause).await {
                        return;
                    }
                }
            }
            Outcome::NotSent | Outcome::Stale => {
                link.retire(generation);
                continue;
            }
            Outcome::Failed(f) => {
                w.stats.borrow_mut().record_request_fault(held.pick.name, f);
                held.done();
                // A step that should have captured did not: skip the run.
                let v = w.variant(held.pick).flow.as_deref();
                if kept.lane.is_some() && v.is_some_and(|f| !f.captures.is_empty()) {
                    w.skip_rest(&mut held);
                }
                refused = 0;
            }
        }
        mine = Some(Current {
            generation,
            send,
            conn,
        });
    }
}

/// Send the request on a new stream and read its response to the end.
async fn exchange(
    w: &Shared,
    conn: &Conn,
    send: &mut SendRequest,
    (tokens, kept): (&mut Option<Box<TokenClock>>, &mut Kept),
    pick: Pick,
    from: Instant,
    slot: &Slot,
) -> Outcome {
    if let Some(t) = tokens.as_mut() {
        t.reset();
    }
    let variant = w.variant(pick);
    let Some(req) = &variant.h2 else {
        return Outcome::Failed(Fault::H2Protocol);
    };
    if let Some(call) = &req.grpc {
        let (s, k) = (&mut *send, (tokens, kept));
        return grpccall::exchange(w, conn, s, k, pick, (req, call), (from, slot)).await;
    }
    // One test per request: a request without checks collects nothing.
    let set = w.mix.checks_of(variant);
    let keep = set.and_then(|s| s.body.then_some(w.conn.max_body));
    if let Some(set) = set {
        kept.body.begin(set, w.conn.max_body);
    }
    kept.headers = None;
    // A lane renders a step with captured values or cookies to send.
    let (head, data) = match kept.lane.as_deref_mut() {
        None => (req.head(), req.body.clone()),
        Some(l) => match l.stream(variant, req, &mut kept.body, set.is_some(), w.conn.max_body) {
            Some((pair, reads)) => {
                kept.lane_reads = reads;
                pair
            }
            None => return Outcome::Failed(Fault::H2Protocol),
        },
    };
    let body = !data.is_empty();
    let (response, mut tx) = match send.send_request(head, !body) {
        Ok(pair) => pair,
        // A connection that never took a stream will not take this one
        // either: a failure, not a loop of reconnects.
        Err(_) if !conn.sent.get() => return Outcome::Failed(Fault::H2Protocol),
        Err(_) => return Outcome::NotSent,
    };
    conn.sent.set(true);
    if body {
        // Shared bytes: h2 sends them as the server's window allows.
        let _ = tx.send_data(data, true);
    }
    let head_request = req.method() == http::Method::HEAD;
    let mut answered = false;
    // Time to first byte of the body: taken when a DATA frame arrives before
    // the end of the stream, else at the end with the latency.
    let mut first = FirstByte::default();
    let read = async {
        let resp = response.await?;
        answered = true;
        let status = resp.status().as_u16();
        let event_stream = w.conn.force_stream
            || resp
                .headers()
                .get(http::header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let (parts, mut body) = resp.into_parts();
        if kept.lane_reads || set.is_some_and(|s| s.headers) {
            kept.headers = Some(parts.headers);
        }
        if !head_request {
            while let Some(chunk) = poll_fn(|cx| first.poll(w, from, body.poll_data(cx))).await {
                let chunk = chunk?;
                let n = chunk.len();
                if w.mix.named() {
                    w.stats.borrow_mut().record_name_bytes(pick.name, n);
                }
                if event_stream {
                    let clock = tokens.get_or_insert_with(Default::default);
                    clock.keep = keep;
                    clock.feed(&chunk, Instant::now());
                } else if set.is_some() || kept.lane_reads {
                    kept.body.take_body(&chunk);
                }
                if n > 0 {
                    first.arrived();
                }
                let _ = body.flow_control().release_capacity(n);
            }
        }
        Ok::<u16, ::h2::Error>(status)
    };
    let result = UnlessLate { f: read, slot }.await;
    drop(tx);
    match result {
        Err(_) => Outcome::Failed(Fault::Timeout),
        Ok(Ok(status)) => Outcome::Done(status, first.taken(), None),
        Ok(Err(e)) => failure(&e, conn, answered),
    }
}
