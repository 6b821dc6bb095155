//! Set-Cookie: each line of the input is a `Set-Cookie` value stored for
//! a path (the first line), at a wall-clock time the first byte chooses;
//! then the `Cookie` header sent back is one line. The values are what a
//! response head can carry: no control byte but TAB.
#![no_main]
use blast::proto::cookie::Jar;
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fuzz_target!(|data: &[u8]| {
    let Some((&t, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    // Header values as httparse and h2 hand them over: no control byte
    // but TAB (LF here separates the values).
    if text
        .bytes()
        .any(|b| (b < b' ' && b != b'\t' && b != b'\n') || b == 0x7f)
    {
        return;
    }
    let mut lines = text.split('\n');
    let path = lines.next().unwrap_or("/");
    let now = Instant::now();
    let wall = UNIX_EPOCH + Duration::from_secs(u64::from(t) * 40_000_000);
    let mut jar = Jar::new();
    for l in lines {
        jar.store_at(l, path, now, wall);
    }
    let _ = SystemTime::now();
    let mut out = Vec::new();
    if jar.header_into(path, now, &mut out) {
        assert!(out.starts_with(b"Cookie: ") && out.ends_with(b"\r\n"));
        let inner = &out[8..out.len() - 2];
        assert!(
            !inner.contains(&b'\n') && !inner.contains(&b'\r'),
            "CR/LF in the Cookie header"
        );
    }
    let mut v = Vec::new();
    jar.value_into("/", now, &mut v);
});
