//! Defect 8 (b, c): the text report of a run with no request showed
//! `Req/Sec 1.00`; a response whose deadline passed by the end of `-d`
//! (its body still coming) was reported only as in flight.

use super::{read_head, RawServer};
use crate::support::{run_line, wait_until};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Read requests, never answer.
fn silent(mut s: TcpStream) {
    while read_head(&mut s) {}
}

#[test]
fn no_request_is_zero_requests_per_second() {
    let srv = RawServer::start(silent);
    let url = format!("http://{}/", srv.addr);
    let r = run_line("-c 1 -t 1 -d 1s --timeout 5s", &url);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("  0 requests in"), "{}", r.stdout);
    let line = r
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("Req/Sec"))
        .unwrap_or_else(|| panic!("no Req/Sec line: {}", r.stdout));
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&cols[1..4], ["0.00", "0.00", "0.00"], "{line}");
    assert!(r.stdout.contains("Requests/sec:      0.00"), "{}", r.stdout);
}

/// When each held request arrived and when blast closed its connection.
static HELD: Mutex<Vec<(Instant, Instant)>> = Mutex::new(Vec::new());

/// The head and one byte of a 1 MB body, then nothing until blast closes
/// (a sweep's shutdown at the request's deadline, or the run's end): when
/// the request arrived and when the close came.
fn hold(mut s: TcpStream) -> Option<(Instant, Instant)> {
    if !read_head(&mut s) {
        return None;
    }
    let arrived = Instant::now();
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nx");
    let mut b = [0u8; 4096];
    while matches!(s.read(&mut b), Ok(n) if n > 0) {}
    Some((arrived, Instant::now()))
}

fn held_body(s: TcpStream) {
    if let Some(times) = hold(s) {
        HELD.lock().unwrap().push(times);
    }
}

/// `-d 1s --timeout 950ms` against bodies that never end: each request is
/// a timeout exactly when blast held it past its deadline (the server saw
/// the close 950 ms or more after the request), else in flight at the end.
/// A deadline that falls after the last 100 ms tick but before the end was
/// reported in flight: only the end could see it pass. The server's own
/// clock decides; a close within 5 ms of the deadline is too close to call,
/// and the run is made again.
#[test]
fn a_body_past_its_deadline_at_the_end_is_a_timeout() {
    let timeout = Duration::from_millis(950);
    let srv = RawServer::start(held_body);
    let url = format!("http://{}/", srv.addr);
    for _ in 0..5 {
        HELD.lock().unwrap().clear();
        let before = srv.accepted();
        let r = run_line("-c 1 -t 1 -d 1s --timeout 950ms --json", &url);
        let j = r.ok_json();
        let opened = srv.accepted() - before;
        wait_until(Duration::from_secs(5), "every held request closed", || {
            HELD.lock().unwrap().len() as u64 == opened
        });
        let held = HELD.lock().unwrap().clone();
        let margin = Duration::from_millis(5);
        if held.iter().any(|(a, c)| {
            (c.duration_since(*a).as_secs_f64() - timeout.as_secs_f64()).abs()
                < margin.as_secs_f64()
        }) {
            continue;
        }
        let late = held
            .iter()
            .filter(|(a, c)| c.duration_since(*a) >= timeout)
            .count();
        assert_eq!(j["requests"], 0, "{j}");
        assert_eq!(j["errors"]["timeout"], late, "{held:?} {j}");
        assert_eq!(j["in_flight_at_end"], held.len() - late, "{held:?} {j}");
        return;
    }
    panic!("five runs closed a request within 5 ms of its deadline");
}

/// Its deadline after the end: still in flight, not a timeout (blast does
/// not wait past `-d` to learn whether it would have finished).
#[test]
fn a_body_within_its_deadline_at_the_end_is_in_flight() {
    let srv = RawServer::start(held_body);
    let url = format!("http://{}/", srv.addr);
    let r = run_line("-c 1 -t 1 -d 1s --timeout 3s --json", &url);
    let j = r.ok_json();
    assert_eq!(j["requests"], 0, "{j}");
    assert_eq!(j["errors"]["timeout"], 0, "{j}");
    assert_eq!(j["in_flight_at_end"], 1, "{j}");
}
