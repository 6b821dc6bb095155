//! Requests as files and flags describe them (a scenario, a vegeta targets
//! file, the command line with `--data`), turned into the engine's `Mix`:
//! the origin settled, names numbered, every request of every data row
//! encoded once.
//!
//! Origin rule: a run speaks to one origin. The URL given on the command
//! line is the origin of every request and the base of relative paths;
//! without one, the first full URL is, and every other must match it.

use super::captures::{self, Caps, FlowNames};
use super::checks::CheckSets;
use super::data::{Table, Template};
pub use super::place::origin_of;
use super::place::{basic_auth, join, split_userinfo};
use super::url::{parse_url, Url};
use crate::engine::flow::FlowStep;
use crate::engine::mix::{self, Entry, Mix, RequestName, RowOrder, Step, Think, Variant};
use crate::error::{usage, Error};
use crate::proto::capture::Capture;
use crate::proto::h1::request::{
    content_type_for_inline, encode, encode_multipart, FormPart, Header, RequestSpec,
};
use crate::proto::h1::spliced::Spliced;
use crate::proto::h2::H2Request;

/// Where a request goes.
#[derive(Clone, Debug)]
pub enum Target {
    /// Relative to the command line's URL (Locust's `host` + path).
    Path(String),
    /// A full `http[s]://` URL, possibly with `user:password@`.
    Url(String),
    /// An origin-form target (path and query) on the command line's origin.
    Exact(String),
}

/// A request's body before the data rows fill it.
#[derive(Clone, Debug)]
pub enum Body {
    Bytes(Vec<u8>),
    /// Multipart fields: placeholders are filled in text values only.
    Form(Vec<FormPart>),
}

/// One request as written.
#[derive(Clone, Debug)]
pub struct ReqSpec {
    /// Where it was written, for errors: "scenario.toml request 2".
    pub at: String,
    /// Its statistics name; None: its path.
    pub name: Option<String>,
    pub method: String,
    pub target: Target,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    pub body_type: Option<String>,
    /// An inline body: its Content-Type is judged on each row's rendered
    /// bytes (a JSON template is not JSON until filled).
    pub sniff: bool,
    /// Index into `Plan::tables`.
    pub data: Option<usize>,
    /// Values a sequence step takes from its response for the later steps.
    pub captures: Vec<Capture>,
    /// Its checks (`checks = [...]`: the scenario's top level, then its
    /// own), validated where they were read.
    pub checks: Vec<String>,
    /// A gRPC call (`pkg.Service/Method`): the body is its message in
    /// JSON, framed as protobuf per row (`config::grpc`).
    pub grpc: Option<String>,
}

/// A weighted entry: one request, or a sequence of steps.
#[derive(Clone, Debug)]
pub struct Flow {
    pub weight: u32,
    pub steps: Vec<ReqSpec>,
}

/// Everything a run sends.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub flows: Vec<Flow>,
    pub tables: Vec<Table>,
    pub think: Think,
    pub rows: RowOrder,
    /// Statistics names: false (a scenario) refuses one name used with two
    /// methods; true (a targets file, keyed like Locust by name and method)
    /// keeps them apart.
    pub by_method: bool,
    /// Keep statistics per name (false: one request, reported as the total).
    pub named: bool,
    /// `cookies = true` or `--cookies`: a cookie jar per lane.
    pub cookies: bool,
    /// A scenario's `[[stage]]`s (empty: none).
    pub stages: Vec<super::stages::Stage>,
    /// The descriptors gRPC requests are encoded with (`--proto`).
    pub grpc: Option<super::grpc::Schema>,
}

/// Settings every request shares.
pub struct Common<'a> {
    /// The command line's URL: the origin, and the base of relative paths.
    pub url: Option<&'a Url>,
    /// `-H`: sent with every request unless it has its own of that name.
    pub headers: &'a [Header],
    pub close: bool,
    pub http2: bool,
    /// `--check`, validated: applies to every request, before its own.
    pub checks: &'a [String],
}

/// The built mix and the origin it speaks to.
pub struct Built {
    pub mix: Mix,
    pub origin: Url,
    /// The method of every request, or "mixed".
    pub method: String,
}

/// A request after the origin is settled: its target and headers still
/// templates.
pub(super) struct Placed<'a> {
    pub spec: &'a ReqSpec,
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Plan {
    pub fn build(&self, c: &Common) -> Result<Built, Error> {
        let mut origin: Option<(Url, String)> = c.url.map(|u| (u.clone(), String::new()));
        let mut placed = Vec::new();
        for flow in &self.flows {
            for s in &flow.steps {
                placed.push(place(s, c, &mut origin)?);
            }
        }
        let Some((origin, _)) = origin else {
            return Err(usage(
                "no URL given: the requests have relative paths, so give the server's URL on the command line (or set BLAST_URL)",
            ));
        };
        let mut names: Vec<RequestName> = Vec::new();
        let mut variants: Vec<Variant> = Vec::new();
        let mut entries = Vec::new();
        let mut bytes = 0usize;
        let mut checks = CheckSets::default();
        let mut it = placed.into_iter();
        for flow in &self.flows {
            let mut steps = Vec::new();
            let flow_names = FlowNames::of(flow.steps.iter().map(|s| s.captures.as_slice()));
            let all: Vec<&str> = flow_names.names.iter().map(String::as_str).collect();
            for i in 0..flow.steps.len() {
                let p = it.next().expect("one placed request per step");
                let name = self.name_of(&p, &mut names)?;
                let first = variants.len() as u32;
                let caps = flow_names.caps(&all, &flow.steps[i].captures, i, self.cookies);
                let count = self.encode(&p, &origin, c, &caps, &mut variants, &mut bytes)?;
                let set = checks.add(name, c.checks, &p.spec.checks, &p.spec.at)?;
                for v in &mut variants[first as usize..] {
                    v.checks = set;
                }
                steps.push(Step { name, first, count });
            }
            entries.push(Entry {
                weight: flow.weight,
                steps,
            });
        }
        let mut methods: Vec<&str> = names.iter().map(|n| n.method.as_str()).collect();
        if !self.named {
            methods = self
                .flows
                .iter()
                .flat_map(|f| f.steps.iter().map(|s| s.method.as_str()))
                .collect();
        }
        methods.sort_unstable();
        methods.dedup();
        let method = match methods.as_slice() {
            [one] => one.to_string(),
            _ => "mixed".to_string(),
        };
        if !self.named {
            names.clear();
        }
        let mut mix = Mix::new(names, variants, entries, self.think, self.rows)
            .map_err(usage)?
            .with_checks(checks.sets, checks.slots);
        mix.cookies = self.cookies;
        Ok(Built {
            mix,
            origin,
            method,
        })
    }

    /// The statistics name of `p`: its index, added when new.
    fn name_of(&self, p: &Placed, names: &mut Vec<RequestName>) -> Result<u16, Error> {
        let s = p.spec;
        let name = match &s.name {
            Some(n) => n.clone(),
            None => p.target.split('?').next().unwrap_or("/").to_string(),
        };
        for (i, n) in names.iter().enumerate() {
            if n.name != name {
                continue;
            }
            if n.method == s.method {
                return Ok(i as u16);
            }
            if !self.by_method {
                return Err(usage(format!(
                    "{}: the name '{name}' is used for {} and {}: give one of them its own name = \"...\"",
                    s.at, n.method, s.method
                )));
            }
        }
        if names.len() >= mix::MAX_NAMES {
            return Err(usage(format!(
                "{}: more than {} request names: at most {} are supported",
                s.at,
                mix::MAX_NAMES,
                mix::MAX_NAMES
            )));
        }
        names.push(RequestName {
            name,
            method: s.method.clone(),
        });
        Ok((names.len() - 1) as u16)
    }

    /// Encode one variant per data row of `p` (one when nothing varies).
    fn encode(
        &self,
        p: &Placed,
        origin: &Url,
        c: &Common,
        caps: &Caps,
        out: &mut Vec<Variant>,
        bytes: &mut usize,
    ) -> Result<u32, Error> {
        let s = p.spec;
        let table = s.data.map(|i| &self.tables[i]);
        let columns = table.map(|t| t.columns.as_slice());
        let captured = (!caps.all.is_empty()).then_some(&caps.all[..caps.earlier]);
        let file = table.map(|t| t.path.as_str());
        let unknown = |field: &'static str| {
            move |name: String| usage(captures::unknown(&s.at, field, &name, caps.all, file))
        };
        let parse = |b: &[u8]| Template::parse_with(b, columns, captured);
        let target = parse(p.target.as_bytes()).map_err(unknown("the path"))?;
        let mut headers = Vec::new();
        for (n, v) in &p.headers {
            let t = parse(v.as_bytes()).map_err(unknown("a header"))?;
            headers.push((n.clone(), t));
        }
        let body = match &s.body {
            // A call's body is encoded before the run: no captured value
            // can be spliced into its protobuf.
            Body::Bytes(b) if s.grpc.is_some() => {
                let t = Template::parse_with(b, columns, captured.map(|_| &[][..]));
                let t = t.map_err(|name| match caps.all.contains(&name.as_str()) {
                    true => usage(format!("{}: the body of a grpc call uses {{{{{name}}}}}, a captured value: a call's message is encoded before the run, so it takes data columns only", s.at)),
                    false => unknown("the body")(name),
                })?;
                vec![(None, t)]
            }
            Body::Bytes(b) => {
                vec![(None, parse(b).map_err(unknown("the body"))?)]
            }
            Body::Form(parts) => parts
                .iter()
                .map(|part| match part {
                    FormPart::Text { value, .. } => parse(value.as_bytes())
                        .map(|t| (Some(part.clone()), t))
                        .map_err(unknown("a form field")),
                    FormPart::File { .. } => Ok((Some(part.clone()), Template::plain(b""))),
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let varies = target.varies()
            || headers.iter().any(|(_, t)| t.varies())
            || body.iter().any(|(_, t)| t.varies());
        let rows: Vec<Option<&[String]>> = match table {
            Some(t) if varies => t.rows.iter().map(|r| Some(r.as_slice())).collect(),
            _ => vec![None],
        };
        if out.len() + rows.len() > mix::MAX_VARIANTS {
            return Err(usage(format!(
                "{}: more than {} request variants (requests x data rows): at most {} are encoded",
                s.at,
                mix::MAX_VARIANTS,
                mix::MAX_VARIANTS
            )));
        }
        for (i, row) in rows.iter().enumerate() {
            let at_row = || match table {
                Some(t) if varies => format!("{} (row {} of '{}')", s.at, i + 1, t.path),
                _ => s.at.clone(),
            };
            let target = target.render_url(*row);
            if target.bytes().any(|b| b <= b' ' || b == 0x7f) {
                return Err(usage(format!(
                    "{}: spaces or control characters in the path '{target}' (percent-encode them)",
                    at_row()
                )));
            }
            let mut hs = Vec::with_capacity(headers.len());
            for (n, t) in &headers {
                let value = t.render_str(*row);
                if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                    return Err(usage(format!(
                        "{}: header '{n}': the value contains CR, LF or NUL",
                        at_row()
                    )));
                }
                hs.push(Header {
                    name: n.clone(),
                    value: value.trim().to_string(),
                });
            }
            let (body, body_type) = match &s.body {
                Body::Bytes(_) => {
                    let b = body[0].1.render(*row);
                    let t = match s.sniff && !b.is_empty() {
                        true => Some(content_type_for_inline(&b).to_string()),
                        false => s.body_type.clone(),
                    };
                    (b, t)
                }
                Body::Form(_) => {
                    let parts: Vec<FormPart> = body
                        .iter()
                        .map(|(part, t)| match part {
                            Some(FormPart::Text { name, .. }) => FormPart::Text {
                                name: name.clone(),
                                value: t.render_str(*row),
                            },
                            Some(p) => p.clone(),
                            None => unreachable!("form parts carry their part"),
                        })
                        .collect();
                    let (b, t) = encode_multipart(&parts);
                    (b, Some(t))
                }
            };
            let mut spec = RequestSpec {
                method: s.method.clone(),
                target,
                host: origin.host_header(),
                headers: hs,
                body,
                body_type,
                close: c.close,
            };
            let call = match &s.grpc {
                None => None,
                Some(m) => Some(
                    super::grpc::prepare(self.grpc.as_ref(), m, c.http2, &mut spec)
                        .map_err(|e| usage(format!("{}: {e}", at_row())))?,
                ),
            };
            let h2 = if c.http2 {
                let r = H2Request::build_call(&spec, origin.tls, call)
                    .map_err(|e| usage(format!("{}: {e}", at_row())))?;
                Some(r)
            } else {
                None
            };
            let encoded = encode(&spec);
            *bytes += encoded.len();
            if *bytes > mix::MAX_BYTES {
                return Err(usage(format!(
                    "{}: the encoded requests take more than {} MiB: at most {} MiB",
                    at_row(),
                    mix::MAX_BYTES >> 20,
                    mix::MAX_BYTES >> 20
                )));
            }
            let flow = caps.flow.as_ref().map(|f| {
                let spliced = Spliced::compile(&encoded, &caps.all[..caps.earlier]);
                Box::new(FlowStep {
                    spliced,
                    ..f.clone()
                })
            });
            out.push(Variant {
                bytes: encoded.into(),
                head: s.method.eq_ignore_ascii_case("HEAD"),
                h2: h2.map(Box::new),
                flow,
                checks: None,
            });
        }
        Ok(rows.len() as u32)
    }
}

/// Settle where `s` goes: its origin-form target (still a template) and its
/// headers with `user:password@` turned into Authorization.
fn place<'a>(
    s: &'a ReqSpec,
    c: &Common,
    origin: &mut Option<(Url, String)>,
) -> Result<Placed<'a>, Error> {
    // -H first, unless the request has its own of that name.
    let mut headers: Vec<(String, String)> = c
        .headers
        .iter()
        .filter(|h| {
            !s.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(&h.name))
        })
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    headers.extend(s.headers.iter().cloned());
    let target = match &s.target {
        Target::Exact(t) => t.clone(),
        Target::Path(p) => join(c.url.map_or("/", |u| u.target.as_str()), p),
        Target::Url(raw) => {
            let (bare, user) = split_userinfo(raw);
            let u = parse_url(&bare).map_err(|e| usage(format!("{}: {e}", s.at)))?;
            if let Some(user) = user {
                if !headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
                {
                    headers.push(("Authorization".into(), basic_auth(&user)));
                }
            }
            match origin {
                None => *origin = Some((u.clone(), s.at.clone())),
                // The command line's URL aims every request.
                Some((_, first)) if first.is_empty() => {}
                Some((o, first)) => {
                    if (o.tls, &o.host, o.port) != (u.tls, &u.host, u.port) {
                        return Err(usage(format!(
                            "{}: {bare} is not on the origin of {first} ({}): a run speaks to one origin; give a URL on the command line to aim every request at it",
                            s.at,
                            origin_of(o)
                        )));
                    }
                }
            }
            u.target
        }
    };
    Ok(Placed {
        spec: s,
        target,
        headers,
    })
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
