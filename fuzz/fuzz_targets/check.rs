//! `--check`: an expression (first line of the input) parsed, then, if it
//! is valid, judged against the rest of the input as a response body (JSON
//! pointers, regexes, sizes), with a few headers.
#![no_main]
use blast::proto::check::{Check, Response};
use libfuzzer_sys::fuzz_target;

const HEADERS: &[(&str, &[u8])] = &[
    ("content-type", b"application/json"),
    ("x-request-id", b"abc-123"),
];

fuzz_target!(|data: &[u8]| {
    let (expr, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(expr) = std::str::from_utf8(expr) else {
        return;
    };
    let Ok(check) = Check::parse(expr) else {
        return;
    };
    let status = body.first().map_or(200, |&b| 100 + u16::from(b) * 2);
    let r = Response::new(status, &HEADERS, body);
    let once = check.eval(&r);
    assert_eq!(once, check.eval(&r), "a check judged one response two ways");
    let _ = (check.needs_body(), check.needs_headers(), check.is_status());
});
