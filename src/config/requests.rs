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
}

pub fn build(a: &RunArgs, headers: &[Header], tls: &TlsOptions) -> Result<Requests, Error> {
    let r = &a.request;
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
        if plan.think != Think::None && a.load.rate.is_some() {
            return Err(usage(format!(
                "{path}: think times pace closed-loop users; with -R the rate sets when requests start (remove think or -R)"
            )));
        }
        let built = plan.build(&Common {
            url: parsed.as_ref(),
            headers,
            close: r.no_keepalive,
            http2: r.http2,
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
    let built = plan.build(&Common {
        url: Some(&parsed),
        headers,
        close: r.no_keepalive,
        http2: r.http2,
    })?;
    let mix = if built.mix.named() {
        built.mix
    } else {
        let mut m = built.mix;
        Mix::single(m.variants.swap_remove(0))
    };
    Ok(Requests {
        parsed,
        shown,
        method: built.method,
        mix: Arc::new(mix),
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
mod tests {
    use crate::config::{cli::Cli, Config};
    use crate::engine::mix::{RowOrder, Think};
    use clap::Parser;

    fn config(v: &[&str]) -> Result<Config, crate::error::Error> {
        let mut all = vec!["blast"];
        all.extend_from_slice(v);
        Config::from_args(&Cli::try_parse_from(all).unwrap().run, || Ok(()))
    }

    fn file(name: &str, text: &str) -> String {
        let d = std::env::temp_dir().join(format!("blast-requests-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    #[test]
    fn one_request_stays_single() {
        let c = config(&["-X", "PUT", "http://127.0.0.1:1/a"]).unwrap();
        assert!(!c.load.mix.named());
        assert_eq!(c.load.mix.variants.len(), 1);
        assert_eq!(c.load.info.method, "PUT");
        assert_eq!(c.url, "http://127.0.0.1:1/a");
    }

    #[test]
    fn data_fills_the_command_line_request() {
        let d = file("ids.csv", "id,name\r\n1,a\r\n2,\"b, c\"\r\n");
        let c = config(&[
            "--data",
            &d,
            "--data-order",
            "random",
            "-b",
            r#"{"name":"{{name}}"}"#,
            "-H",
            "X-Name: {{name}}",
            "http://127.0.0.1:1/u/{{id}}",
        ])
        .unwrap();
        let m = c.load.mix;
        assert_eq!(m.names.len(), 1);
        assert_eq!(m.names[0].name, "/u/{{id}}");
        assert_eq!(m.rows, RowOrder::Random);
        assert_eq!(m.variants.len(), 2);
        let second = String::from_utf8(m.variants[1].bytes.to_vec()).unwrap();
        assert!(second.starts_with("POST /u/2 HTTP/1.1\r\n"), "{second}");
        assert!(second.ends_with(r#"{"name":"b, c"}"#), "{second}");
        assert!(second.contains("X-Name: b, c\r\n"), "{second}");
        assert_eq!(c.load.info.method, "POST");
        // Without --data, braces are sent as written.
        let c = config(&["-b", "{{id}}", "http://127.0.0.1:1/"]).unwrap();
        assert!(c.load.mix.first().bytes.ends_with(b"\r\n\r\n{{id}}"));
    }

    #[test]
    fn scenario_needs_no_url_and_reports_its_origin() {
        let s = file(
            "s.toml",
            "think = \"constant 10ms\"\n[[request]]\nurl = \"http://127.0.0.1:1/a\"\n[[request]]\nurl = \"http://127.0.0.1:1/b\"\nmethod = \"POST\"\n",
        );
        let c = config(&["--scenario", &s, "-H", "X-A: 1"]).unwrap();
        assert_eq!(c.url, "http://127.0.0.1:1");
        assert_eq!(c.load.info.method, "mixed");
        assert_eq!(
            c.load.mix.think,
            Think::Constant(std::time::Duration::from_millis(10))
        );
        assert!(c.load.mix.variants[1]
            .bytes
            .windows(8)
            .any(|w| w == b"X-A: 1\r\n"));
        // With a URL, it is the origin of every request.
        let c = config(&["--scenario", &s, "http://localhost:2/x"]).unwrap();
        assert_eq!(c.url, "http://localhost:2/x");
        assert_eq!(c.parsed.port, 2);
    }

    #[test]
    fn refusals() {
        let s = file(
            "r.toml",
            "think = \"between 1s 2s\"\n[[request]]\npath = \"/\"\n",
        );
        let t = file("t.txt", "GET http://127.0.0.1:1/\n");
        let empty = file("empty.csv", "");
        let rel = file("rel.toml", "[[request]]\npath = \"/\"\n");
        for (flags, needle) in [
            (
                vec!["--scenario", &s, "-R", "10", "http://127.0.0.1:1/"],
                "think times pace closed-loop users",
            ),
            (
                vec!["--scenario", &s, "-X", "GET", "http://127.0.0.1:1/"],
                "-X: not with --scenario",
            ),
            (vec!["--targets", &t, "-b", "x"], "-b: not with --targets"),
            (
                vec!["--targets", &t, "--openai", "m"],
                "--openai: not with --targets",
            ),
            (
                vec!["--scenario", &rel],
                "no URL given: the requests have relative paths",
            ),
            (vec![], "no URL given"),
            (
                vec!["--data", &empty, "http://127.0.0.1:1/{{id}}"],
                "is empty",
            ),
            (
                vec!["--targets", &t, "--data", "/nonexistent/d.csv"],
                "/nonexistent/d.csv",
            ),
            (
                vec!["--scenario", "/nonexistent/s.toml"],
                "--scenario '/nonexistent/s.toml'",
            ),
            (
                vec!["--targets", "/nonexistent/t.txt"],
                "--targets '/nonexistent/t.txt'",
            ),
        ] {
            let e = config(&flags)
                .err()
                .unwrap_or_else(|| panic!("{flags:?} accepted"));
            assert_eq!(e.exit_code(), 2, "{e}");
            assert!(
                e.to_string().contains(needle),
                "{flags:?}: {e} lacks {needle}"
            );
        }
    }
}
