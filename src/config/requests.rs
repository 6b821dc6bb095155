//! What a run sends, from its flags (parsed by `request_flags`): one
//! request from the command line (`Mix::single`, as ever), that request
//! filled from `--data` rows, the prompts of `--openai`, a `--scenario` or a
//! `--targets` file. All but the first become a named mix through `plan`.

use super::cli::RunArgs;
use super::data::Table;
use super::plan::{origin_of, Body, Common, Flow, Plan, ReqSpec, Target};
use super::url::{parse_url, Url};
use super::{openai, request_flags, scenario, targets};
use crate::engine::mix::{Mix, Think};
use crate::error::{usage, Error};
use crate::proto::check::Checks;
use crate::proto::h1::request::Header;
use crate::proto::tls::TlsOptions;
use std::sync::Arc;

/// The requests of a run and where they go.
pub struct Requests {
    /// The origin (and, for one request, its target).
    pub parsed: Url,
    /// The URL the reports show.
    pub shown: String,
    /// The method of every request, or "mixed".
    pub method: String,
    /// Encoded once for the whole process: every connection writes from it.
    pub mix: Arc<Mix>,
    /// A scenario's `[[stage]]`s (empty: none).
    pub stages: Vec<super::stages::Stage>,
}

pub fn build(a: &RunArgs, headers: &[Header], tls: &TlsOptions) -> Result<Requests, Error> {
    let r = &a.request;
    Checks::parse(&r.check).map_err(|e| usage(format!("--check {e}")))?;
    let url = a.pool.url.as_deref();
    let file = match (&r.scenario, &r.targets, &r.scenario_text) {
        (Some(f), _, _) => Some(("--scenario", f)),
        (None, Some(f), _) => Some(("--targets", f)),
        (None, None, Some(t)) => Some(("scenario", t)),
        (None, None, None) => None,
    };
    if let Some((flag, path)) = file {
        for (other, given) in [
            ("-X", r.method.is_some()),
            ("-b", r.body.is_some()),
            ("--body-file (BLAST_PAYLOAD)", r.body_file.is_some()),
            ("-F", !r.form.is_empty()),
            ("--openai", r.openai.is_some()),
        ] {
            if given {
                return Err(usage(format!(
                    "{other}: not with {flag}, whose requests say their own"
                )));
            }
        }
        let parsed = url.map(parse_url).transpose()?;
        let mut plan = if flag == "--scenario" {
            scenario::load(path, r.data.as_deref())?
        } else if flag == "scenario" {
            if r.data.is_some() {
                return Err(usage("--data: not with a scenario given as text"));
            }
            scenario::parse_inline(path)?
        } else {
            let mut tables = Vec::new();
            if let Some(d) = &r.data {
                tables.push(Table::load(d.as_ref(), d)?);
            }
            let mut plan = targets::load(path, r.data.as_ref().map(|_| 0))?;
            plan.tables = tables;
            plan
        };
        order(a, &mut plan)?;
        plan.grpc = super::grpc::load(a, None)?;
        plan.cookies |= r.cookies;
        if plan.think != Think::None && a.load.rate.is_some() {
            return Err(usage(format!(
                "{path}: think times pace closed-loop users; with -R the rate sets when requests start (remove think or -R)"
            )));
        }
        let stages = std::mem::take(&mut plan.stages);
        let built = plan.build(&Common {
            url: parsed.as_ref(),
            headers,
            close: r.no_keepalive,
            http2: r.http2,
            checks: &r.check,
        })?;
        let shown = match url {
            Some(u) => u.to_string(),
            None => origin_of(&built.origin),
        };
        return Ok(Requests {
            parsed: built.origin,
            shown,
            method: built.method,
            mix: Arc::new(built.mix),
            stages,
        });
    }

    let raw_url = url.ok_or_else(|| {
        usage("no URL given: blast [OPTIONS] <URL> (or set BLAST_URL, or give --scenario or --targets)")
    })?;
    let mut parsed = parse_url(raw_url)?;
    let mut shown = raw_url.to_string();
    let method = |has_body: bool| -> Result<String, Error> {
        match &r.method {
            Some(m) if m.is_empty() || !m.bytes().all(request_flags::is_token_byte) => {
                Err(usage(format!("-X '{m}': not a valid HTTP method")))
            }
            Some(m) => Ok(m.clone()),
            None if has_body => Ok("POST".into()),
            None => Ok("GET".into()),
        }
    };
    let mut plan = Plan::default();
    let spec = |method: String, body: Vec<u8>, body_type: Option<String>, target: &str| ReqSpec {
        at: "the request".into(),
        name: None,
        method,
        target: Target::Exact(target.to_string()),
        headers: Vec::new(),
        body: Body::Bytes(body),
        body_type,
        sniff: false,
        data: None,
        captures: Vec::new(),
        checks: Vec::new(),
        grpc: None,
    };
    match openai::bodies(a, raw_url, &mut parsed)? {
        Some((bodies, s)) => {
            shown = s;
            if r.data.is_some() {
                return Err(usage(
                    "--data: not with --openai (give several prompts with --prompts or --dataset)",
                ));
            }
            let json = Some("application/json".to_string());
            let m = method(true)?;
            if bodies.len() == 1 {
                let b = bodies.into_iter().next().unwrap_or_default();
                plan.flows.push(Flow {
                    weight: 1,
                    steps: vec![spec(m, b, json, &parsed.target)],
                });
            } else {
                // One named request whose prompts are its data rows.
                let rows = bodies
                    .into_iter()
                    .map(|b| vec![String::from_utf8_lossy(&b).into_owned()])
                    .collect();
                plan.tables.push(Table {
                    path: "prompts".into(),
                    columns: vec!["body".into()],
                    rows,
                });
                let mut s = spec(m, b"{{body}}".to_vec(), json, &parsed.target);
                s.data = Some(0);
                plan.flows.push(Flow {
                    weight: 1,
                    steps: vec![s],
                });
                plan.named = true;
            }
        }
        None => {
            let (body, body_type) = request_flags::load_body(a, tls)?;
            let has_body = !body.is_empty() || !r.form.is_empty();
            let mut s = spec(method(has_body)?, body, body_type, &parsed.target);
            s.sniff = r.body.is_some();
            if let Some(m) = &a.grpc.grpc {
                let base = parsed.target.split('?').next().unwrap_or("");
                s.target = Target::Exact(format!("{}/{m}", base.trim_end_matches('/')));
                s.grpc = Some(m.clone());
            }
            if let Some(d) = &r.data {
                plan.tables.push(Table::load(d.as_ref(), d)?);
                s.data = Some(0);
                plan.named = true;
            }
            plan.flows.push(Flow {
                weight: 1,
                steps: vec![s],
            });
        }
    }
    order(a, &mut plan)?;
    plan.grpc = super::grpc::load(a, Some((&parsed, tls)))?;
    plan.cookies = r.cookies;
    let built = plan.build(&Common {
        url: Some(&parsed),
        headers,
        close: r.no_keepalive,
        http2: r.http2,
        checks: &r.check,
    })?;
    let mix = if built.mix.named() {
        built.mix
    } else {
        let mut m = built.mix;
        let (sets, slots) = (
            std::mem::take(&mut m.checks),
            std::mem::take(&mut m.check_slots),
        );
        let mut one = Mix::single(m.variants.swap_remove(0)).with_checks(sets, slots);
        one.cookies = r.cookies;
        one
    };
    Ok(Requests {
        parsed,
        shown,
        method: built.method,
        mix: Arc::new(mix),
        stages: Vec::new(),
    })
}

/// `--data-order` replaces the scenario's `data_order`.
fn order(a: &RunArgs, plan: &mut Plan) -> Result<(), Error> {
    if let Some(o) = &a.request.data_order {
        plan.rows = scenario::parse_order(o).map_err(|e| usage(format!("--data-order {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "requests_tests.rs"]
mod tests;
