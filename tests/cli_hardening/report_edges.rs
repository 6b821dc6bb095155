//! Defect 8 (b, c): the text report of a run with no request showed
//! `Req/Sec 1.00`; a response whose deadline passed by the end of `-d`
//! (its body still coming) was reported only as in flight.

use super::{read_head, RawServer};
use crate::support::run;
use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

/// Read requests, never answer.
fn silent(mut s: TcpStream) {
    while read_head(&mut s) {}
}

#[test]
fn no_request_is_zero_requests_per_second() {
    let srv = RawServer::start(silent);
    let url = format!("http://{}/", srv.addr);
    let r = run(&["-c", "1", "-t", "1", "-d", "1s", "--timeout", "5s", &url]);
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

/// The head and one byte of a 1 MB body, then nothing.
fn held_body(mut s: TcpStream) {
    if read_head(&mut s) {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nx");
        thread::sleep(Duration::from_secs(30));
    }
}

/// `-d 1s --timeout 950ms`: the one request's deadline falls after the
/// last tick but before the end, so only the end can see it passed. It is
/// a timeout, not a request in flight.
#[test]
fn a_body_past_its_deadline_at_the_end_is_a_timeout() {
    let srv = RawServer::start(held_body);
    let url = format!("http://{}/", srv.addr);
    let r = run(&[
        "-c",
        "1",
        "-t",
        "1",
        "-d",
        "1s",
        "--timeout",
        "950ms",
        "--json",
        &url,
    ]);
    let j = r.ok_json();
    assert_eq!(srv.accepted(), 1, "{j}");
    assert_eq!(j["requests"], 0, "{j}");
    assert_eq!(j["errors"]["timeout"], 1, "{j}");
    assert_eq!(j["in_flight_at_end"], 0, "{j}");
}

/// Its deadline after the end: still in flight, not a timeout (blast does
/// not wait past `-d` to learn whether it would have finished).
#[test]
fn a_body_within_its_deadline_at_the_end_is_in_flight() {
    let srv = RawServer::start(held_body);
    let url = format!("http://{}/", srv.addr);
    let r = run(&[
        "-c",
        "1",
        "-t",
        "1",
        "-d",
        "1s",
        "--timeout",
        "3s",
        "--json",
        &url,
    ]);
    let j = r.ok_json();
    assert_eq!(j["requests"], 0, "{j}");
    assert_eq!(j["errors"]["timeout"], 0, "{j}");
    assert_eq!(j["in_flight_at_end"], 1, "{j}");
}
