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
//! `POST /find` takes `blast find`'s options the same way.

mod allow;
mod fields;
mod limits;
mod refusal;
#[cfg(test)]
mod tests;

use crate::config::cli::{FindArgs, RunArgs};
use crate::config::url::parse_url;
use crate::config::{Config, FindConfig};
use crate::engine::io;
use crate::error::Error;
pub use allow::AllowList;
use clap::error::{ContextKind, ContextValue};
use clap::Parser;
use fields::{Kind, Used};
pub use fields::{Mode, MAX_BODY_FIELD};
pub use limits::Limits;
pub use refusal::{allow_of, wait_of, Refusal};
use serde_json::{Map, Value};
use std::time::Duration;

/// The CLI's run flags, parsed from an argv the API builds.
#[derive(Parser, Debug)]
#[command(name = "blast", disable_help_flag = true, disable_version_flag = true)]
struct ApiCli {
    #[command(flatten)]
    run: RunArgs,
}

/// `blast find`'s flags, likewise.
#[derive(Parser, Debug)]
#[command(name = "blast", disable_help_flag = true, disable_version_flag = true)]
struct ApiFind {
    #[command(flatten)]
    find: FindArgs,
}

/// What a call asks to start, built and checked.
pub enum Built {
    Run(Config),
    Find(FindConfig),
}

/// A call's body, checked as far as it can be without resolving the target
/// or encoding the request: its fields, their types and the flags' syntax.
pub struct Checked {
    pub request: Value,
    used: Vec<Used>,
    url: String,
    args: Args,
}

enum Args {
    // Boxed: the flags are large, and of two different sizes.
    Run(Box<RunArgs>),
    Find(Box<FindArgs>),
}

/// Check a `POST /benchmark` (`Mode::Run`) or `POST /find` body. Cheap:
/// the server answers this before it looks at the run slot.
pub fn check(body: &[u8], limits: &Limits, mode: Mode) -> Result<Checked, Refusal> {
    let (request, argv, used, url) = prepare(body, limits, mode)?;
    parse_url(&url).map_err(|e| Refusal::bad("url", e.to_string()))?;
    let args = match mode {
        Mode::Run => Args::Run(Box::new(parse_args::<ApiCli>(&argv, &used)?.run)),
        Mode::Find => {
            if !used.iter().any(|u| u.flag == "slo") {
                return Err(Refusal::bad(
                    "slo",
                    "'slo' is required: the search needs objectives, e.g. \"p99<50ms,errors<1%\"",
                ));
            }
            Args::Find(Box::new(parse_args::<ApiFind>(&argv, &used)?.find))
        }
    };
    Ok(Checked {
        request,
        used,
        url,
        args,
    })
}

impl Checked {
    /// Check the target against `--allow-target` (resolving it, once,
    /// where an address entry must judge it), then build the run as
    /// `blast` builds it, on that lookup, and check the caps. Nothing
    /// starts here.
    pub fn build(&self, limits: &Limits) -> Result<Built, Refusal> {
        let used = &self.used;
        let pinned = allow::pin(&self.url, &limits.allow_target)?;
        let refused = |e| config_refusal(e, used);
        match &self.args {
            Args::Run(a) => {
                let mut a = a.clone();
                a.pool.pinned = pinned;
                let cfg = Config::from_args(&a, io::uring::probe).map_err(refused)?;
                limits::check_caps(&cfg, used, limits)?;
                Ok(Built::Run(cfg))
            }
            Args::Find(a) => {
                let mut a = a.clone();
                a.pool.pinned = pinned;
                let f = FindConfig::from_args(&a, io::uring::probe).map_err(refused)?;
                limits::check_find_caps(&f, used, limits)?;
                Ok(Built::Find(f))
            }
        }
    }
}

/// The body as JSON, its argv, the fields used, and the URL.
fn prepare(
    body: &[u8],
    limits: &Limits,
    mode: Mode,
) -> Result<(Value, Vec<String>, Vec<Used>, String), Refusal> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::new(400, None, format!("the body is not JSON: {e}")))?;
    let obj = request
        .as_object()
        .ok_or_else(|| Refusal::new(400, None, "the body must be a JSON object"))?;
    let (argv, used, url) = to_argv(obj, limits, mode)?;
    Ok((request, argv, used, url))
}

/// The body's fields as an argv for `ApiCli` (or `ApiFind`), the fields
/// used, and the URL.
fn to_argv(
    obj: &Map<String, Value>,
    limits: &Limits,
    mode: Mode,
) -> Result<(Vec<String>, Vec<Used>, String), Refusal> {
    let mut argv = vec!["blast".to_string(), "--quiet".to_string()];
    let mut used: Vec<Used> = Vec::new();
    let mut url = None;
    for (name, value) in obj {
        let (flag, kind) = fields::lookup(name, mode)?;
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
        for v in fields::values_of(name, kind, value)? {
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
    if let (Some(max), Mode::Run) = (limits.max_duration, mode) {
        if !has("duration") && (has("requests") || max < Duration::from_secs(10)) {
            argv.push(format!("--duration={}s", max.as_secs_f64()));
        }
    }
    if let (Some(max), Mode::Find) = (limits.max_rate, mode) {
        if !has("max") {
            argv.push(format!("--max={max}"));
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

/// Parse `argv` as the CLI parses its flags.
fn parse_args<P: Parser>(argv: &[String], used: &[Used]) -> Result<P, Refusal> {
    let cmd = P::command()
        // The service's environment must not leak into callers' runs.
        .mut_arg("url", |a| a.env(None::<&str>))
        .mut_arg("body_file", |a| a.env(None::<&str>));
    let m = cmd
        .try_get_matches_from(argv)
        .map_err(|e| clap_refusal(&e, used))?;
    P::from_arg_matches(&m).map_err(|e| clap_refusal(&e, used))
}

/// `Config`'s refusal, naming the caller's field.
fn config_refusal(e: Error, used: &[Used]) -> Refusal {
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
    // A scenario's own errors start with where in it they are.
    if msg.starts_with("scenario") {
        if let Some(name) = named("scenario-text") {
            return Some(name);
        }
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
