//! The fields a call may give, the flag each sets, and how its JSON value
//! becomes that flag's value (checked for type and range on the way).

use super::refusal::Refusal;
use serde_json::Value;

/// Which call a body is for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Run,
    Find,
}

/// One field the caller gave: its name as given and the flag it set.
pub(crate) struct Used {
    pub(crate) name: String,
    pub(crate) flag: &'static str,
}

/// The largest `body` a caller may send (the request blast sends, not the
/// API call's own body); `scenario`, `prompt` and each `form` field too.
pub const MAX_BODY_FIELD: usize = 1 << 20;

/// The largest value of any other string field (`url`, each header, `slo`,
/// ...): the URL and names are copied into every report row, so one call
/// with a 4 MB URL left a 30 MB run folder.
pub const MAX_FIELD: usize = 8 << 10;

/// At most `max` bytes of `s`, or a refusal naming `name`.
fn sized(name: &str, s: &str, max: usize) -> Result<String, Refusal> {
    if s.len() <= max {
        return Ok(s.to_string());
    }
    let shown = if max == MAX_BODY_FIELD {
        "1 MiB"
    } else {
        "8 KiB"
    };
    Err(Refusal::bad(
        name,
        format!("'{name}' is {} bytes: at most {shown} ({max})", s.len()),
    ))
}

/// How long a value of field `name` may be.
fn max_of(name: &str) -> usize {
    match name {
        "body" | "scenario" | "prompt" | "form" => MAX_BODY_FIELD,
        _ => MAX_FIELD,
    }
}

/// How a field's JSON value becomes a flag's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Url,
    /// Seconds as a number (> 0), or blast's syntax as a string ("500ms").
    Seconds,
    /// Like `Seconds`, and 0 is allowed (warm-up, ramp-up).
    SecondsOrZero,
    /// A whole number >= 1, or a string ("10k").
    Count,
    /// A whole number >= 0.
    Whole,
    /// A number > 0, or a string ("2.5k").
    Rate,
    Text,
    /// true sets the flag, false leaves it out.
    Flag,
    /// A string or an array of strings: the flag repeated.
    List,
    /// Like `List`, or an object {"Name": "value"}.
    Headers,
}

/// The fields `POST /benchmark` takes: (name, long flag, kind). The seed
/// service's names come first; the others are `blast`'s long flag names.
const FIELDS: &[(&str, &str, Kind)] = &[
    ("url", "", Kind::Url),
    ("qps", "rate", Kind::Rate),
    ("duration", "duration", Kind::Seconds),
    ("num_workers", "connections", Kind::Count),
    ("timeout", "timeout", Kind::Seconds),
    ("connections", "connections", Kind::Count),
    ("threads", "threads", Kind::Count),
    ("requests", "requests", Kind::Count),
    ("rate", "rate", Kind::Rate),
    ("arrival", "arrival", Kind::Text),
    ("burstiness", "burstiness", Kind::Rate),
    ("seed", "seed", Kind::Whole),
    ("ramp-up", "ramp-up", Kind::SecondsOrZero),
    ("warmup", "warmup", Kind::SecondsOrZero),
    ("header", "header", Kind::Headers),
    ("headers", "header", Kind::Headers),
    ("method", "method", Kind::Text),
    ("http2", "http2", Kind::Flag),
    ("streams", "streams", Kind::Count),
    ("body", "body", Kind::Text),
    // A scenario's TOML text (not a file): it may name no file.
    ("scenario", "scenario-text", Kind::Text),
    ("form", "form", Kind::List),
    ("openai", "openai", Kind::Text),
    ("prompt", "prompt", Kind::Text),
    ("max-tokens", "max-tokens", Kind::Count),
    ("connect-timeout", "connect-timeout", Kind::Seconds),
    ("slo", "slo", Kind::Text),
    ("check", "check", Kind::List),
    ("checks", "check", Kind::List),
    ("max-body", "max-body", Kind::Text),
    ("engine", "engine", Kind::Text),
    ("no-keepalive", "no-keepalive", Kind::Flag),
    ("stream", "stream", Kind::Flag),
    ("insecure", "insecure", Kind::Flag),
    ("tls-resume", "tls-resume", Kind::Text),
    ("latency", "latency", Kind::Flag),
];

/// `POST /find`'s own fields: the search's flags.
const FIND_FIELDS: &[(&str, &str, Kind)] = &[
    ("start", "start", Kind::Rate),
    ("max", "max", Kind::Rate),
    ("step-duration", "step-duration", Kind::Seconds),
    ("precision", "precision", Kind::Rate),
];

/// Run flags that `blast find` chooses itself.
const SEARCH_CHOOSES: &[&str] = &[
    "rate",
    "duration",
    "requests",
    "arrival",
    "burstiness",
    "seed",
    "ramp-up",
    "warmup",
];

/// The flag and kind of field `name` (as the caller wrote it), or why not.
pub fn lookup(name: &str, mode: Mode) -> Result<(&'static str, Kind), Refusal> {
    let key = if name == "num_workers" {
        name.to_string()
    } else {
        name.replace('_', "-")
    };
    if let Some((_, why)) = REFUSED.iter().find(|(k, _)| *k == key) {
        return Err(Refusal::bad(
            name,
            format!("'{name}' is not available over the API: {why}"),
        ));
    }
    let find_only = FIND_FIELDS.iter().find(|(k, _, _)| *k == key);
    let found = match mode {
        Mode::Run => FIELDS.iter().find(|(k, _, _)| *k == key),
        Mode::Find => find_only.or_else(|| FIELDS.iter().find(|(k, _, _)| *k == key)),
    };
    match found {
        Some(&(_, flag, _)) if mode == Mode::Find && SEARCH_CHOOSES.contains(&flag) => {
            Err(Refusal::bad(
                name,
                format!(
                    "'{name}' is not a find option: the search chooses the rate and the \
                     steps' length (give start, max, step_duration, precision)"
                ),
            ))
        }
        Some(&(_, flag, kind)) => Ok((flag, kind)),
        None if find_only.is_some() => Err(Refusal::bad(
            name,
            format!("'{name}' is an option of POST /find, not of a run"),
        )),
        None => Err(Refusal::bad(name, format!("unknown field '{name}'"))),
    }
}

/// CLI flags a caller may not set, and why.
const REFUSED: &[(&str, &str)] = &[
    (
        "csv",
        "the service keeps the CSV itself: GET /benchmarks/{id}/stats.csv",
    ),
    (
        "html",
        "the service keeps the HTML report itself: GET /benchmarks/{id}/report.html",
    ),
    (
        "hlog",
        "the service keeps the interval log itself: GET /benchmarks/{id}/run.hlog",
    ),
    ("json", "the answer is always JSON"),
    ("quiet", "the service shows no progress line"),
    (
        "body-file",
        "it reads a file on the load box: send the body itself as \"body\"",
    ),
    ("dataset", "it reads a file on the load box"),
    (
        "prompts",
        "it reads a file on the load box: send \"prompt\"",
    ),
    ("cacert", "it reads a file on the load box"),
    ("cert", "it reads a file on the load box"),
    ("key", "it reads a file on the load box"),
    ("source", "it binds the load box's local addresses"),
    (
        "start-at",
        "it would hold the one run slot until then: call when the run should start",
    ),
    ("metrics-listen", "the service serves every run at GET /metrics"),
    ("metrics-token", "the service serves every run at GET /metrics"),
    ("metrics-linger", "the service serves every run at GET /metrics"),
    (
        "prometheus-remote-write",
        "it would make the service send to an address of the caller's choosing: scrape GET /metrics",
    ),
    (
        "prometheus-header",
        "it would make the service send to an address of the caller's choosing: scrape GET /metrics",
    ),
];

/// A field's value as the flag values it stands for.
pub fn values_of(name: &str, kind: Kind, v: &Value) -> Result<Vec<String>, Refusal> {
    let wrong =
        |what: &str| Refusal::bad(name, format!("'{name}' must be {what}, not {}", type_of(v)));
    let one = |s: String| Ok(vec![s]);
    match (kind, v) {
        (Kind::Url, Value::String(s)) if s.trim().is_empty() => {
            Err(Refusal::bad(name, "'url' is empty"))
        }
        (Kind::Url | Kind::Text, Value::String(s)) => sized(name, s, max_of(name)).map(|s| vec![s]),
        (Kind::Url | Kind::Text, _) => Err(wrong("a string")),
        (Kind::Flag, Value::Bool(true)) => one(String::new()),
        (Kind::Flag, Value::Bool(false)) => Ok(Vec::new()),
        (Kind::Flag, _) => Err(wrong("true or false")),
        (Kind::List | Kind::Headers, Value::String(s)) => list_item(name, s).map(|s| vec![s]),
        (Kind::List | Kind::Headers, Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => list_item(name, s),
                _ => Err(wrong("a string or an array of strings")),
            })
            .collect(),
        (Kind::Headers, Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => sized(name, &format!("{k}: {s}"), MAX_FIELD),
                Value::Number(n) => sized(name, &format!("{k}: {n}"), MAX_FIELD),
                _ => Err(Refusal::bad(
                    name,
                    format!("header '{k}' must be a string, not {}", type_of(v)),
                )),
            })
            .collect(),
        (Kind::List, _) => Err(wrong("a string or an array of strings")),
        (Kind::Headers, _) => Err(wrong("a string, an array of strings or an object")),
        // Numeric fields take blast's own syntax as a string ("30s", "10k").
        (_, Value::String(s)) => sized(name, s, MAX_FIELD).map(|s| vec![s]),
        (_, Value::Number(n)) if matches!(kind, Kind::Count | Kind::Whole) => {
            whole(name, kind, n).map(|s| vec![s])
        }
        (_, Value::Number(n)) => {
            number(name, kind, n.as_f64().unwrap_or(f64::NAN)).map(|s| vec![s])
        }
        (Kind::Seconds | Kind::SecondsOrZero, _) => Err(wrong("a number of seconds")),
        (Kind::Count | Kind::Whole, _) => Err(wrong("a whole number")),
        (Kind::Rate, _) => Err(wrong("a number")),
    }
}

fn list_item(name: &str, s: &str) -> Result<String, Refusal> {
    let s = &sized(name, s, max_of(name))?;
    if name == "form" && s.contains("=@") {
        return Err(Refusal::bad(
            name,
            "'form' fields cannot read files on the load box (name=@path)",
        ));
    }
    Ok(s.to_string())
}

/// A JSON number as the flag's value, refused when out of range.
fn number(name: &str, kind: Kind, n: f64) -> Result<String, Refusal> {
    let bad = |what: &str| Refusal::bad(name, format!("'{name}' must be {what}, not {n}"));
    if !n.is_finite() {
        return Err(bad("a finite number"));
    }
    match kind {
        Kind::Seconds if n <= 0.0 => Err(bad("more than 0 seconds")),
        Kind::SecondsOrZero if n < 0.0 => Err(bad("0 seconds or more")),
        Kind::Seconds | Kind::SecondsOrZero => Ok(format!("{n}s")),
        Kind::Rate if n <= 0.0 => Err(bad("more than 0")),
        _ => Ok(format!("{n}")),
    }
}

/// A JSON whole number as the flag's value, exactly: one a u64 holds is
/// taken as written (not through a float, which rounds above 2^53), and
/// one above u64::MAX is refused rather than clamped.
fn whole(name: &str, kind: Kind, n: &serde_json::Number) -> Result<String, Refusal> {
    let least = u64::from(kind == Kind::Count);
    match n.as_u64() {
        Some(v) if v >= least => return Ok(v.to_string()),
        _ if n.is_u64() || n.is_i64() => {}
        // A float: a whole one a u64 holds is that u64 (1e3 is 1000).
        _ => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f >= least as f64 && f < 18_446_744_073_709_551_616.0 {
                return Ok((f as u64).to_string());
            }
            if f.is_finite() && f.fract() == 0.0 && f > 0.0 {
                return Err(Refusal::bad(
                    name,
                    format!("'{name}' must be at most {} (u64), not {n}", u64::MAX),
                ));
            }
        }
    }
    let what = if least == 1 { "1 or more" } else { "0 or more" };
    Err(Refusal::bad(
        name,
        format!("'{name}' must be a whole number, {what}, not {n}"),
    ))
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(name: &str, kind: Kind, v: Value) -> String {
        match values_of(name, kind, &v) {
            Ok(got) => panic!("{name}: {v} was taken as {got:?}"),
            Err(r) => {
                assert_eq!(r.field.as_deref(), Some(name), "{r:?}");
                r.error
            }
        }
    }

    #[test]
    fn whole_numbers_above_u64_are_refused_not_clamped() {
        let big: Value = serde_json::from_str("18446744073709551616").unwrap();
        let e = refused("seed", Kind::Whole, big);
        assert!(e.contains("at most 18446744073709551615"), "{e}");
        refused("num_workers", Kind::Count, json!(1e20));
        refused("seed", Kind::Whole, json!(1e300));
        refused("seed", Kind::Whole, json!(-1));
        refused("seed", Kind::Whole, json!(1.5));
        refused("connections", Kind::Count, json!(0));
    }

    #[test]
    fn whole_numbers_a_u64_holds_are_kept_exactly() {
        for (v, want) in [
            (json!(u64::MAX), "18446744073709551615"),
            // Above 2^53: through an f64 this became ...992.
            (json!(9_007_199_254_740_993u64), "9007199254740993"),
            (json!(0), "0"),
            (json!(1e3), "1000"),
        ] {
            assert_eq!(values_of("seed", Kind::Whole, &v).unwrap(), [want], "{v}");
        }
        assert_eq!(
            values_of("connections", Kind::Count, &json!(10)).unwrap(),
            ["10"]
        );
    }
}
