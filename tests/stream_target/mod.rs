//! `blast target --stream N`: the OpenAI-compatible SSE stream it answers
//! with, read by a raw HTTP/1.1 client (and hyper's HTTP/2 client for h2c)
//! that timestamps each event, so the stream's shape and pace are checked
//! against the flags: exactly N content events in order, the usage event's
//! completion_tokens, [DONE] last, no token before its due time
//! (--first-token + k × --token-interval) and the gaps at the interval.

use crate::support::{run, TargetProcess};
use blast::target::{self, StreamOptions, Target, TargetOptions};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);

fn stream_target(opts: StreamOptions, http2: bool) -> Target {
    target::start(TargetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        http2,
        stream: Some(opts),
        ..Default::default()
    })
    .expect("start the target")
}

fn opts(tokens: u64, first_ms: u64, interval_ms: u64, usage: bool) -> StreamOptions {
    StreamOptions {
        tokens,
        first_token: Duration::from_millis(first_ms),
        token_interval: Duration::from_millis(interval_ms),
        usage,
    }
}

/// One SSE event: when it was complete (from the request's send) and its
/// `data:` payload.
#[derive(Debug)]
struct Event {
    at: Duration,
    data: String,
}

/// Splits complete `data: ...\n\n` events off the front of `buf`.
fn take_events(buf: &mut Vec<u8>, at: Duration, out: &mut Vec<Event>) {
    while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
        let ev: Vec<u8> = buf.drain(..end + 2).collect();
        let text = String::from_utf8(ev).unwrap();
        let data = text
            .trim_end()
            .strip_prefix("data: ")
            .unwrap_or_else(|| panic!("not a data event: {text:?}"));
        out.push(Event {
            at,
            data: data.to_string(),
        });
    }
}

/// A response read off an HTTP/1.1 connection: lower-cased header lines and
/// the events, each stamped when its chunk was read.
struct H1Response {
    head: String,
    events: Vec<Event>,
}

/// Sends one request on `s` and reads the chunked response to its last
/// chunk (the connection stays usable). `stop_after` lets a test look at
/// the server after that many events; the rest is then read on.
fn h1_exchange(
    s: &mut TcpStream,
    r: &mut BufReader<TcpStream>,
    request: &str,
    mut at_event: impl FnMut(usize),
) -> H1Response {
    let t0 = Instant::now();
    s.write_all(request.as_bytes()).unwrap();
    let mut head = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "connection closed in the head: {head}");
        if line == "\r\n" {
            break;
        }
        head.push_str(&line.to_ascii_lowercase());
    }
    let mut buf = Vec::new();
    let mut events = Vec::new();
    loop {
        let mut size = String::new();
        r.read_line(&mut size).unwrap();
        let n = usize::from_str_radix(size.trim(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size line {size:?}"));
        let mut chunk = vec![0; n + 2];
        r.read_exact(&mut chunk).unwrap();
        assert_eq!(&chunk[n..], b"\r\n");
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let before = events.len();
        take_events(&mut buf, t0.elapsed(), &mut events);
        for i in before..events.len() {
            at_event(i);
        }
    }
    assert!(buf.is_empty(), "bytes after the last event: {buf:?}");
    H1Response { head, events }
}

fn connect(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
    let s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let r = BufReader::new(s.try_clone().unwrap());
    (s, r)
}

const GET: &str = "GET /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// Checks the events against `o`: a role event first, `o.tokens` content
/// events `t0 `, `t1 `... in order, a stop chunk, the usage event (or none),
/// `[DONE]` last; returns the content events' arrival times.
fn check_events(events: &[Event], o: StreamOptions) -> Vec<Duration> {
    let n = o.tokens as usize;
    let extra = if o.usage { 4 } else { 3 };
    assert_eq!(events.len(), n + extra, "{events:#?}");
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let json: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect();
    for j in &json {
        assert_eq!(j["object"], "chat.completion.chunk", "{j}");
        assert_eq!(j["id"], "chatcmpl-blast", "{j}");
    }
    let role = &json[0]["choices"][0]["delta"];
    assert_eq!(role["role"], "assistant", "{}", json[0]);
    assert_eq!(role["content"], "", "the role event carries no token");
    let mut times = Vec::new();
    for (k, j) in json.iter().enumerate().skip(1).take(n) {
        let content = j["choices"][0]["delta"]["content"].as_str().unwrap();
        assert_eq!(content, format!("t{} ", k - 1), "{j}");
        assert_eq!(j["choices"][0]["finish_reason"], Value::Null);
        times.push(events[k].at);
    }
    let stop = &json[n + 1]["choices"][0];
    assert_eq!(stop["finish_reason"], "stop", "{}", json[n + 1]);
    assert_eq!(stop["delta"], serde_json::json!({}));
    let with_usage: Vec<&Value> = json.iter().filter(|j| j.get("usage").is_some()).collect();
    if o.usage {
        assert_eq!(with_usage.len(), 1);
        let u = &json[n + 2];
        assert_eq!(u["choices"], serde_json::json!([]), "{u}");
        assert_eq!(u["usage"]["completion_tokens"], o.tokens, "{u}");
        assert_eq!(u["usage"]["prompt_tokens"], 1, "{u}");
        assert_eq!(u["usage"]["total_tokens"], o.tokens + 1, "{u}");
    } else {
        assert!(with_usage.is_empty(), "{with_usage:?}");
    }
    times
}

/// The pace, measured from the request's send. Token k is due at
/// first-token + k × token-interval after the server starts the response,
/// so it can arrive no earlier than that: checked for every token (a late
/// read here only makes it later). The first token comes within 50 ms of
/// its time; the median gap is within 0.9–1.15 × the interval, and none is
/// over the interval + 250 ms. Single gaps are not held to 0.9 × the
/// interval: on a loaded 2-core box this reader is sometimes descheduled
/// for ~4 ms, which lengthens one gap and shortens the next (measured:
/// 25.8 ms then 16.4 ms at a 20 ms interval).
fn check_due(times: &[Duration], o: StreamOptions) {
    for (k, &at) in times.iter().enumerate() {
        let due = o.first_token + o.token_interval * k as u32;
        assert!(at >= due, "token {k} at {at:?}, due {due:?}: {times:?}");
    }
}

fn check_pace(times: &[Duration], o: StreamOptions) {
    let first = times[0];
    let mut gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort();
    eprintln!(
        "first token {first:?} (--first-token {:?}); gaps {:?}..{:?}, median {:?} \
         (--token-interval {:?}); last {:?}",
        o.first_token,
        gaps.first(),
        gaps.last(),
        gaps.get(gaps.len() / 2),
        o.token_interval,
        times.last()
    );
    check_due(times, o);
    assert!(first <= o.first_token + 50 * MS, "first token at {first:?}");
    if let Some(&median) = gaps.get(gaps.len() / 2) {
        assert!(
            median >= o.token_interval.mul_f64(0.9)
                && median <= o.token_interval.mul_f64(1.15) + MS,
            "median gap {median:?}: {times:?}"
        );
    }
    for gap in gaps {
        assert!(gap <= o.token_interval + 250 * MS, "gap {gap:?}: {times:?}");
    }
}

#[test]
fn http1_stream_shape_and_pace() {
    let o = opts(20, 30, 20, true);
    let t = stream_target(o, false);
    let (mut s, mut r) = connect(t.addr());
    let resp = h1_exchange(&mut s, &mut r, GET, |_| {});
    let served = t.requests();
    t.stop();
    assert!(resp.head.starts_with("http/1.1 200 ok"), "{}", resp.head);
    for h in [
        "content-type: text/event-stream\r\n",
        "cache-control: no-cache\r\n",
        "transfer-encoding: chunked\r\n",
    ] {
        assert!(resp.head.contains(h), "no {h:?} in {}", resp.head);
    }
    assert!(!resp.head.contains("content-length"), "{}", resp.head);
    let times = check_events(&resp.events, o);
    check_pace(&times, o);
    // 30 ms + 19 × 20 ms at least.
    assert!(*times.last().unwrap() >= 410 * MS, "{times:?}");
    assert_eq!(served, 1);
}

#[test]
fn usage_off_and_no_waits() {
    for usage in [false, true] {
        let o = opts(50, 0, 0, usage);
        let t = stream_target(o, false);
        let (mut s, mut r) = connect(t.addr());
        let resp = h1_exchange(&mut s, &mut r, GET, |_| {});
        t.stop();
        let times = check_events(&resp.events, o);
        assert!(times[0] <= 50 * MS, "{times:?}");
    }
}

/// A stream counts as a request when its [DONE] goes out, not before; a
/// POST with a JSON body (as real clients send) streams the same, and
/// keep-alive carries the next one.
#[test]
fn counted_when_complete_and_kept_alive() {
    let o = opts(10, 20, 20, true);
    let t = stream_target(o, false);
    let (mut s, mut r) = connect(t.addr());
    let mut mid = None;
    let resp = h1_exchange(&mut s, &mut r, GET, |i| {
        if i == 3 {
            mid = Some(t.requests());
        }
    });
    assert_eq!(mid, Some(0), "counted before the stream ended");
    check_pace(&check_events(&resp.events, o), o);
    assert_eq!(t.requests(), 1);
    let body =
        r#"{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#;
    let post = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let resp = h1_exchange(&mut s, &mut r, &post, |_| {});
    check_pace(&check_events(&resp.events, o), o);
    let served = t.requests();
    let connections = t.connections();
    t.stop();
    assert_eq!((served, connections), (2, 1));
}

/// 200 connections streaming at once on one server thread: the timers do
/// not block it, so the whole lot takes about one stream's time (20 ms +
/// 9 × 10 ms), not 200 of them (22 s).
#[test]
fn two_hundred_concurrent_streams() {
    let o = opts(10, 20, 10, true);
    let t = stream_target(o, false);
    let addr = t.addr();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    let bodies: Vec<Vec<u8>> = rt.block_on(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tasks = Vec::new();
        for _ in 0..200 {
            tasks.push(tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                let req =
                    "GET /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
                s.write_all(req.as_bytes()).await.unwrap();
                let mut all = Vec::new();
                s.read_to_end(&mut all).await.unwrap();
                all
            }));
        }
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.unwrap());
        }
        out
    });
    let took = start.elapsed();
    let served = t.requests();
    t.stop();
    for raw in bodies {
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.to_ascii_lowercase().contains("text/event-stream"));
        let mut buf = dechunk(body.as_bytes());
        let mut events = Vec::new();
        take_events(&mut buf, Duration::ZERO, &mut events);
        check_events(&events, o);
    }
    assert_eq!(served, 200);
    assert!(took < Duration::from_secs(5), "200 streams took {took:?}");
}

/// The data of a whole chunked body.
fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 4 + n..];
    }
}

/// h2c (prior knowledge) with hyper's client: the same events as DATA
/// frames, at the same pace.
#[test]
fn h2c_stream() {
    use http_body_util::{BodyExt, Empty};
    let o = opts(15, 20, 20, true);
    let t = stream_target(o, true);
    let addr = t.addr();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (ctype, events) = rt.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut send, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(tcp),
        )
        .await
        .unwrap();
        tokio::spawn(conn);
        let req = hyper::Request::get(format!("http://{addr}/v1/chat/completions"))
            .body(Empty::<bytes::Bytes>::new())
            .unwrap();
        let t0 = Instant::now();
        let resp = send.send_request(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.version(), hyper::Version::HTTP_2);
        let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
        let mut body = resp.into_body();
        let (mut buf, mut events) = (Vec::new(), Vec::new());
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                buf.extend_from_slice(&data);
                take_events(&mut buf, t0.elapsed(), &mut events);
            }
        }
        assert!(buf.is_empty());
        (ctype, events)
    });
    let served = t.requests();
    t.stop();
    assert_eq!(ctype, "text/event-stream");
    check_pace(&check_events(&events, o), o);
    assert_eq!(served, 1);
}

#[test]
fn bad_stream_flags_exit_2() {
    for args in [
        &["target", "--stream", "x"][..],
        &["target", "--stream", "-1"],
        &["target", "--stream", "3", "--first-token", "abc"],
        &["target", "--stream", "3", "--token-interval", "5parsecs"],
        &["target", "--stream", "3", "--usage", "maybe"],
    ] {
        let r = run(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
}

/// The CLI wires the flags through: `blast target --stream 4 --usage off`
/// (10 ms to the first token, 20 ms between)
/// as a child process, with `--body-size` ignored.
#[test]
fn cli_target_streams() {
    let child = TargetProcess::start(&[
        "--stream",
        "4",
        "--first-token",
        "10ms",
        "--token-interval",
        "20ms",
        "--usage",
        "off",
        "--body-size",
        "1000",
    ]);
    let addr: SocketAddr = child
        .url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("{:?}", child.line))
        .parse()
        .unwrap();
    let (mut s, mut r) = connect(addr);
    let resp = h1_exchange(&mut s, &mut r, GET, |_| {});
    drop(child);
    let o = opts(4, 10, 20, false);
    // Only the due times: a child just started on a busy box may be late
    // and then catch up (seen: tokens 2 and 3 together, 21 ms late).
    check_due(&check_events(&resp.events, o), o);
}
