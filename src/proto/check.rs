//! Response checks (`--check`, a scenario's `checks = [...]`): what a user
//! means by "this answer is right", judged per response after it is parsed.
//!
//! The syntax is a contract with scripts (issue 17 §1), one check per string:
//! `status == 200`, `status == 2xx`, `status in 200,201,3xx`; `body contains
//! TEXT`, `body !contains TEXT`, `body matches REGEX`; `json POINTER exists`,
//! `json POINTER == VALUE`, `json POINTER != VALUE`; `header NAME == VALUE`,
//! `header NAME contains TEXT`; `size OP AMOUNT` with OP one of `< <= > >=
//! == !=`. TEXT, VALUE and REGEX are the rest of the expression, trimmed; a
//! TEXT or header VALUE in double quotes is read as a JSON string, so spaces
//! at its ends and escapes can be written. A json VALUE is a JSON literal
//! (`42`, `true`, `null`, `"x"`, `[1]`); anything else is taken as a string,
//! so `json /label == cat` compares with `"cat"`. Numbers compare by value
//! (`1` equals `1.0`). A pointer is RFC 6901 (`/a~1b/0` is key `a/b`, index 0)
//! and cannot contain a space. Size units: `B`, decimal `KB MB GB` (1000) and
//! binary `KiB MiB GiB` (1024), case-insensitive, as disk and network sizes
//! are written; a bare number is bytes.
//!
//! Semantics a user cannot guess from the syntax, decided here: a json check
//! on a body that is not JSON fails, `!=` included (a JSON API that answered
//! something else answered wrongly); `!=` passes when the pointer finds
//! nothing; a header check reads the first header of that name (names are
//! case-insensitive, values are not). Parsing is done once, at load: a bad
//! expression is a one-line error for the caller to prefix with the flag or
//! file. Evaluation allocates only to parse a JSON body, at most once per
//! response however many json checks a set has ([`Checks`]).

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::cell::OnceCell;

/// Header lookup over whatever a protocol parser keeps, without copying:
/// the first value of `name`, compared case-insensitively.
pub trait Headers {
    fn get(&self, name: &str) -> Option<&[u8]>;
}

impl Headers for &[(&str, &[u8])] {
    fn get(&self, name: &str) -> Option<&[u8]> {
        let (_, v) = self.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))?;
        Some(v)
    }
}

impl Headers for &[httparse::Header<'_>] {
    fn get(&self, name: &str) -> Option<&[u8]> {
        let h = self.iter().find(|h| h.name.eq_ignore_ascii_case(name))?;
        Some(h.value)
    }
}

impl Headers for http::HeaderMap {
    fn get(&self, name: &str) -> Option<&[u8]> {
        http::HeaderMap::get(self, name).map(|v| v.as_bytes())
    }
}

/// A response with no headers kept (status and body checks only).
pub const NO_HEADERS: &[(&str, &[u8])] = &[];

/// One response as the checks see it, borrowed from the connection's buffers.
pub struct Response<'a> {
    pub status: u16,
    pub headers: &'a dyn Headers,
    /// The body as kept (empty when no check needs it), for SSE the
    /// concatenated `data:` payloads.
    pub body: &'a [u8],
    /// The body's full length, known even when it was not kept.
    pub body_len: u64,
}

impl<'a> Response<'a> {
    pub fn new(status: u16, headers: &'a dyn Headers, body: &'a [u8]) -> Response<'a> {
        Response {
            status,
            headers,
            body,
            body_len: body.len() as u64,
        }
    }
}

/// The body's JSON, parsed on first use and then shared by every check and
/// capture of the response. `None` inside: not JSON.
pub struct LazyJson<'a> {
    body: &'a [u8],
    doc: OnceCell<Option<Value>>,
}

impl<'a> LazyJson<'a> {
    pub fn new(body: &'a [u8]) -> LazyJson<'a> {
        LazyJson {
            body,
            doc: OnceCell::new(),
        }
    }

    pub fn get(&self) -> Option<&Value> {
        self.doc
            .get_or_init(|| serde_json::from_slice(self.body).ok())
            .as_ref()
    }
}

/// One check: its test and its source text, which is how reports name it.
#[derive(Clone, Debug)]
pub struct Check {
    text: String,
    test: Test,
}

impl Check {
    /// Parse one expression; the error is one line naming what is wrong.
    pub fn parse(expr: &str) -> Result<Check, String> {
        let text = expr.trim();
        let (subject, rest) = word(text);
        let test = match subject {
            "status" => parse_status(rest)?,
            "body" => parse_body(rest)?,
            "json" => parse_json(rest)?,
            "header" => parse_header(rest)?,
            "size" => parse_size(rest)?,
            "" => return Err("empty check: expected status, body, json, header or size".into()),
            s => {
                return Err(format!(
                    "unknown check subject \"{s}\": expected status, body, json, header or size"
                ))
            }
        };
        Ok(Check {
            text: text.to_string(),
            test,
        })
    }

    /// The expression as written (trimmed): the check's name in reports.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the body's bytes must be kept (`size` needs only its length).
    pub fn needs_body(&self) -> bool {
        matches!(
            self.test,
            Test::Contains(..) | Test::Matches(_) | Test::JsonExists(_) | Test::JsonEq(..)
        )
    }

    /// Whether the response's headers must be kept.
    pub fn needs_headers(&self) -> bool {
        matches!(self.test, Test::HeaderEq(..) | Test::HeaderContains(..))
    }

    pub fn is_status(&self) -> bool {
        matches!(self.test, Test::Status(_))
    }

    pub fn eval(&self, r: &Response<'_>) -> bool {
        self.eval_with(r, &LazyJson::new(r.body))
    }

    /// `eval` with the body's JSON shared among several checks.
    pub fn eval_with(&self, r: &Response<'_>, json: &LazyJson<'_>) -> bool {
        match &self.test {
            Test::Status(set) => set.iter().any(|m| m.matches(r.status)),
            Test::Contains(re, want) => re.is_match(r.body) == *want,
            Test::Matches(re) => re.is_match(r.body),
            // Walked without building the document: no allocation.
            Test::JsonExists(p) => exists_in(&p.0, r.body),
            Test::JsonEq(p, v, eq) => match json.get() {
                None => false,
                Some(d) => p.find(d).is_some_and(|x| json_eq(x, v)) == *eq,
            },
            Test::HeaderEq(n, v) => r.headers.get(n) == Some(v.as_slice()),
            Test::HeaderContains(n, t) => r
                .headers
                .get(n)
                .is_some_and(|h| t.is_empty() || h.windows(t.len()).any(|w| w == t)),
            Test::Size(cmp, n) => cmp.holds(r.body_len, *n),
        }
    }
}

/// The checks that apply to one request, in order.
#[derive(Clone, Debug, Default)]
pub struct Checks {
    list: Vec<Check>,
}

impl Checks {
    pub fn new(list: Vec<Check>) -> Checks {
        Checks { list }
    }

    /// Parse every expression; the error names the first bad one.
    pub fn parse<S: AsRef<str>>(exprs: &[S]) -> Result<Checks, String> {
        let list = exprs
            .iter()
            .map(|e| Check::parse(e.as_ref()).map_err(|m| format!("\"{}\": {m}", e.as_ref())))
            .collect::<Result<_, _>>()?;
        Ok(Checks { list })
    }

    pub fn list(&self) -> &[Check] {
        &self.list
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn needs_body(&self) -> bool {
        self.list.iter().any(Check::needs_body)
    }

    pub fn needs_headers(&self) -> bool {
        self.list.iter().any(Check::needs_headers)
    }

    pub fn has_status(&self) -> bool {
        self.list.iter().any(Check::is_status)
    }

    /// The status rule: the set's status checks, all of them, when it has
    /// any; otherwise blast's default, 2xx and 3xx succeed.
    pub fn status_ok(&self, status: u16) -> bool {
        if self.has_status() {
            let r = Response::new(status, &NO_HEADERS, &[]);
            self.list
                .iter()
                .filter(|c| c.is_status())
                .all(|c| c.eval(&r))
        } else {
            (200..400).contains(&status)
        }
    }

    /// Every check in order, stopping at the first that fails (its index).
    pub fn eval_all(&self, r: &Response<'_>) -> Result<(), usize> {
        let json = LazyJson::new(r.body);
        match self.list.iter().position(|c| !c.eval_with(r, &json)) {
            Some(i) => Err(i),
            None => Ok(()),
        }
    }

    /// Every check, each outcome told to `each(index, passed)` (for the
    /// per-check counts of the report); Err: the first that failed.
    pub fn eval_each(
        &self,
        r: &Response<'_>,
        mut each: impl FnMut(usize, bool),
    ) -> Result<(), usize> {
        let json = LazyJson::new(r.body);
        let mut first = None;
        for (i, c) in self.list.iter().enumerate() {
            let ok = c.eval_with(r, &json);
            each(i, ok);
            if !ok && first.is_none() {
                first = Some(i);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// The whole verdict on one response, as the engine counts it.
    pub fn judge(&self, r: &Response<'_>) -> Verdict {
        if !self.has_status() && !self.status_ok(r.status) {
            return Verdict::Status;
        }
        match self.eval_all(r) {
            Ok(()) => Verdict::Pass,
            Err(i) => Verdict::Check(i),
        }
    }
}

/// What one response counts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// The default rule refused the status: today's `status` error.
    Status,
    /// This check (its index in the set) failed: the `check` error.
    Check(usize),
}

/// An SSE event's data that reports an error in a stream that began with a
/// 200: a JSON object with a top-level `error` key. Returns the message (the
/// string, or the object's `message`, or the value's JSON text).
pub fn sse_error(event: &[u8]) -> Option<String> {
    // Token events outnumber everything: skip the parse unless it could match.
    if !event.windows(7).any(|w| w == b"\"error\"") {
        return None;
    }
    // serde reads a derived struct from an array too; an event is an object.
    if event.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Event {
        error: Option<Value>,
    }
    let e: Event = serde_json::from_slice(event).ok()?;
    Some(match e.error? {
        Value::String(s) => s,
        Value::Object(o) => match o.get("message") {
            Some(Value::String(m)) => m.clone(),
            _ => Value::Object(o).to_string(),
        },
        v => v.to_string(),
    })
}

/// Whether the RFC 6901 pointer `path` finds a value in the JSON `body`
/// (false when the body is not JSON). The body is walked with serde and
/// skipped where the pointer does not lead, so nothing is allocated (a key
/// written with escapes is unescaped into serde_json's scratch buffer).
pub fn exists_in(path: &[String], body: &[u8]) -> bool {
    let mut de = serde_json::Deserializer::from_slice(body);
    match Walk(path).deserialize(&mut de) {
        Ok(found) => de.end().is_ok() && found,
        Err(_) => false,
    }
}

/// The pointer's tokens still to follow.
struct Walk<'p>(&'p [String]);

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        if self.0.is_empty() {
            IgnoredAny::deserialize(d)?;
            return Ok(true);
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<bool, A::Error> {
        let (head, rest) = (&self.0[0], &self.0[1..]);
        let mut found = false;
        while let Some(hit) = m.next_key_seed(KeyIs(head))? {
            if hit && !found {
                found = m.next_value_seed(Walk(rest))?;
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<bool, A::Error> {
        let (head, rest) = (&self.0[0], &self.0[1..]);
        let digits = !head.is_empty() && head.bytes().all(|b| b.is_ascii_digit());
        let leading_zero = head.len() > 1 && head.starts_with('0');
        let want = match head.parse::<usize>() {
            Ok(i) if digits && !leading_zero => Some(i),
            _ => None,
        };
        let mut found = false;
        let mut i = 0;
        loop {
            let more = if want == Some(i) {
                s.next_element_seed(Walk(rest))?.map(|f| found = f)
            } else {
                s.next_element::<IgnoredAny>()?.map(drop)
            };
            if more.is_none() {
                return Ok(found);
            }
            i += 1;
        }
    }
}

/// A map key, compared with the pointer's token as it is read.
struct KeyIs<'p>(&'p str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, k: &str) -> Result<bool, E> {
        Ok(k == self.0)
    }
}

/// JSON equality with numbers compared by value (`1 == 1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, a)| y.get(k).is_some_and(|b| json_eq(a, b)))
        }
        _ => a == b,
    }
}

#[path = "check_parse.rs"]
mod parse;
pub(crate) use parse::{one_line, size_amount, word};
use parse::{parse_body, parse_header, parse_json, parse_size, parse_status, Test};
pub use parse::{Cmp, Pointer, StatusMatch};

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
