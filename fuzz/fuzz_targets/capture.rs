//! Captures: a name and an expression (the first two lines) parsed, then
//! taken from the rest of the input as a response body; and the rest as a
//! template whose `{{name}}` slots are filled with the captured value,
//! whose predicted length (a body's Content-Length) must be what it renders.
#![no_main]
use blast::proto::capture::{Capture, Escape, Template};
use blast::proto::check::Response;
use libfuzzer_sys::fuzz_target;

const HEADERS: &[(&str, &[u8])] = &[("content-type", b"application/json"), ("x-token", b"t0k")];

fuzz_target!(|data: &[u8]| {
    let mut lines = data.splitn(3, |&b| b == b'\n');
    let (Some(name), Some(expr), Some(body)) = (lines.next(), lines.next(), lines.next()) else {
        return;
    };
    let (Ok(name), Ok(expr)) = (std::str::from_utf8(name), std::str::from_utf8(expr)) else {
        return;
    };
    let value: Vec<u8> = match Capture::parse(name, expr) {
        Ok(c) => {
            let r = Response::new(200, &HEADERS, body);
            let _ = c.not_found();
            c.extract(&r)
                .map(|v| v.into_owned().into_bytes())
                .unwrap_or_default()
        }
        Err(_) => body.get(..8).unwrap_or(body).to_vec(),
    };
    let known = [name, "id"];
    for escape in [Escape::Raw, Escape::Url, Escape::Header] {
        let t = Template::compile(body, &known, escape);
        let values: [&[u8]; 2] = [&value, b"42"];
        let mut out = Vec::new();
        t.render_into(&values, &mut out);
        assert_eq!(t.len(&values), out.len(), "{escape:?}: predicted length");
        if escape == Escape::Header && t.slots().next().is_some() {
            let fixed_crlf = Template::compile(body, &[], escape);
            let mut plain = Vec::new();
            fixed_crlf.render_into(&[], &mut plain);
            let count = |v: &[u8]| v.iter().filter(|&&b| b == b'\n').count();
            assert!(
                count(&out) <= count(&plain),
                "a header value gained a line end"
            );
        }
    }
});
