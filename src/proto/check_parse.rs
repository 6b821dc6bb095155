//! Parsing of check expressions, apart from their evaluation: what a check
//! is once parsed (its test, comparisons, status sets, JSON pointers) and
//! one function per subject, each error one line that names the part that
//! is wrong. Nothing here imports the evaluation side.

use regex::bytes::Regex;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Cmp {
    pub(super) fn parse(s: &str) -> Option<Cmp> {
        Some(match s {
            "<" => Cmp::Lt,
            "<=" => Cmp::Le,
            ">" => Cmp::Gt,
            ">=" => Cmp::Ge,
            "==" => Cmp::Eq,
            "!=" => Cmp::Ne,
            _ => return None,
        })
    }

    pub(super) fn holds(self, a: u64, b: u64) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
        }
    }
}

/// A status code (`200`) or a class (`2xx`, held as 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusMatch {
    Code(u16),
    Class(u16),
}

impl StatusMatch {
    pub(super) fn matches(self, status: u16) -> bool {
        match self {
            StatusMatch::Code(c) => status == c,
            StatusMatch::Class(k) => status / 100 == k,
        }
    }
}

/// What a check tests, parsed.
#[derive(Clone, Debug)]
pub(super) enum Test {
    Status(Vec<StatusMatch>),
    /// `contains` (true) or `!contains` (false), as a literal-searching regex.
    Contains(Regex, bool),
    Matches(Regex),
    JsonExists(Pointer),
    /// `==` (true) or `!=` (false).
    JsonEq(Pointer, Value, bool),
    HeaderEq(String, Vec<u8>),
    HeaderContains(String, Vec<u8>),
    Size(Cmp, u64),
}

/// An RFC 6901 pointer, split and unescaped once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pointer(pub(super) Vec<String>);

impl Pointer {
    pub fn parse(s: &str) -> Result<Pointer, String> {
        let Some(rest) = s.strip_prefix('/') else {
            return Err(format!(
                "pointer \"{s}\" must start with \"/\" (RFC 6901, e.g. /predictions/0)"
            ));
        };
        let mut tokens = Vec::new();
        for raw in rest.split('/') {
            let mut t = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c != '~' {
                    t.push(c);
                    continue;
                }
                match chars.next() {
                    Some('0') => t.push('~'),
                    Some('1') => t.push('/'),
                    _ => {
                        return Err(format!(
                            "pointer \"{s}\": \"~\" must be followed by 0 or 1 (RFC 6901)"
                        ))
                    }
                }
            }
            tokens.push(t);
        }
        Ok(Pointer(tokens))
    }

    pub fn find<'v>(&self, doc: &'v Value) -> Option<&'v Value> {
        self.0.iter().try_fold(doc, |v, t| match v {
            Value::Object(o) => o.get(t),
            Value::Array(a) => {
                let leading_zero = t.len() > 1 && t.starts_with('0');
                let digits = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
                if leading_zero || !digits {
                    return None;
                }
                a.get(t.parse::<usize>().ok()?)
            }
            _ => None,
        })
    }
}

/// The first word of `s` and the rest, trimmed.
pub(crate) fn word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    }
}

/// TEXT or a header VALUE: the rest as written, or a JSON string if quoted.
fn text_arg(what: &str, s: &str) -> Result<Vec<u8>, String> {
    if s.is_empty() {
        return Err(format!("{what}: missing text"));
    }
    if s.starts_with('"') {
        let v: String = serde_json::from_str(s)
            .map_err(|_| format!("{what}: {s} is not a valid quoted string"))?;
        return Ok(v.into_bytes());
    }
    Ok(s.as_bytes().to_vec())
}

pub(super) fn parse_status(rest: &str) -> Result<Test, String> {
    let usage = || {
        format!("status: expected \"== CODE\", \"== 2xx\" or \"in CODE,CODE,...\", got \"{rest}\"")
    };
    let (op, arg) = word(rest);
    let items: Vec<&str> = match op {
        "==" if !arg.is_empty() => vec![arg],
        "in" if !arg.is_empty() => arg.split(',').map(str::trim).collect(),
        _ => return Err(usage()),
    };
    let set = items
        .into_iter()
        .map(status_item)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Test::Status(set))
}

fn status_item(s: &str) -> Result<StatusMatch, String> {
    let bad = || format!("status: \"{s}\" is not a status code (100-999) or class (2xx)");
    let b = s.as_bytes();
    if b.len() == 3 && b[1..].eq_ignore_ascii_case(b"xx") && (b'1'..=b'9').contains(&b[0]) {
        return Ok(StatusMatch::Class(u16::from(b[0] - b'0')));
    }
    match s.parse::<u16>() {
        Ok(c) if (100..=999).contains(&c) && b.len() == 3 => Ok(StatusMatch::Code(c)),
        _ => Err(bad()),
    }
}

pub(super) fn parse_body(rest: &str) -> Result<Test, String> {
    let (op, arg) = word(rest);
    match op {
        "contains" | "!contains" => {
            let t = text_arg(&format!("body {op}"), arg)?;
            let lit = regex::escape(&String::from_utf8_lossy(&t));
            let re = Regex::new(&lit).map_err(|e| format!("body {op}: {}", one_line(&e)))?;
            Ok(Test::Contains(re, op == "contains"))
        }
        "matches" => {
            if arg.is_empty() {
                return Err("body matches: missing REGEX".into());
            }
            Regex::new(arg)
                .map(Test::Matches)
                .map_err(|e| format!("body matches: bad regex: {}", one_line(&e)))
        }
        _ => Err(format!(
            "body: unknown operator \"{op}\": expected contains, !contains or matches"
        )),
    }
}

pub(super) fn parse_json(rest: &str) -> Result<Test, String> {
    let (ptr, rest) = word(rest);
    if ptr.is_empty() {
        return Err("json: missing POINTER (e.g. json /predictions/0 exists)".into());
    }
    let p = Pointer::parse(ptr).map_err(|e| format!("json: {e}"))?;
    let (op, arg) = word(rest);
    match op {
        "exists" if arg.is_empty() => Ok(Test::JsonExists(p)),
        "exists" => Err(format!("json {ptr} exists: unexpected \"{arg}\" after it")),
        "==" | "!=" => {
            if arg.is_empty() {
                return Err(format!("json {ptr} {op}: missing VALUE"));
            }
            let v = match serde_json::from_str::<Value>(arg) {
                Ok(v) => v,
                Err(_) if arg.starts_with(['"', '[', '{']) => {
                    return Err(format!("json {ptr} {op}: {arg} is not valid JSON"))
                }
                Err(_) => Value::String(arg.to_string()),
            };
            Ok(Test::JsonEq(p, v, op == "=="))
        }
        _ => Err(format!(
            "json {ptr}: unknown operator \"{op}\": expected exists, == or !="
        )),
    }
}

pub(super) fn parse_header(rest: &str) -> Result<Test, String> {
    let (name, rest) = word(rest);
    if name.is_empty() {
        return Err("header: missing NAME (e.g. header Content-Type contains json)".into());
    }
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(format!("header: \"{name}\" is not a valid header name"));
    }
    let (op, arg) = word(rest);
    let what = format!("header {name} {op}");
    match op {
        "==" => Ok(Test::HeaderEq(name.to_string(), text_arg(&what, arg)?)),
        "contains" => Ok(Test::HeaderContains(
            name.to_string(),
            text_arg(&what, arg)?,
        )),
        _ => Err(format!(
            "header {name}: unknown operator \"{op}\": expected == or contains"
        )),
    }
}

pub(super) fn parse_size(rest: &str) -> Result<Test, String> {
    let (op, arg) = word(rest);
    let cmp = Cmp::parse(op).ok_or_else(|| {
        format!("size: unknown operator \"{op}\": expected <, <=, >, >=, == or !=")
    })?;
    let n = size_amount(arg)
        .ok_or_else(|| format!("size: \"{arg}\" is not a size (e.g. 0, 512B, 10KB, 1MiB)"))?;
    Ok(Test::Size(cmp, n))
}

/// `0`, `512B`, `1.5KB`, `1MiB`: bytes, decimal or binary units.
pub(crate) fn size_amount(s: &str) -> Option<u64> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = n * mult;
    (bytes.is_finite() && bytes < 1e18).then_some(bytes.round() as u64)
}

/// regex's syntax errors span lines (the pattern, a caret, the message):
/// keep the message.
pub(crate) fn one_line(e: &regex::Error) -> String {
    let s = e.to_string();
    let last = s.lines().last().unwrap_or("").trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}
