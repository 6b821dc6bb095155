//! The URL parser (the command line's URL, a scenario's `url`, a targets
//! line): an accepted URL's request target is one line that starts with
//! `/`, and its Host header has no CR or LF; percent-decoding never fails.
#![no_main]
use blast::config::url::{form_decode, parse_url, percent_decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = (percent_decode(s), form_decode(s));
    if let Ok(u) = parse_url(s) {
        let host = u.host_header();
        for b in [b'\r', b'\n'] {
            assert!(!host.as_bytes().contains(&b), "Host {host:?}");
            assert!(!u.target.as_bytes().contains(&b), "target {:?}", u.target);
        }
        let _ = u.default_port();
    }
});
