//! A request with captured values spliced in (a sequence step that uses
//! `{{token}}`). It cannot be encoded once like the others, so it is
//! compiled once, from the bytes `request::encode` made with its
//! placeholders still written as text, into three templates: the request
//! line (values percent-encoded where they would break the path), the
//! header lines (control bytes in a value become spaces, so a value can
//! never end a header) and the body (values as captured). A body with
//! slots loses its encoded Content-Length, which is written per request
//! from the rendered length. Rendering appends to a buffer the lane owns
//! and reuses, so once it has held the largest request nothing allocates.

use crate::proto::capture::{Escape, Template};
use std::ops::Range;

/// A step's request as fixed segments and splice points.
#[derive(Clone, Debug)]
pub struct Spliced {
    line: Template,
    headers: Template,
    body: Template,
    /// The body has slots: write its Content-Length per request.
    length: bool,
}

/// `\r\n\r\n` ends a head.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// An encoded request split into its head without the blank line (request
/// line and header lines, each ending in CRLF) and its body.
pub fn split(encoded: &[u8]) -> (&[u8], &[u8]) {
    match find(encoded, b"\r\n\r\n") {
        Some(i) => (&encoded[..i + 2], &encoded[i + 4..]),
        None => (encoded, &[]),
    }
}

/// Where the target (path and query) lies in a head that starts with the
/// request line `METHOD SP target SP HTTP/1.1`.
pub fn target_of(head: &[u8]) -> Range<usize> {
    let end = find(head, b"\r\n").unwrap_or(head.len());
    let start = head[..end]
        .iter()
        .position(|&b| b == b' ')
        .map_or(0, |i| i + 1);
    let stop = head[start..end]
        .iter()
        .rposition(|&b| b == b' ')
        .map_or(end, |i| start + i);
    start..stop
}

impl Spliced {
    /// From a request encoded with its `{{name}}` placeholders as text;
    /// slots index `known`. None: it uses no value of `known`, so it stays
    /// pre-encoded.
    pub fn compile(encoded: &[u8], known: &[&str]) -> Option<Spliced> {
        let (head, body) = split(encoded);
        let line_end = find(head, b"\r\n").map_or(head.len(), |i| i + 2);
        let line = Template::compile(&head[..line_end], known, Escape::Url);
        let body = Template::compile(body, known, Escape::Raw);
        let length = !body.is_fixed();
        let mut lines = Vec::with_capacity(head.len() - line_end);
        for l in head[line_end..].split_inclusive(|&b| b == b'\n') {
            let is_length = l.len() > 15 && l[..15].eq_ignore_ascii_case(b"content-length:");
            if !(length && is_length) {
                lines.extend_from_slice(l);
            }
        }
        let headers = Template::compile(&lines, known, Escape::Header);
        if line.is_fixed() && headers.is_fixed() && !length {
            return None;
        }
        Some(Spliced {
            line,
            headers,
            body,
            length,
        })
    }

    /// Append the request line and header lines (no blank line yet, so a
    /// Cookie header can follow); the target's range in `out`.
    pub fn render_head<'v>(
        &self,
        value: impl Fn(usize) -> &'v [u8] + Copy,
        out: &mut Vec<u8>,
    ) -> Range<usize> {
        let start = out.len();
        self.line.render_with(value, out);
        let t = target_of(&out[start..]);
        self.headers.render_with(value, out);
        start + t.start..start + t.end
    }

    /// Append Content-Length (when the body has slots), the blank line and
    /// the body.
    pub fn render_rest<'v>(&self, value: impl Fn(usize) -> &'v [u8] + Copy, out: &mut Vec<u8>) {
        if self.length {
            out.extend_from_slice(b"Content-Length: ");
            write_decimal(self.body.len_with(value) as u64, out);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        self.body.render_with(value, out);
    }
}

/// `n` in decimal, without formatting machinery (no allocation).
fn write_decimal(mut n: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::h1::request::{encode, Header, RequestSpec};

    fn spec(target: &str, auth: &str, body: &str) -> Vec<u8> {
        encode(&RequestSpec {
            method: "POST".into(),
            target: target.into(),
            host: "h".into(),
            headers: vec![Header {
                name: "Authorization".into(),
                value: auth.into(),
            }],
            body: body.as_bytes().to_vec(),
            body_type: Some("application/json".into()),
            close: false,
        })
    }

    #[test]
    fn renders_like_an_encoding_of_the_values() {
        let known = ["token", "id"];
        let s = Spliced::compile(
            &spec("/items/{{id}}", "Bearer {{token}}", r#"{"t":"{{token}}"}"#),
            &known,
        )
        .expect("has slots");
        let vals: [&[u8]; 2] = [b"abc\r\nX: 1", b"a b"];
        let mut out = Vec::new();
        let t = s.render_head(|i| vals[i], &mut out);
        assert_eq!(&out[t], b"/items/a%20b");
        s.render_rest(|i| vals[i], &mut out);
        // As encoded with those values, but Content-Length comes last.
        let want = concat!(
            "POST /items/a%20b HTTP/1.1\r\nHost: h\r\nUser-Agent: blast/",
            env!("CARGO_PKG_VERSION"),
            "\r\nAccept: */*\r\nContent-Type: application/json\r\n",
            "Authorization: Bearer abc  X: 1\r\nContent-Length: 17\r\n\r\n",
            "{\"t\":\"abc\r\nX: 1\"}"
        );
        assert_eq!(String::from_utf8_lossy(&out), want);
    }

    #[test]
    fn without_slots_it_stays_encoded() {
        assert!(Spliced::compile(&spec("/a", "x", "{{other}}"), &["token"]).is_none());
        let encoded = spec("/a?q=1", "x", "b");
        let (head, body) = split(&encoded);
        assert_eq!(body, b"b");
        assert!(head.ends_with(b"\r\n") && !head.ends_with(b"\r\n\r\n"));
        assert_eq!(&head[target_of(head)], b"/a?q=1");
        let mut out = Vec::new();
        for n in [0u64, 7, 10, 1234567890] {
            out.clear();
            write_decimal(n, &mut out);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}
