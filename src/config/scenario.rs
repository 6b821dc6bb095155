//! `--scenario FILE`: a TOML file of named, weighted requests and
//! sequences (user flows whose steps one connection sends in order), with
//! Locust's wait time and data files. The shape (docs/requests.md, "Scenarios"):
//!
//! ```toml
//! think = "between 1s 3s"        # or "constant 500ms"; closed loop only
//! data = "users.csv"             # rows fill {{column}} placeholders
//! data_order = "round-robin"     # or "random" (repeatable with --seed)
//!
//! [[request]]                    # one weighted request
//! name = "home"                  # default: the path
//! method = "GET"                 # default: GET, or POST with a body
//! path = "/"                     # relative to the URL; or url = "http://..."
//! headers = { Accept = "text/html" }
//! weight = 3                     # default 1
//! checks = ["status == 200"]     # also at the top level, for every request
//! # body = "...", body_file = "x.json", or form = ["a=b", "f=@p.png"]
//! # data = "other.csv"           # this request's own rows
//!
//! [[sequence]]                   # steps sent in order on one connection
//! weight = 1
//! [[sequence.step]]
//! path = "/login"
//! capture = { token = "json /access_token" }   # for {{token}} in later steps
//! ```
//!
//! `cookies = true` at the top keeps a cookie jar per connection.
//!
//! Files the scenario names (bodies, form files, data) are found relative
//! to the scenario's own folder.

use super::data::Table;
use super::plan::{Body, Flow, Plan, ReqSpec, Target};
use super::request_flags::{is_token_byte, parse_form};
use super::values::parse_duration;
use crate::engine::mix::{RowOrder, Think};
use crate::error::{usage, Error};
use crate::proto::capture::Capture;
use crate::proto::check::Checks;
use crate::proto::h1::request::{content_type_for_inline, content_type_for_path};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    think: Option<String>,
    data: Option<String>,
    data_order: Option<String>,
    cookies: Option<Spanned<toml::Value>>,
    /// Checks every request of the scenario is held to.
    checks: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    request: Vec<Spanned<Request>>,
    #[serde(default)]
    sequence: Vec<Spanned<Sequence>>,
    /// The load shape (`[[stage]] duration = "30s" target = 100`).
    #[serde(default)]
    stage: Vec<Spanned<super::stages::StageSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    name: Option<String>,
    method: Option<String>,
    path: Option<String>,
    url: Option<String>,
    #[serde(default)]
    headers: toml::Table,
    body: Option<String>,
    body_file: Option<String>,
    form: Option<Vec<String>>,
    weight: Option<u32>,
    data: Option<String>,
    capture: Option<Spanned<toml::Table>>,
    #[serde(default)]
    checks: Vec<String>,
    /// A gRPC call, `pkg.Service/Method`; `body` is its message in JSON.
    grpc: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sequence {
    name: Option<String>,
    weight: Option<u32>,
    data: Option<String>,
    #[serde(default)]
    step: Vec<Spanned<Request>>,
}

/// Read a scenario. `cli_data` (`--data`) replaces the file's top-level
/// `data`.
pub fn load(path: &str, cli_data: Option<&str>) -> Result<Plan, Error> {
    let text =
        std::fs::read_to_string(path).map_err(|e| usage(format!("--scenario '{path}': {e}")))?;
    let dir = Path::new(path)
        .parent()
        .map_or_else(PathBuf::new, Path::to_path_buf);
    parse(&text, path, Some(&dir), cli_data)
}

/// Given as text: files may not be named.
fn no_files(shown: &str, what: &str) -> Error {
    usage(format!(
        "{shown}: {what} reads a file on the load box: not in a scenario given as text"
    ))
}

/// A scenario given as its text (`blast serve`'s "scenario" field): the
/// same TOML, but it may name no file on this machine (`data`,
/// `body_file`, `form` files), since a caller could send them anywhere.
pub fn parse_inline(text: &str) -> Result<Plan, Error> {
    parse(text, "scenario", None, None)
}

/// The line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

fn parse(
    text: &str,
    shown: &str,
    files: Option<&Path>,
    cli_data: Option<&str>,
) -> Result<Plan, Error> {
    let inline = files.is_none();
    let dir = files.unwrap_or(Path::new(""));
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(String::new(), |s| {
            format!(" line {}", line_of(text, s.start))
        });
        usage(format!("{shown}{line}: {}", e.message().trim()))
    })?;
    let mut plan = Plan {
        named: true,
        ..Plan::default()
    };
    if let Some(t) = &file.think {
        plan.think = parse_think(t).map_err(|e| usage(format!("{shown}: think = \"{t}\": {e}")))?;
    }
    for (i, st) in file.stage.iter().enumerate() {
        let at = format!("{shown} line {}", line_of(text, st.span().start));
        let stage = st.get_ref().to_stage(i + 1);
        plan.stages
            .push(stage.map_err(|e| usage(format!("{at}: {e}")))?);
    }
    if let Some(o) = &file.data_order {
        plan.rows = parse_order(o).map_err(|e| usage(format!("{shown}: data_order: {e}")))?;
    }
    if let Some(c) = &file.cookies {
        plan.cookies = c.get_ref().as_bool().ok_or_else(|| {
            let line = line_of(text, c.span().start);
            usage(format!(
                "{shown} line {line}: cookies = {}: expected true or false",
                c.get_ref()
            ))
        })?;
    }
    let mut tables = Tables::default();
    if inline && file.data.is_some() {
        return Err(no_files(shown, "data"));
    }
    let top = match (cli_data, &file.data) {
        (Some(d), _) => Some(tables.load(Path::new(d), d)?),
        (None, Some(d)) => Some(tables.load(&dir.join(d), d)?),
        (None, None) => None,
    };
    let checks = match &file.checks {
        Some(c) => {
            let at = format!("{shown} line {}", line_of(text, c.span().start));
            valid_checks(c.get_ref(), &at)?;
            c.get_ref().clone()
        }
        None => Vec::new(),
    };
    let mut ctx = Ctx {
        text,
        dir,
        tables,
        inline,
        checks,
    };
    for r in &file.request {
        let at = format!("{shown} line {}", line_of(text, r.span().start));
        let r = r.get_ref();
        if let Some(c) = &r.capture {
            let line = line_of(text, c.span().start);
            return Err(usage(format!(
                "{shown} line {line}: capture: only a [[sequence.step]] captures (its values go to the later steps)"
            )));
        }
        let data = match &r.data {
            Some(_) if inline => return Err(no_files(&at, "data")),
            Some(d) => Some(ctx.tables.load(&dir.join(d), d)?),
            None => top,
        };
        let spec = ctx.request(r, &at, data)?;
        plan.flows.push(Flow {
            weight: r.weight.unwrap_or(1),
            steps: vec![spec],
        });
    }
    for s in &file.sequence {
        let at = format!("{shown} line {}", line_of(text, s.span().start));
        let s = s.get_ref();
        if s.step.is_empty() {
            return Err(usage(format!(
                "{at}: the sequence{} has no [[sequence.step]]",
                s.name.as_ref().map_or(String::new(), |n| format!(" '{n}'"))
            )));
        }
        let data = match &s.data {
            Some(_) if inline => return Err(no_files(&at, "data")),
            Some(d) => Some(ctx.tables.load(&dir.join(d), d)?),
            None => top,
        };
        let mut steps = Vec::new();
        for st in &s.step {
            let at = format!("{shown} line {}", line_of(ctx.text, st.span().start));
            let st = st.get_ref();
            for (key, given) in [("weight", st.weight.is_some()), ("data", st.data.is_some())] {
                if given {
                    return Err(usage(format!(
                        "{at}: a step has no {key} of its own: set it on the [[sequence]]"
                    )));
                }
            }
            let mut spec = ctx.request(st, &at, data)?;
            spec.captures = ctx.captures(st, shown, data)?;
            steps.push(spec);
        }
        plan.flows.push(Flow {
            weight: s.weight.unwrap_or(1),
            steps,
        });
    }
    if plan.flows.is_empty() {
        return Err(usage(format!(
            "{shown}: no [[request]] or [[sequence]]: nothing to send"
        )));
    }
    if plan.flows.iter().all(|f| f.weight == 0) {
        return Err(usage(format!(
            "{shown}: every weight is 0: nothing would be sent"
        )));
    }
    plan.tables = ctx.tables.list;
    Ok(plan)
}

/// The data files a plan reads, each once.
#[derive(Default)]
struct Tables {
    list: Vec<Table>,
    paths: Vec<PathBuf>,
}

impl Tables {
    fn load(&mut self, path: &Path, shown: &str) -> Result<usize, Error> {
        if let Some(i) = self.paths.iter().position(|p| p == path) {
            return Ok(i);
        }
        self.list.push(Table::load(path, shown)?);
        self.paths.push(path.to_path_buf());
        Ok(self.list.len() - 1)
    }
}

struct Ctx<'a> {
    text: &'a str,
    dir: &'a Path,
    tables: Tables,
    /// Given as text: no file may be read.
    inline: bool,
    /// The top level's `checks`, held by every request before its own.
    checks: Vec<String>,
}

/// Each of `checks` parses; the error names the file, line and field.
fn valid_checks(checks: &[String], at: &str) -> Result<(), Error> {
    Checks::parse(checks)
        .map(drop)
        .map_err(|e| usage(format!("{at}: checks: {e}")))
}

impl Ctx<'_> {
    /// A step's `capture = { name = "json /x", ... }`; errors name the
    /// file, the line and the capture. A name may not shadow a column of
    /// the sequence's data (which of the two would `{{name}}` be?).
    fn captures(
        &self,
        st: &Request,
        shown: &str,
        data: Option<usize>,
    ) -> Result<Vec<Capture>, Error> {
        let Some(c) = &st.capture else {
            return Ok(Vec::new());
        };
        let at = format!("{shown} line {}", line_of(self.text, c.span().start));
        if st.grpc.is_some() {
            return Err(usage(format!(
                "{at}: capture: not from a grpc call (its answer is protobuf, read only by checks)"
            )));
        }
        let mut out = Vec::new();
        for (name, expr) in c.get_ref() {
            let Some(expr) = expr.as_str() else {
                return Err(usage(format!(
                    "{at}: capture {name}: the value must be a string such as \"json /access_token\""
                )));
            };
            let cap = Capture::parse(name, expr).map_err(|e| usage(format!("{at}: {e}")))?;
            if let Some(t) = data.map(|d| &self.tables.list[d]) {
                if t.columns.iter().any(|col| col == name) {
                    return Err(usage(format!(
                        "{at}: capture {name}: shadows the column '{name}' of the data file '{}': give the capture another name",
                        t.path
                    )));
                }
            }
            out.push(cap);
        }
        Ok(out)
    }

    fn request(&mut self, r: &Request, at: &str, data: Option<usize>) -> Result<ReqSpec, Error> {
        let target = match (&r.path, &r.url) {
            // A gRPC call's path is its method; `url` gives its origin.
            (Some(_), _) if r.grpc.is_some() => {
                return Err(usage(format!(
                    "{at}: grpc gives the path (/PACKAGE.Service/Method): give url (the origin) or neither, not path"
                )));
            }
            (None, Some(u)) if r.grpc.is_some() => Target::Url(format!(
                "{}/{}",
                u.trim_end_matches('/'),
                r.grpc.as_deref().unwrap_or_default()
            )),
            (None, None) if r.grpc.is_some() => {
                Target::Exact(format!("/{}", r.grpc.as_deref().unwrap_or_default()))
            }
            (Some(p), None) => Target::Path(p.clone()),
            (None, Some(u)) => Target::Url(u.clone()),
            (Some(_), Some(_)) => {
                return Err(usage(format!("{at}: give path or url, not both")));
            }
            (None, None) => {
                return Err(usage(format!(
                    "{at}: the request has no path (relative to the URL) or url"
                )));
            }
        };
        let mut headers = Vec::new();
        for (name, value) in &r.headers {
            let Some(v) = value.as_str() else {
                return Err(usage(format!(
                    "{at}: header '{name}': the value must be a string"
                )));
            };
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                return Err(usage(format!("{at}: invalid header name '{name}'")));
            }
            headers.push((name.clone(), v.to_string()));
        }
        let sources = [r.body.is_some(), r.body_file.is_some(), r.form.is_some()];
        if sources.iter().filter(|&&s| s).count() > 1 {
            return Err(usage(format!(
                "{at}: body, body_file and form: give only one"
            )));
        }
        let (body, body_type) = if let Some(b) = &r.body {
            let bytes = b.as_bytes().to_vec();
            let t = content_type_for_inline(&bytes).to_string();
            (Body::Bytes(bytes), Some(t))
        } else if let (Some(_), true) = (&r.body_file, self.inline) {
            return Err(no_files(at, "body_file"));
        } else if let Some(f) = &r.body_file {
            let data = std::fs::read(self.dir.join(f))
                .map_err(|e| usage(format!("{at}: body_file '{f}': {e}")))?;
            (
                Body::Bytes(data),
                Some(content_type_for_path(f).to_string()),
            )
        } else if let (Some(_), Some(_)) = (&r.form, &r.grpc) {
            return Err(usage(format!(
                "{at}: form: not with grpc (its body is the message in JSON)"
            )));
        } else if let Some(form) = &r.form {
            let mut parts = Vec::new();
            for f in form {
                if self.inline && f.contains("=@") {
                    return Err(no_files(at, "a form file (name=@path)"));
                }
                let resolved = match f.split_once("=@") {
                    Some((n, p)) => format!("{n}=@{}", self.dir.join(p).display()),
                    None => f.clone(),
                };
                parts.push(parse_form(&resolved, &format!("{at}: form"))?);
            }
            (Body::Form(parts), None)
        } else {
            (Body::Bytes(Vec::new()), None)
        };
        let has_body = match &body {
            Body::Bytes(b) => !b.is_empty(),
            Body::Form(_) => true,
        };
        let method = match &r.method {
            Some(m) if m.is_empty() || !m.bytes().all(is_token_byte) => {
                return Err(usage(format!(
                    "{at}: method '{m}': not a valid HTTP method"
                )));
            }
            Some(m) => m.clone(),
            None if has_body => "POST".into(),
            None => "GET".into(),
        };
        if r.name.as_deref().is_some_and(str::is_empty) {
            return Err(usage(format!("{at}: name is empty")));
        }
        valid_checks(&r.checks, at)?;
        Ok(ReqSpec {
            at: at.to_string(),
            name: r.name.clone(),
            method,
            target,
            headers,
            body,
            body_type,
            sniff: r.body.is_some() && r.grpc.is_none(),
            data,
            captures: Vec::new(),
            checks: self.checks.iter().chain(&r.checks).cloned().collect(),
            grpc: r.grpc.clone(),
        })
    }
}

/// `think`: `constant 500ms`, `between 1s 3s` (Locust's wait_time), `none`.
pub fn parse_think(s: &str) -> Result<Think, String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    let d = |w: &str| parse_duration(w).map_err(|e| format!("'{w}': {e}"));
    match words.as_slice() {
        ["none"] => Ok(Think::None),
        ["constant", t] => Ok(Think::Constant(d(t)?)),
        ["between", a, b] => {
            let (a, b) = (d(a)?, d(b)?);
            if b < a {
                return Err(format!("between {a:?} and {b:?}: the second is shorter"));
            }
            Ok(Think::Between(a, b))
        }
        _ => Err("expected \"constant 500ms\" or \"between 1s 3s\"".into()),
    }
}

/// `data_order` and `--data-order`.
pub fn parse_order(s: &str) -> Result<RowOrder, String> {
    match s {
        "round-robin" => Ok(RowOrder::RoundRobin),
        "random" => Ok(RowOrder::Random),
        _ => Err(format!("'{s}': expected round-robin or random")),
    }
}

#[cfg(test)]
#[path = "scenario_tests.rs"]
mod tests;
