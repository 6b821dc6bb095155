//! Micro-benchmarks of the per-request hot path, through the public API:
//! response parsing, recording one response, and the once-per-interval
//! snapshot + merge. A small hand-written harness (no dependencies): each
//! case runs a few rounds of N iterations and prints the median ns/op.
//!
//! Run with `cargo bench --bench hot_path`. Under `cargo test --all-targets`
//! (which passes no `--bench` flag) every case runs once, as a smoke test.

use std::hint::black_box;
use std::time::{Duration, Instant};

use blast::engine::flow::FlowStep;
use blast::engine::lane::Lane;
use blast::engine::mix::{
    Chooser, Cursor, Entry, Mix, RequestName, RowOrder, Step, Think, Variant,
};
use blast::proto::capture::Capture;
use blast::proto::check::{Checks, Response, NO_HEADERS};
use blast::proto::h1::response::ResponseParser;
use blast::proto::h1::spliced::Spliced;
use blast::stats::aggregate::Aggregator;
use blast::stats::Stats;

const ROUNDS: usize = 7;

/// Counts allocator calls, so the mix case can show it makes none.
struct Counting;
static ALLOCS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::alloc::System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        std::alloc::System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: std::alloc::Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::alloc::System.realloc(p, l, n)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.load(std::sync::atomic::Ordering::Relaxed)
}

/// A scenario of 10 named requests (weights 1..10), each with 10,000 data
/// rows encoded as its own variant: 100,000 pre-encoded requests.
fn scenario_mix() -> Mix {
    let (requests, rows) = (10u32, 10_000u32);
    let mut names = Vec::new();
    let mut variants = Vec::new();
    let mut entries = Vec::new();
    for r in 0..requests {
        names.push(RequestName {
            name: format!("/api/{r}"),
            method: "POST".into(),
        });
        let first = variants.len() as u32;
        for row in 0..rows {
            let body = format!("{{\"user\": {row}, \"item\": {}}}", row * 7 % 1000);
            let req = format!(
                "POST /api/{r}?u={row} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            variants.push(Variant {
                bytes: req.into_bytes().into(),
                head: false,
                h2: None,
                flow: None,
                checks: None,
            });
        }
        entries.push(Entry {
            weight: r + 1,
            steps: vec![Step {
                name: r as u16,
                first,
                count: rows,
            }],
        });
    }
    Mix::new(names, variants, entries, Think::None, RowOrder::RoundRobin).expect("valid mix")
}

/// A sequence of 3 steps: a login whose response header carries the token,
/// then two requests that splice it into their path, headers and body.
fn captured_mix() -> Mix {
    let token = Capture::parse("token", "header X-Token").expect("valid capture");
    let steps: [(&str, &[u8]); 3] = [
        ("login", b"POST /login HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}"),
        ("profile", b"GET /api/profile HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer {{token}}\r\n\r\n"),
        (
            "order",
            b"POST /api/orders/{{token}} HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer {{token}}\r\nContent-Length: 24\r\n\r\n{\"token\": \"{{token}}\", \"n\": 1}",
        ),
    ];
    let mut names = Vec::new();
    let mut variants = Vec::new();
    for (i, (name, bytes)) in steps.iter().enumerate() {
        names.push(RequestName {
            name: name.to_string(),
            method: "POST".into(),
        });
        let flow = FlowStep {
            spliced: Spliced::compile(bytes, &["token"]),
            captures: match i {
                0 => vec![(0, token.clone(), token.not_found().into())],
                _ => Vec::new(),
            },
            starts_run: i == 0,
            slots: 1,
        };
        variants.push(Variant {
            bytes: bytes.to_vec().into(),
            head: false,
            h2: None,
            flow: Some(Box::new(flow)),
            checks: None,
        });
    }
    let entries = vec![Entry {
        weight: 1,
        steps: (0..3)
            .map(|i| Step {
                name: i,
                first: u32::from(i),
                count: 1,
            })
            .collect(),
    }];
    Mix::new(names, variants, entries, Think::None, RowOrder::RoundRobin).expect("valid mix")
}

/// A typical small keep-alive response (~130 bytes), framed by Content-Length.
const CONTENT_LENGTH: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx/1.24.0\r\n\
Date: Sun, 23 Nov 2025 10:00:00 GMT\r\n\
Content-Type: text/plain\r\n\
Content-Length: 13\r\n\
\r\n\
Hello, world!";

/// The same body, chunked, in two chunks.
const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: hyper\r\n\
Date: Sun, 23 Nov 2025 10:00:00 GMT\r\n\
Content-Type: text/plain\r\n\
Transfer-Encoding: chunked\r\n\
\r\n\
7\r\nHello, \r\n6\r\nworld!\r\n0\r\n\r\n";

/// Run `f` `iters` times per round, `rounds` times; return median ns/op.
fn measure(rounds: usize, iters: u64, mut f: impl FnMut(u64)) -> f64 {
    let mut per_op: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for i in 0..iters {
                f(black_box(i));
            }
            start.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    per_op.sort_by(|a, b| a.total_cmp(b));
    per_op[per_op.len() / 2]
}

/// Pick N so one round takes about `target` (at least one iteration).
fn calibrate(target: Duration, mut f: impl FnMut(u64)) -> u64 {
    let mut n: u64 = 1;
    loop {
        let start = Instant::now();
        for i in 0..n {
            f(black_box(i));
        }
        let t = start.elapsed();
        if t >= target / 10 || n >= 1 << 32 {
            let per = t.as_nanos().max(1) as f64 / n as f64;
            return ((target.as_nanos() as f64 / per) as u64).max(1);
        }
        n *= 2;
    }
}

struct Bench {
    /// Full run (`cargo bench`) or one quick pass (`cargo test`).
    full: bool,
    round: Duration,
}

impl Bench {
    fn run(&self, name: &str, mut f: impl FnMut(u64)) {
        let (rounds, iters) = if self.full {
            (ROUNDS, calibrate(self.round, &mut f))
        } else {
            (1, 1)
        };
        let ns = measure(rounds, iters, &mut f);
        println!("{name:<28} {ns:>10.1} ns/op   ({rounds} rounds x {iters})");
    }
}

fn parse_one(p: &mut ResponseParser, bytes: &[u8]) {
    p.reset();
    let r = p.feed(black_box(bytes)).expect("valid response");
    assert!(r.done && r.consumed == bytes.len());
    black_box(p.status());
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test` does not.
    let full = std::env::args().any(|a| a == "--bench");
    let bench = Bench {
        full,
        round: Duration::from_millis(150),
    };

    let mut parser = ResponseParser::new(false);
    bench.run("parse_content_length", |_| {
        parse_one(&mut parser, CONTENT_LENGTH)
    });
    bench.run("parse_chunked", |_| parse_one(&mut parser, CHUNKED));

    // Latencies spread over a realistic range (50 us .. ~6.6 ms), so the
    // histogram index math is not always hitting the same bucket.
    let mut stats = Stats::new();
    bench.run("record_response", |i| {
        let lat = 50 + (i.wrapping_mul(2_654_435_761) % 6_553);
        stats.record_response(black_box(200), black_box(lat), black_box(lat));
    });
    black_box(stats.counts.requests);

    // A scenario's choice and per-name record: draw the next request of a
    // 10-request x 10k-row mix (weighted entry, round-robin row), touch its
    // encoded bytes as the write would, record it in the totals and under
    // its name. Counted allocations must stay 0 per request.
    let mix = scenario_mix();
    let mut stats = Stats::with_names(mix.names.len());
    let mut chooser = Chooser::new(1, 0);
    let mut cursor = Cursor::default();
    let mut pick_and_record = |i: u64| {
        let p = mix.next(&mut cursor, &mut chooser);
        let bytes = &mix.variants[p.variant as usize].bytes;
        let lat = 50 + (i.wrapping_mul(2_654_435_761) % 6_553);
        stats.record_response(200, lat, lat);
        stats.record_name_response(p.name, 200, blast::stats::Judged::Ok, lat);
        black_box(bytes.len());
    };
    for i in 0..1000 {
        pick_and_record(i); // first status of each name
    }
    let before = allocs();
    let n = if full { 1_000_000 } else { 10_000 };
    for i in 0..n {
        pick_and_record(i);
    }
    let made = allocs() - before;
    println!(
        "{:<28} {:>10.4} allocations/request over {n} requests (10 requests x 10k rows)",
        "mix_allocations",
        made as f64 / n as f64
    );
    assert_eq!(made, 0, "the mix's hot path allocated");
    bench.run("mix_pick_and_record", pick_and_record);
    black_box(stats.counts.requests);

    // A 3-step captured sequence as a lane runs it: login (captures the
    // token from a response header), then two steps with it spliced into
    // the path, a header and the body (Content-Length follows), rendered
    // into the lane's reused buffer; each response's head and body kept
    // (in buffers reused as the connection's are) and the capture taken.
    // Counted allocations must stay 0 per request.
    let mix = captured_mix();
    let mut lane = Lane::new(&mix);
    let mut stats = Stats::with_names(mix.names.len());
    let mut cursor = Cursor::default();
    let heads: Vec<String> = (0..16)
        .map(|k| {
            format!(
                "HTTP/1.1 200 OK\r\nX-Token: tok-{k:04}-{}\r\nContent-Length: 2\r\n\r\n",
                "a".repeat(k)
            )
        })
        .collect();
    let now = Instant::now();
    let (mut head, mut body) = (Vec::with_capacity(256), Vec::with_capacity(256));
    let mut captured_step = |i: u64| {
        let p = mix.next(&mut cursor, &mut chooser);
        let v = &mix.variants[p.variant as usize];
        let rendered = lane.prepare(v, now);
        black_box(if rendered {
            lane.out.len()
        } else {
            v.bytes.len()
        });
        if lane.collects(v) {
            // As the connection collects it: head bytes and body, reused.
            head.clear();
            head.extend_from_slice(heads[(i % 16) as usize].as_bytes());
            body.clear();
            body.extend_from_slice(b"ok");
            assert!(lane.absorb(v, 200, &head, &body, now).is_ok());
        }
        let lat = 50 + (i.wrapping_mul(2_654_435_761) % 6_553);
        stats.record_response(200, lat, lat);
        stats.record_name_response(p.name, 200, blast::stats::Judged::Ok, lat);
    };
    for i in 0..1000 {
        captured_step(i); // the buffers reach their largest request
    }
    let before = allocs();
    for i in 0..n {
        captured_step(i);
    }
    let made = allocs() - before;
    println!(
        "{:<28} {:>10.4} allocations/request over {n} requests (3-step captured sequence)",
        "captured_allocations",
        made as f64 / n as f64
    );
    assert_eq!(made, 0, "a captured sequence's steady state allocated");
    bench.run("captured_step", captured_step);
    black_box(stats.counts.requests);
    // A request's checks on its response: the status rule and a json
    // pointer walked over a 1 KiB JSON body, every check tallied. Counted
    // allocations must stay 0 per response.
    let checks = Checks::parse(&["status == 200", "json /x exists"]).expect("valid checks");
    let body = format!("{{\"x\": 1, \"pad\": \"{}\"}}", "a".repeat(1000));
    let mut passes = 0u64;
    let mut judge = |_| {
        let r = Response::new(200, &NO_HEADERS, black_box(body.as_bytes()));
        let _ = checks.eval_each(&r, |_, ok| passes += u64::from(ok));
    };
    let before = allocs();
    let n = if full { 100_000 } else { 1_000 };
    for i in 0..n {
        judge(i);
    }
    let made = allocs() - before;
    println!(
        "{:<28} {:>10.4} allocations/response over {n} responses (1 KiB JSON)",
        "checks_allocations",
        made as f64 / n as f64
    );
    assert_eq!(made, 0, "judging a response allocated");
    bench.run("checks_status_json_1k", judge);
    black_box(passes);

    // Once per interval per worker: swap the histograms out into a snapshot
    // (after ~1000 recorded responses) and merge it into the aggregator. Only
    // take_snapshot and add are timed, not the records between. A fresh
    // aggregator per round keeps its per-second timeline bounded.
    let rounds = if full { ROUNDS } else { 1 };
    let iters: u32 = if full { 200 } else { 1 };
    let mut stats = Stats::new();
    let (mut snap_ns, mut add_ns) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let mut agg = Aggregator::new(1, false);
        let (mut in_snap, mut in_add) = (Duration::ZERO, Duration::ZERO);
        for seq in 0..iters {
            for k in 0..1000u64 {
                stats.record_response(200, 50 + (k * 97) % 5000, 50 + (k * 97) % 5000);
            }
            let t0 = Instant::now();
            let snap = stats.take_snapshot(0, seq, Duration::from_secs(u64::from(seq) + 1));
            let t1 = Instant::now();
            agg.add(black_box(snap));
            let t2 = Instant::now();
            in_snap += t1 - t0;
            in_add += t2 - t1;
        }
        black_box(&agg);
        snap_ns.push(in_snap.as_nanos() as f64 / f64::from(iters));
        add_ns.push(in_add.as_nanos() as f64 / f64::from(iters));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (s, a) = (median(snap_ns), median(add_ns));
    for (name, ns) in [
        ("take_snapshot", s),
        ("aggregator_add", a),
        ("snapshot_and_merge", s + a),
    ] {
        println!("{name:<28} {ns:>10.1} ns/op   ({rounds} rounds x {iters})");
    }
}
