//! `POST /benchmark`'s body, turned into a validated run `Config`.
//!
//! The body is the seed service's (`url`, `qps`, `duration`, `num_workers`,
//! `timeout`, numbers in seconds and requests/s) plus any run option by its
//! long flag name (`threads`, `method`, `header`, `slo`, ...; `_` and `-`
//! both work). Each field becomes a flag of an argv that goes through the
//! CLI's own clap `RunArgs` and `Config::from_args`, so a run started over
//! HTTP is checked and built exactly as `blast URL` builds it. Every refusal
//! names the field at fault. Flags that read or write files on the load box
//! (`--body-file`, `--csv`, `--cert`, ...) are refused: the service writes
//! its own reports, and a caller must not read the box's files through it.

use crate::config::cli::RunArgs;
use crate::config::url::parse_url;
use crate::config::Config;
use crate::engine::io;
use crate::error::Error;
use clap::error::{ContextKind, ContextValue};
use clap::{CommandFactory, FromArgMatches, Parser};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// The largest `body` a caller may send (the request blast sends, not the
/// API call's own body).
pub const MAX_BODY_FIELD: usize = 1 << 20;

/// A refused call: HTTP status, one line saying why, and the field at fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub error: String,
    pub field: Option<String>,
}

impl Refusal {
    pub fn new(status: u16, field: Option<&str>, error: impl Into<String>) -> Refusal {
        Refusal {
            status,
            error: error.into(),
            field: field.map(str::to_string),
        }
    }

    /// 400 naming `field`.
    pub fn bad(field: &str, error: impl Into<String>) -> Refusal {
        Refusal::new(400, Some(field), error)
    }

    pub fn to_json(&self) -> Value {
        json!({"error": self.error, "field": self.field})
    }
}

/// What this server lets a caller ask for (`blast serve`'s flags).
#[derive(Clone, Debug, Default)]
pub struct Limits {
    /// `--allow-target`: host or address globs; empty allows any.
    pub allow_target: Vec<String>,
    pub max_duration: Option<Duration>,
    pub max_rate: Option<f64>,
    pub max_connections: Option<u64>,
}

/// How a field's JSON value becomes a flag's value.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
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
    ("form", "form", Kind::List),
    ("openai", "openai", Kind::Text),
    ("prompt", "prompt", Kind::Text),
    ("max-tokens", "max-tokens", Kind::Count),
    ("connect-timeout", "connect-timeout", Kind::Seconds),
    ("slo", "slo", Kind::Text),
    ("engine", "engine", Kind::Text),
    ("no-keepalive", "no-keepalive", Kind::Flag),
    ("stream", "stream", Kind::Flag),
    ("insecure", "insecure", Kind::Flag),
    ("tls-resume", "tls-resume", Kind::Text),
    ("latency", "latency", Kind::Flag),
];

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
];

/// The CLI's run flags, parsed from an argv the API builds.
#[derive(Parser, Debug)]
#[command(name = "blast", disable_help_flag = true, disable_version_flag = true)]
struct ApiCli {
    #[command(flatten)]
    run: RunArgs,
}

/// A run the API accepted: its config, and the body as the caller sent it.
pub struct Accepted {
    pub cfg: Config,
    pub request: Value,
}

/// One field the caller gave: its name as given and the flag it set.
struct Used {
    name: String,
    flag: &'static str,
}

/// Check a `POST /benchmark` body against `limits` and build its run.
/// Nothing starts here; DNS is resolved (as `blast URL` does before a run).
pub fn parse_run(body: &[u8], limits: &Limits) -> Result<Accepted, Refusal> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::new(400, None, format!("the body is not JSON: {e}")))?;
    let obj = request
        .as_object()
        .ok_or_else(|| Refusal::new(400, None, "the body must be a JSON object"))?;
    let (argv, used, url) = to_argv(obj, limits)?;
    let host = parse_url(&url)
        .map_err(|e| Refusal::bad("url", e.to_string()))?
        .host;
    let name_allowed = allowed(&limits.allow_target, &host);
    let forbidden = || {
        Refusal::new(
            403,
            Some("url"),
            format!(
                "target host '{host}' is not allowed here (--allow-target {})",
                limits.allow_target.join(",")
            ),
        )
    };
    let cfg = match build(&argv, &used) {
        Ok(cfg) => cfg,
        Err(_) if !name_allowed => return Err(forbidden()),
        Err(r) => return Err(r),
    };
    if !name_allowed && !allowed(&limits.allow_target, &cfg.load.addr.ip().to_string()) {
        return Err(forbidden());
    }
    check_caps(&cfg, &used, limits)?;
    Ok(Accepted { cfg, request })
}

/// The body's fields as an argv for `ApiCli`, the fields used, and the URL.
fn to_argv(
    obj: &Map<String, Value>,
    limits: &Limits,
) -> Result<(Vec<String>, Vec<Used>, String), Refusal> {
    let mut argv = vec!["blast".to_string(), "--quiet".to_string()];
    let mut used: Vec<Used> = Vec::new();
    let mut url = None;
    for (name, value) in obj {
        let key = if name == "num_workers" {
            name.clone()
        } else {
            name.replace('_', "-")
        };
        if let Some((_, why)) = REFUSED.iter().find(|(k, _)| *k == key) {
            return Err(Refusal::bad(
                name,
                format!("'{name}' is not available over the API: {why}"),
            ));
        }
        let Some(&(_, flag, kind)) = FIELDS.iter().find(|(k, _, _)| *k == key) else {
            return Err(Refusal::bad(name, format!("unknown field '{name}'")));
        };
        if value.is_null() {
            continue;
        }
        let repeatable = matches!(kind, Kind::List | Kind::Headers);
        if let Some(first) = used.iter().find(|u| u.flag == flag && !flag.is_empty()) {
            if !repeatable {
                return Err(Refusal::bad(
                    name,
                    format!("'{name}' sets what '{}' already set", first.name),
                ));
            }
        }
        used.push(Used {
            name: name.clone(),
            flag,
        });
        for v in values_of(name, kind, value)? {
            if kind == Kind::Url {
                url = Some(v);
            } else if kind == Kind::Flag {
                argv.push(format!("--{flag}"));
            } else {
                // `--flag=value`: a value starting with '-' stays a value.
                argv.push(format!("--{flag}={v}"));
            }
        }
    }
    let url = url.ok_or_else(|| Refusal::bad("url", "'url' is required"))?;
    let has = |flag: &str| used.iter().any(|u| u.flag == flag);
    // Unasked values take their defaults, lowered to this server's caps.
    if let Some(max) = limits.max_duration {
        if !has("duration") && (has("requests") || max < Duration::from_secs(10)) {
            argv.push(format!("--duration={}s", max.as_secs_f64()));
        }
    }
    if let Some(max) = limits.max_connections {
        if !has("connections") && max < 10 {
            argv.push(format!("--connections={max}"));
        }
    }
    argv.push("--".into());
    argv.push(url.clone());
    Ok((argv, used, url))
}

/// A field's value as the flag values it stands for.
fn values_of(name: &str, kind: Kind, v: &Value) -> Result<Vec<String>, Refusal> {
    let wrong =
        |what: &str| Refusal::bad(name, format!("'{name}' must be {what}, not {}", type_of(v)));
    let one = |s: String| Ok(vec![s]);
    match (kind, v) {
        (Kind::Url, Value::String(s)) if s.trim().is_empty() => {
            Err(Refusal::bad(name, "'url' is empty"))
        }
        (Kind::Url | Kind::Text, Value::String(s)) => {
            if name == "body" && s.len() > MAX_BODY_FIELD {
                return Err(Refusal::bad(
                    name,
                    format!(
                        "'body' is {} bytes: at most 1 MiB ({MAX_BODY_FIELD})",
                        s.len()
                    ),
                ));
            }
            one(s.clone())
        }
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
                Value::String(s) => Ok(format!("{k}: {s}")),
                Value::Number(n) => Ok(format!("{k}: {n}")),
                _ => Err(Refusal::bad(
                    name,
                    format!("header '{k}' must be a string, not {}", type_of(v)),
                )),
            })
            .collect(),
        (Kind::List, _) => Err(wrong("a string or an array of strings")),
        (Kind::Headers, _) => Err(wrong("a string, an array of strings or an object")),
        // Numeric fields take blast's own syntax as a string ("30s", "10k").
        (_, Value::String(s)) => one(s.clone()),
        (_, Value::Number(n)) => {
            number(name, kind, n.as_f64().unwrap_or(f64::NAN)).map(|s| vec![s])
        }
        (Kind::Seconds | Kind::SecondsOrZero, _) => Err(wrong("a number of seconds")),
        (Kind::Count | Kind::Whole, _) => Err(wrong("a whole number")),
        (Kind::Rate, _) => Err(wrong("a number")),
    }
}

fn list_item(name: &str, s: &str) -> Result<String, Refusal> {
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
        Kind::Count if n < 1.0 || n.fract() != 0.0 => Err(bad("a whole number, 1 or more")),
        Kind::Whole if n < 0.0 || n.fract() != 0.0 => Err(bad("a whole number, 0 or more")),
        Kind::Count | Kind::Whole => Ok(format!("{}", n as u64)),
        Kind::Rate if n <= 0.0 => Err(bad("more than 0")),
        _ => Ok(format!("{n}")),
    }
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

/// Parse `argv` as the CLI does and validate it into a `Config`.
fn build(argv: &[String], used: &[Used]) -> Result<Config, Refusal> {
    let cmd = ApiCli::command()
        // The service's environment must not leak into callers' runs.
        .mut_arg("url", |a| a.env(None::<&str>))
        .mut_arg("body_file", |a| a.env(None::<&str>));
    let m = cmd
        .try_get_matches_from(argv)
        .map_err(|e| clap_refusal(&e, used))?;
    let args = ApiCli::from_arg_matches(&m)
        .map_err(|e| clap_refusal(&e, used))?
        .run;
    Config::from_args(&args, io::uring::probe).map_err(|e| {
        let msg = e.to_string();
        let field = match e {
            Error::EngineUnavailable(_) => Some("engine".to_string()),
            _ => field_in_message(&msg, used),
        };
        Refusal {
            status: 400,
            error: msg,
            field,
        }
    })
}

/// clap's complaint, naming the caller's field for the flag it names.
fn clap_refusal(e: &clap::Error, used: &[Used]) -> Refusal {
    let text = e.to_string();
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("bad value")
        .trim_start_matches("error: ")
        .to_string();
    let field = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => {
            let flag = arg
                .trim_start_matches('-')
                .split([' ', '=', '<'])
                .next()
                .unwrap_or("");
            used.iter()
                .find(|u| u.flag == flag)
                .map(|u| u.name.clone())
                .or_else(|| field_in_message(&line, used))
        }
        _ => field_in_message(&line, used),
    };
    Refusal {
        status: 400,
        error: line,
        field,
    }
}

/// Config's messages name flags as the CLI user typed them (`-d`,
/// `--timeout`): find which of the caller's fields that is.
fn field_in_message(msg: &str, used: &[Used]) -> Option<String> {
    const SHORT: &[(&str, &str)] = &[
        ("-d ", "duration"),
        ("-R ", "rate"),
        ("-c ", "connections"),
        ("-t ", "threads"),
        ("-n ", "requests"),
        ("-X ", "method"),
        ("-H ", "header"),
        ("-m ", "streams"),
        ("-b ", "body"),
    ];
    let named = |flag: &str| used.iter().find(|u| u.flag == flag).map(|u| u.name.clone());
    let mut best: Option<(usize, String)> = None;
    for u in used.iter().filter(|u| !u.flag.is_empty()) {
        if let Some(at) = find_flag(msg, &format!("--{}", u.flag)) {
            if best.as_ref().is_none_or(|(b, _)| at < *b) {
                best = Some((at, u.name.clone()));
            }
        }
    }
    for (short, flag) in SHORT {
        if let (Some(at), Some(name)) = (msg.find(short), named(flag)) {
            if best.as_ref().is_none_or(|(b, _)| at < *b) {
                best = Some((at, name));
            }
        }
    }
    if let Some((_, name)) = best {
        return Some(name);
    }
    if msg.contains("URL") || msg.contains("host") || msg.contains("connect") {
        return Some("url".into());
    }
    None
}

/// Where `--flag` occurs as a whole flag (not `--flag-more`).
fn find_flag(msg: &str, flag: &str) -> Option<usize> {
    msg.match_indices(flag)
        .find(|(i, _)| {
            let next = msg[i + flag.len()..].chars().next();
            !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(|(i, _)| i)
}

/// `--max-duration`, `--max-rate`, `--max-connections`.
fn check_caps(cfg: &Config, used: &[Used], limits: &Limits) -> Result<(), Refusal> {
    let name_of = |flag: &str, default: &str| {
        used.iter()
            .find(|u| u.flag == flag)
            .map_or(default.to_string(), |u| u.name.clone())
    };
    let load = &cfg.load;
    if let Some(max) = limits.max_duration {
        let asked = load
            .duration
            .unwrap_or(Duration::MAX)
            .saturating_add(load.warmup);
        if asked > max {
            let field = if load.duration.is_some_and(|d| d <= max) {
                name_of("warmup", "warmup")
            } else {
                name_of("duration", "duration")
            };
            return Err(Refusal::bad(
                &field,
                format!(
                    "'{field}': the run would last {}s (warm-up included), over this server's \
                     --max-duration {}s",
                    asked.as_secs_f64(),
                    max.as_secs_f64()
                ),
            ));
        }
    }
    if let Some(max) = limits.max_rate {
        let field = name_of("rate", "qps");
        match load.rate {
            None => {
                return Err(Refusal::bad(
                    &field,
                    format!(
                        "a closed-loop run (no '{field}') is refused: this server caps the \
                         rate at --max-rate {max}"
                    ),
                ))
            }
            Some(r) if r > max => {
                return Err(Refusal::bad(
                    &field,
                    format!("'{field}' {r} is over this server's --max-rate {max}"),
                ))
            }
            Some(_) => {}
        }
    }
    if let Some(max) = limits.max_connections {
        if load.connections > max {
            let field = name_of("connections", "num_workers");
            return Err(Refusal::bad(
                &field,
                format!(
                    "'{field}' {} is over this server's --max-connections {max}",
                    load.connections
                ),
            ));
        }
    }
    Ok(())
}

/// Whether `host` matches one of `globs` (empty: any host). `*` matches
/// any run of characters; case does not matter.
pub fn allowed(globs: &[String], host: &str) -> bool {
    globs.is_empty()
        || globs.iter().any(|g| {
            glob(
                g.trim().to_ascii_lowercase().as_bytes(),
                host.to_ascii_lowercase().as_bytes(),
            )
        })
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    // Iterative matcher with one backtrack point (the last '*').
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(body: &str) -> Refusal {
        match parse_run(body.as_bytes(), &Limits::default()) {
            Ok(_) => panic!("{body} was accepted"),
            Err(r) => r,
        }
    }

    #[test]
    fn seed_body_becomes_the_cli_run() {
        let body = r#"{"url": "http://127.0.0.1:9/x", "qps": 200, "duration": 3,
                       "num_workers": 10, "timeout": 2}"#;
        let a = parse_run(body.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(a.cfg.load.rate, Some(200.0));
        assert_eq!(a.cfg.load.duration, Some(Duration::from_secs(3)));
        assert_eq!(a.cfg.load.connections, 10);
        assert_eq!(a.cfg.load.timeout, Duration::from_secs(2));
        assert!(!a.cfg.load.progress);
    }

    #[test]
    fn run_options_by_long_name() {
        let body = r#"{"url": "http://127.0.0.1:9/", "threads": 1, "method": "PUT",
                       "headers": {"X-A": "1"}, "body": "-x", "http2": false,
                       "connect_timeout": "500ms", "slo": "p99<250ms"}"#;
        let a = parse_run(body.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(a.cfg.method, "PUT");
        assert_eq!(a.cfg.load.threads, 1);
        assert_eq!(a.cfg.load.connect_timeout, Duration::from_millis(500));
        assert!(a.cfg.slo.is_some());
    }

    #[test]
    fn refusals_name_the_field() {
        for (body, field) in [
            (r#"{"url": "http://127.0.0.1:9/", "bogus": 1}"#, "bogus"),
            (r#"{"url": "http://127.0.0.1:9/", "qps": "fast"}"#, "qps"),
            (
                r#"{"url": "http://127.0.0.1:9/", "duration": -1}"#,
                "duration",
            ),
            (
                r#"{"url": "http://127.0.0.1:9/", "duration": "-1s"}"#,
                "duration",
            ),
            (r#"{"url": "ftp://x/"}"#, "url"),
            (
                r#"{"url": "http://127.0.0.1:9/", "method": "GE T"}"#,
                "method",
            ),
            (r#"{"url": "http://127.0.0.1:9/", "slo": "p99<<"}"#, "slo"),
            (r#"{"url": "http://127.0.0.1:9/", "csv": "/tmp/x"}"#, "csv"),
            (
                r#"{"url": "http://127.0.0.1:9/", "qps": 1, "rate": 2}"#,
                "rate",
            ),
            (r#"{"qps": 1}"#, "url"),
        ] {
            let r = refusal(body);
            assert_eq!(r.status, 400, "{body}: {r:?}");
            assert_eq!(r.field.as_deref(), Some(field), "{body}: {r:?}");
        }
    }

    #[test]
    fn caps_and_allowed_targets() {
        let limits = Limits {
            allow_target: vec!["*.svc.local".into(), "127.0.0.1".into()],
            max_duration: Some(Duration::from_secs(5)),
            max_rate: Some(100.0),
            max_connections: Some(4),
        };
        let ok = r#"{"url": "http://127.0.0.1:9/", "qps": 50}"#;
        let a = parse_run(ok.as_bytes(), &limits).unwrap();
        assert_eq!(a.cfg.load.duration, Some(Duration::from_secs(5)));
        assert_eq!(a.cfg.load.connections, 4);
        for (body, status, field) in [
            (r#"{"url": "http://127.0.0.2:9/", "qps": 5}"#, 403, "url"),
            (r#"{"url": "http://127.0.0.1:9/"}"#, 400, "qps"),
            (r#"{"url": "http://127.0.0.1:9/", "qps": 500}"#, 400, "qps"),
            (
                r#"{"url": "http://127.0.0.1:9/", "qps": 5, "duration": 9}"#,
                400,
                "duration",
            ),
            (
                r#"{"url": "http://127.0.0.1:9/", "qps": 5, "num_workers": 9}"#,
                400,
                "num_workers",
            ),
        ] {
            let r = parse_run(body.as_bytes(), &limits).err().unwrap();
            assert_eq!(
                (r.status, r.field.as_deref()),
                (status, Some(field)),
                "{body}: {r:?}"
            );
        }
    }

    #[test]
    fn globs() {
        let g = |p: &str, h: &str| allowed(&[p.to_string()], h);
        assert!(g("*.svc.local", "api.svc.local"));
        assert!(!g("*.svc.local", "svc.local.evil"));
        assert!(g("127.0.0.1", "127.0.0.1"));
        assert!(!g("127.0.0.1", "127.0.0.10"));
        assert!(g("API.*", "api.example"));
        assert!(allowed(&[], "anything"));
    }
}
