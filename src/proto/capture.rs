//! Captured values (a sequence step's `capture = { token = "json
//! /access_token" }`) and the templates that splice them into later steps.
//!
//! A capture is parsed once, at load: `json POINTER` (a string value
//! unquoted; a number, boolean, array or object as its JSON text; `null` or
//! a missing value is not found), `header NAME` (the first header of that
//! name), `regex PATTERN` (the first group of the first match: a pattern
//! without a group is refused at load, since it could capture nothing).
//!
//! A step that uses captured values cannot be encoded once like the others,
//! so it is compiled once into fixed segments and slots ([`Template`]) and
//! rendered per request into a buffer the connection owns and reuses: once
//! that buffer has held the largest request, rendering never allocates. A
//! `{{name}}` that names no capture stays as written, as data placeholders do
//! without a data file, so a body that merely holds braces is sent unchanged.

use super::check::{one_line, LazyJson, Pointer, Response};
use regex::bytes::Regex;
use serde_json::Value;
use std::borrow::Cow;

#[derive(Clone, Debug)]
enum Source {
    Json(Pointer),
    Header(String),
    Regex(Regex),
}

/// One named capture: where its value comes from, and its text for messages.
#[derive(Clone, Debug)]
pub struct Capture {
    name: String,
    text: String,
    from: Source,
}

impl Capture {
    /// `name` as the scenario's key, `expr` as its value; the error is one
    /// line that names the capture.
    pub fn parse(name: &str, expr: &str) -> Result<Capture, String> {
        if !valid_name(name) {
            return Err(format!(
                "capture \"{name}\": a name is letters, digits, '_', '-' or '.'"
            ));
        }
        let text = expr.trim();
        let (kind, arg) = super::check::word(text);
        let bad = |m: String| format!("capture {name}: {m}");
        let from = match kind {
            "json" => {
                if arg.is_empty() || arg.contains(char::is_whitespace) {
                    return Err(bad(
                        "expected \"json POINTER\", e.g. json /access_token".into()
                    ));
                }
                Source::Json(Pointer::parse(arg).map_err(|e| bad(format!("json: {e}")))?)
            }
            "header" => {
                if arg.is_empty() || http::HeaderName::from_bytes(arg.as_bytes()).is_err() {
                    return Err(bad(format!(
                        "header: \"{arg}\" is not a header name (e.g. header Location)"
                    )));
                }
                Source::Header(arg.to_string())
            }
            "regex" => {
                let re = Regex::new(arg)
                    .map_err(|e| bad(format!("regex: bad pattern: {}", one_line(&e))))?;
                if arg.is_empty() || re.captures_len() < 2 {
                    return Err(bad(format!(
                        "regex \"{arg}\" has no group: put the value to capture in (...)"
                    )));
                }
                Source::Regex(re)
            }
            k => {
                return Err(bad(format!(
                    "unknown source \"{k}\": expected json POINTER, header NAME or regex PATTERN"
                )))
            }
        };
        Ok(Capture {
            name: name.to_string(),
            text: text.to_string(),
            from,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The expression as written, e.g. `json /access_token`.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn needs_body(&self) -> bool {
        !matches!(self.from, Source::Header(_))
    }

    pub fn needs_headers(&self) -> bool {
        matches!(self.from, Source::Header(_))
    }

    /// The `check` failure's detail when nothing was found.
    pub fn not_found(&self) -> String {
        format!("capture {}: {} not found", self.name, self.text)
    }

    pub fn extract<'r>(&self, r: &Response<'r>) -> Option<Cow<'r, str>> {
        self.extract_with(r, &LazyJson::new(r.body))
    }

    /// `extract` with the body's JSON shared with the step's other captures
    /// and checks.
    pub fn extract_with<'r>(&self, r: &Response<'r>, json: &LazyJson<'_>) -> Option<Cow<'r, str>> {
        match &self.from {
            Source::Json(p) => match p.find(json.get()?)? {
                Value::Null => None,
                Value::String(s) => Some(Cow::Owned(s.clone())),
                v => Some(Cow::Owned(v.to_string())),
            },
            Source::Header(n) => r.headers.get(n).map(String::from_utf8_lossy),
            Source::Regex(re) => {
                let body: &'r [u8] = r.body;
                let g = re.captures(body)?.get(1)?;
                Some(String::from_utf8_lossy(&body[g.range()]))
            }
        }
    }
}

/// Capture names become `{{name}}` placeholders: keep them plain.
fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// How a spliced value is written where it lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// A body: as captured.
    Raw,
    /// A path or query: bytes that cannot appear there as written (space,
    /// controls, non-ASCII, `#`) percent-encoded, and the rest as captured,
    /// since a capture is often a path of its own (a `Location`). Data
    /// columns, which are values, are encoded as one segment or query
    /// component instead (`config::data`).
    Url,
    /// A header value: control bytes (CR and LF above all, which would end
    /// the header) become spaces.
    Header,
}

impl Escape {
    fn len(self, v: &[u8]) -> usize {
        match self {
            Escape::Url => v.iter().map(|&b| if url_safe(b) { 1 } else { 3 }).sum(),
            Escape::Raw | Escape::Header => v.len(),
        }
    }

    fn write(self, v: &[u8], out: &mut Vec<u8>) {
        match self {
            Escape::Raw => out.extend_from_slice(v),
            Escape::Url => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                for &b in v {
                    if url_safe(b) {
                        out.push(b);
                    } else {
                        out.extend_from_slice(&[
                            b'%',
                            HEX[usize::from(b >> 4)],
                            HEX[usize::from(b & 15)],
                        ]);
                    }
                }
            }
            Escape::Header => out.extend(v.iter().map(|&b| {
                if (b < b' ' && b != b'\t') || b == 0x7f {
                    b' '
                } else {
                    b
                }
            })),
        }
    }
}

fn url_safe(b: u8) -> bool {
    b > b' ' && b < 0x7f && b != b'#'
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    /// `fixed[start..end]`.
    Fixed(usize, usize),
    /// The value at this index of the known names.
    Slot(usize),
}

/// A path, header value or body with `{{name}}` splice points, compiled once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    fixed: Vec<u8>,
    parts: Vec<Part>,
    escape: Escape,
}

impl Template {
    /// Split `text` at each `{{name}}` (spaces inside allowed) whose name is
    /// in `known`; a slot holds that name's index in `known`, which is the
    /// index of its value in `render_into`.
    pub fn compile(text: &[u8], known: &[&str], escape: Escape) -> Template {
        let mut parts = Vec::new();
        let mut fixed = Vec::with_capacity(text.len());
        let mut start = 0;
        let mut i = 0;
        while i < text.len() {
            if text[i..].starts_with(b"{{") {
                if let Some((slot, len)) = placeholder(&text[i..])
                    .and_then(|(n, len)| Some((known.iter().position(|k| *k == n)?, len)))
                {
                    if fixed.len() > start {
                        parts.push(Part::Fixed(start, fixed.len()));
                    }
                    parts.push(Part::Slot(slot));
                    start = fixed.len();
                    i += len;
                    continue;
                }
            }
            fixed.push(text[i]);
            i += 1;
        }
        if fixed.len() > start {
            parts.push(Part::Fixed(start, fixed.len()));
        }
        Template {
            fixed,
            parts,
            escape,
        }
    }

    /// Whether no value is spliced in: the step can stay pre-encoded.
    pub fn is_fixed(&self) -> bool {
        !self.parts.iter().any(|p| matches!(p, Part::Slot(_)))
    }

    /// The indices (into `known`) of the values this template uses.
    pub fn slots(&self) -> impl Iterator<Item = usize> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Slot(s) => Some(*s),
            Part::Fixed(..) => None,
        })
    }

    /// The rendered length, escapes included (a body's Content-Length).
    pub fn len(&self, values: &[&[u8]]) -> usize {
        self.len_with(|s| values[s])
    }

    /// `len` with the values looked up by slot (a lane's own store).
    pub fn len_with<'v>(&self, value: impl Fn(usize) -> &'v [u8]) -> usize {
        self.parts
            .iter()
            .map(|p| match *p {
                Part::Fixed(a, b) => b - a,
                Part::Slot(s) => self.escape.len(value(s)),
            })
            .sum()
    }

    /// Append the text with each slot filled from `values` (indexed as
    /// `known` was). Allocates only when `out` lacks the capacity.
    pub fn render_into(&self, values: &[&[u8]], out: &mut Vec<u8>) {
        self.render_with(|s| values[s], out)
    }

    /// `render_into` with the values looked up by slot, so a lane renders
    /// from the buffers it keeps without building a slice of them.
    pub fn render_with<'v>(&self, value: impl Fn(usize) -> &'v [u8], out: &mut Vec<u8>) {
        for p in &self.parts {
            match *p {
                Part::Fixed(a, b) => out.extend_from_slice(&self.fixed[a..b]),
                Part::Slot(s) => self.escape.write(value(s), out),
            }
        }
    }
}

/// `{{ name }}` at the start of `s`: the trimmed name and the length taken.
/// `config::data` reads its `{{column}}` placeholders with this too, so
/// captures and data columns are written alike.
pub(crate) fn placeholder(s: &[u8]) -> Option<(&str, usize)> {
    let end = s[2..].windows(2).take(200).position(|w| w == b"}}")? + 2;
    let inner = std::str::from_utf8(&s[2..end]).ok()?;
    let name = inner.trim();
    let ok = !name.is_empty() && !name.contains(['{', '}', '\n', '\r', '"']);
    ok.then_some((name, end + 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::check::NO_HEADERS;

    fn cap(name: &str, e: &str) -> Capture {
        Capture::parse(name, e).unwrap_or_else(|m| panic!("{e}: {m}"))
    }

    fn err(name: &str, e: &str) -> String {
        let m = Capture::parse(name, e).unwrap_err();
        assert!(!m.contains('\n'), "{m}");
        m
    }

    #[test]
    fn json_values_unquoted_or_as_json_text() {
        let b = br#"{"access_token":"abc\"d","n":42,"f":1.5,"ok":true,"nil":null,"o":{"a":[1]},"a/b":"x"}"#;
        let r = Response::new(200, &NO_HEADERS, b);
        let get = |e: &str| cap("v", e).extract(&r).map(Cow::into_owned);
        assert_eq!(get("json /access_token").as_deref(), Some("abc\"d"));
        assert_eq!(get("json /n").as_deref(), Some("42"));
        assert_eq!(get("json /f").as_deref(), Some("1.5"));
        assert_eq!(get("json /ok").as_deref(), Some("true"));
        assert_eq!(get("json /o").as_deref(), Some(r#"{"a":[1]}"#));
        assert_eq!(get("json /o/a/0").as_deref(), Some("1"));
        assert_eq!(get("json /a~1b").as_deref(), Some("x"));
        assert_eq!(get("json /nil"), None);
        assert_eq!(get("json /missing"), None);
        let not_json = Response::new(200, &NO_HEADERS, b"<html>");
        assert_eq!(cap("v", "json /a").extract(&not_json), None);
        assert!(cap("v", "json /a").needs_body());
    }

    #[test]
    fn header_and_regex_borrow_from_the_response() {
        let pairs: &[(&str, &[u8])] = &[("location", b"/next/7")];
        let body = br#"<input name="csrf" value="t0k3n"> <input name="csrf" value="second">"#;
        let r = Response::new(200, &pairs, body);
        let next = cap("next", "header Location");
        assert!(next.needs_headers() && !next.needs_body());
        assert!(matches!(next.extract(&r), Some(Cow::Borrowed("/next/7"))));
        let csrf = cap("csrf", r#"regex name="csrf" value="([^"]+)""#);
        assert!(matches!(csrf.extract(&r), Some(Cow::Borrowed("t0k3n"))));
        assert_eq!(cap("x", "header X-None").extract(&r), None);
        assert_eq!(cap("x", "regex nomatch(.)").extract(&r), None);
        // An optional group that did not take part finds nothing.
        assert_eq!(cap("x", "regex t0k(X)?3n").extract(&r), None);
    }

    #[test]
    fn not_found_message_names_the_capture() {
        let c = cap("token", "  json /access_token ");
        assert_eq!(c.text(), "json /access_token");
        assert_eq!(c.name(), "token");
        assert_eq!(c.not_found(), "capture token: json /access_token not found");
    }

    #[test]
    fn errors_name_the_capture() {
        for (name, e, needle) in [
            ("t", "regex abc", "capture t: regex \"abc\" has no group"),
            ("t", "regex (?:abc)", "has no group"),
            ("t", "regex", "has no group"),
            (
                "t",
                "regex (abc",
                "capture t: regex: bad pattern: unclosed group",
            ),
            ("t", "json access_token", "must start with \"/\""),
            ("t", "json", "expected \"json POINTER\""),
            ("t", "json /a b", "expected \"json POINTER\""),
            ("t", "json /a~2", "followed by 0 or 1"),
            (
                "t",
                "header",
                "capture t: header: \"\" is not a header name",
            ),
            ("t", "header Bad:Name", "is not a header name"),
            ("t", "cookie sid", "unknown source \"cookie\""),
            ("", "json /a", "capture \"\": a name is"),
            ("a b", "json /a", "capture \"a b\": a name is"),
            ("{x}", "json /a", "a name is"),
        ] {
            let m = err(name, e);
            assert!(m.contains(needle), "{e}: {m}");
        }
    }

    #[test]
    fn template_segments_and_slots() {
        let known = ["token", "id"];
        let t = Template::compile(
            br#"{"t":"{{token}}","id":{{ id }},"x":"{{other}}","y":"{{"}"#,
            &known,
            Escape::Raw,
        );
        assert!(!t.is_fixed());
        assert_eq!(t.slots().collect::<Vec<_>>(), vec![0, 1]);
        let vals: [&[u8]; 2] = [b"abc", b"7"];
        let mut out = Vec::new();
        t.render_into(&vals, &mut out);
        let want = br#"{"t":"abc","id":7,"x":"{{other}}","y":"{{"}"#;
        assert_eq!(out, want, "{}", String::from_utf8_lossy(&out));
        assert_eq!(t.len(&vals), want.len());
        // Adjacent slots, a slot at each end, the same slot twice.
        let t = Template::compile(b"{{id}}{{token}}-{{id}}", &known, Escape::Raw);
        out.clear();
        t.render_into(&vals, &mut out);
        assert_eq!(out, b"7abc-7");
        let t = Template::compile(b"/plain", &known, Escape::Raw);
        assert!(t.is_fixed());
        out.clear();
        t.render_into(&vals, &mut out);
        assert_eq!(out, b"/plain");
        assert!(Template::compile(b"", &known, Escape::Raw).is_fixed());
    }

    #[test]
    fn template_escapes_paths_and_headers() {
        let known = ["v"];
        let vals: [&[u8]; 1] = [b"a b#c/\xc3\xa9"];
        let t = Template::compile(b"/u/{{v}}?q=1", &known, Escape::Url);
        let mut out = Vec::new();
        t.render_into(&vals, &mut out);
        assert_eq!(out, b"/u/a%20b%23c/%C3%A9?q=1");
        assert_eq!(t.len(&vals), out.len());
        let vals: [&[u8]; 1] = [b"x\r\nEvil: 1\tz\x00"];
        let t = Template::compile(b"Bearer {{v}}", &known, Escape::Header);
        out.clear();
        t.render_into(&vals, &mut out);
        assert_eq!(out, b"Bearer x  Evil: 1\tz ");
    }

    #[test]
    fn steady_state_render_does_not_reallocate() {
        let known = ["token", "id"];
        let t = Template::compile(
            b"GET /items/{{id}} HTTP/1.1\r\nAuthorization: Bearer {{token}}\r\n\r\n",
            &known,
            Escape::Raw,
        );
        let tokens: Vec<String> = (0..1000).map(|i| format!("tok-{i:08}")).collect();
        let ids: Vec<String> = (0..1000)
            .map(|i| (i * 7919 % 100_000).to_string())
            .collect();
        let mut out = Vec::new();
        // The first render sizes the buffer, as a lane's first request does.
        let longest: [&[u8]; 2] = [tokens[999].as_bytes(), b"99999"];
        out.reserve(t.len(&longest));
        let (ptr, cap) = (out.as_ptr(), out.capacity());
        for (tok, id) in tokens.iter().zip(&ids) {
            out.clear();
            let vals: [&[u8]; 2] = [tok.as_bytes(), id.as_bytes()];
            t.render_into(&vals, &mut out);
            assert_eq!(out.len(), t.len(&vals));
            assert_eq!((out.as_ptr(), out.capacity()), (ptr, cap), "reallocated");
        }
        assert!(out.ends_with(b"Bearer tok-00000999\r\n\r\n"));
    }
}
