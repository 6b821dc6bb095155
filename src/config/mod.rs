//! Validated, immutable run configuration: the clap structs (`cli`), the
//! unit parsers (`values`), and every check on the user's input, done here
//! before a thread starts (ripgrep's LowArgs -> HiArgs): the URL, the flags
//! that depend on each other, the body sources. What a run sends (one
//! request, `--data` rows, `--openai` prompts, a scenario, a targets file)
//! is encoded once, by `requests` and `plan`, into the engine's types.

mod captures;
mod checks;
pub mod cli;
mod cli_tls;
mod data;
mod fetch;
#[doc(hidden)]
pub mod fuzz_entry;
pub mod grpc;
pub mod grpc_flags;
mod metrics;
mod openai;
mod pipeline;
mod place;
mod plan;
mod request_flags;
mod requests;
mod scenario;
pub mod source;
pub mod stages;
mod target_args;
mod targets;
pub mod url;
mod values;

use crate::engine::{Arrival, ConnSettings, Engine, H2Settings, LoadShape, Settings};
use crate::error::{usage, Error};
use crate::proto::tls::{TlsClient, TlsOptions};
use crate::stats::{abort::AbortRule, slo::Slo, RunInfo};
use cli::RunArgs;
pub use metrics::{Metrics, MetricsArgs, RemoteWrite};
use std::time::Duration;
use url::{resolve, Url};

/// A size as a user wrote it: `1 MiB`, `64 KiB`, `1000 B`.
fn size_words(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

/// A validated run: what the engine is to do (`load`) and what the user
/// asked to see of it.
#[derive(Clone, Debug)]
pub struct Config {
    pub url: String,
    pub parsed: Url,
    pub method: String,
    /// The engine's orders.
    pub load: Settings,
    pub slo: Option<Slo>,
    /// Report files: `--csv PREFIX`, `--html FILE`, `--hlog FILE`.
    pub csv: Option<String>,
    pub html: Option<String>,
    pub hlog: Option<String>,
    pub latency: bool,
    pub json: bool,
    /// One-line notices for stderr (lowered -t, engine fallback).
    pub notices: Vec<String>,
    /// `--metrics-listen`, `--prometheus-remote-write`: live metrics.
    pub metrics: Metrics,
}

impl Config {
    /// Validate raw flags. `uring_probe` says whether io_uring can run here
    /// (a parameter so tests can exercise both answers).
    pub fn from_args(
        a: &RunArgs,
        uring_probe: impl FnOnce() -> Result<(), String>,
    ) -> Result<Config, Error> {
        let mut notices = Vec::new();
        // --grpc speaks HTTP/2.
        let normalized = grpc::normalize(a)?;
        let a = normalized.as_ref().unwrap_or(a);

        let mut duration = match (a.load.duration, a.load.requests) {
            (Some(d), _) => Some(d),
            (None, Some(_)) => None,
            (None, None) => Some(Duration::from_secs(10)),
        };
        if duration.is_some_and(|d| d.is_zero()) {
            return Err(usage("-d must be longer than 0"));
        }
        if a.request.timeout.is_zero() {
            return Err(usage("--timeout must be longer than 0"));
        }
        if a.request.connect_timeout.is_zero() {
            return Err(usage("--connect-timeout must be longer than 0"));
        }

        let slo = a
            .request
            .slo
            .as_deref()
            .map(Slo::parse)
            .transpose()
            .map_err(usage)?;
        for (flag, path) in [
            ("--csv", &a.load.csv),
            ("--html", &a.request.html),
            ("--hlog", &a.load.hlog),
        ] {
            if let Some(p) = path {
                check_writable(flag, p)?;
            }
        }
        let start_at = match &a.load.start_at {
            None => None,
            Some(t) => {
                let at = cli::parse_start_at(t).map_err(|e| usage(format!("--start-at {e}")))?;
                let now = std::time::SystemTime::now();
                if at + Duration::from_secs(5) < now {
                    return Err(usage(format!("--start-at '{t}' is in the past")));
                }
                if at > now + Duration::from_secs(86_400) {
                    return Err(usage(format!("--start-at '{t}' is more than a day away")));
                }
                Some(at)
            }
        };
        if let (Some(r), Some(d)) = (a.load.ramp_up, duration) {
            if r > d {
                return Err(usage(format!(
                    "--ramp-up {}s is longer than -d {}s",
                    r.as_secs_f64(),
                    d.as_secs_f64()
                )));
            }
        }
        let (arrival, seed) = arrival_of(&a.load)?;
        let headers = a
            .request
            .headers
            .iter()
            .map(|h| request_flags::parse_header(h))
            .collect::<Result<Vec<_>, _>>()?;
        let tls_opts = tls_options(&a.tls);
        let h2 = http2_settings(a)?;
        let requests::Requests {
            parsed,
            shown: shown_url,
            method,
            mix,
            stages,
        } = requests::build(a, &headers, &tls_opts)?;
        let pipeline = pipeline::depth(a, &mix)?;
        let given_c = a.pool.connections;
        let stages = stages::resolve(&a.load, given_c, a.request.http2, stages).map_err(usage)?;
        let connections = match &stages {
            Some((st, c)) => {
                duration = Some(st.total());
                *c
            }
            None => given_c.unwrap_or(10),
        };
        let stages = stages.map(|(st, _)| std::sync::Arc::new(st));
        let abort = match (a.load.abort_on_slo, &slo) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(usage(
                    "--abort-on-slo: needs --slo, the conditions it stops on (e.g. --slo 'p99<250ms,errors<1%')",
                ))
            }
            (Some(g), Some(slo)) if g < Duration::from_secs(1) => {
                let _ = slo;
                return Err(usage(format!(
                    "--abort-on-slo {}s: the grace must be 1s or more (the SLO is judged per second)",
                    g.as_secs_f64()
                )));
            }
            (Some(g), Some(slo)) => Some(AbortRule {
                slo: slo.clone(),
                grace_s: g.as_secs_f64().ceil() as u32,
            }),
        };
        let mut threads = match a.pool.threads {
            Some(t) => t,
            None => std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
        };
        if threads > connections {
            if a.pool.threads.is_some() {
                notices.push(format!(
                    "-t {threads} is more than -c {connections}: using {connections} threads"
                ));
            }
            threads = connections;
        }
        if threads > 4096 {
            return Err(usage(format!("-t {threads}: at most 4096 threads")));
        }
        if let Some(slo) = &slo {
            let names: Vec<&str> = mix.names.iter().map(|n| n.name.as_str()).collect();
            slo.check_names(&names).map_err(usage)?;
        }
        let protocol = match (&h2, parsed.tls) {
            (None, _) => "http/1.1",
            (Some(_), true) => "h2",
            (Some(_), false) => "h2c",
        };
        let streams = h2
            .as_ref()
            .map_or(u64::from(pipeline), |h| h.max_concurrent);

        let engine = match a.request.engine.as_str() {
            "epoll" => Engine::Epoll,
            "tokio-uring" if h2.is_some() => {
                return Err(usage(
                    "--engine tokio-uring: HTTP/2 runs on the uring and epoll engines only",
                ))
            }
            e @ ("uring" | "tokio-uring") => {
                uring_probe().map_err(|err| {
                    Error::EngineUnavailable(format!(
                        "--engine {e}: io_uring is unavailable here ({err})"
                    ))
                })?;
                if e == "uring" {
                    Engine::Uring
                } else {
                    Engine::TokioUring
                }
            }
            _ => match uring_probe() {
                Ok(()) => Engine::Uring,
                Err(e) => {
                    notices.push(format!(
                        "io_uring is unavailable ({e}): using the epoll engine"
                    ));
                    Engine::Epoll
                }
            },
        };

        let tls = if parsed.tls {
            let mut o = tls_opts;
            o.alpn = vec![if h2.is_some() {
                b"h2".to_vec()
            } else {
                b"http/1.1".to_vec()
            }];
            Some(TlsClient::new(&parsed.host, &o).map_err(usage)?)
        } else {
            let t = &a.tls;
            // They did serve a --body-file https:// fetch.
            let fetched = a
                .request
                .body_file
                .as_ref()
                .is_some_and(|f| f.starts_with("https://"));
            let given = t.cacert.is_some() || t.insecure || t.cert.is_some() || t.key.is_some();
            if given && !fetched {
                notices.push("TLS flags are ignored for an http:// URL".into());
            }
            None
        };
        let addr = resolve(&parsed, a.pool.pinned.as_ref())?;
        let sources = match &a.pool.source {
            Some(list) => source::check(list, addr)?,
            None => Vec::new(),
        };
        if let Some(range) = source::local_port_range() {
            // With -n below -c, connections that get no request never open.
            let opened = connections.min(a.load.requests.unwrap_or(u64::MAX));
            source::check_ports(opened, &sources, addr, range)?;
        }
        let duration_s = duration.map(|d| d.as_secs_f64());
        let ramp_up = a.load.ramp_up.unwrap_or(Duration::ZERO);
        let load = Settings {
            host: parsed.host_header(),
            conn: ConnSettings {
                addr,
                sources,
                timeout: a.request.timeout,
                connect_timeout: a.request.connect_timeout,
                keepalive: !a.request.no_keepalive,
                force_stream: a.request.stream,
                tls,
                h2,
                pipeline,
                goodput: slo.as_ref().map(Slo::per_request).unwrap_or_default(),
                max_body: a.request.max_body as usize,
                max_body_detail: format!(
                    "body over --max-body ({})",
                    size_words(a.request.max_body)
                ),
            }
            .into(),
            mix,
            shape: LoadShape {
                connections,
                threads,
                duration,
                requests: a.load.requests,
                rate: a.load.rate,
                ramp_up,
                arrival,
                seed,
                warmup: a.load.warmup.unwrap_or(Duration::ZERO),
                start_at,
                stages: stages.clone(),
                abort,
            },
            engine,
            progress: !a.request.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            info: RunInfo {
                url: shown_url.clone(),
                connections,
                threads,
                duration_s,
                requests_limit: a.load.requests,
                rate: a.load.rate,
                ramp_up_s: ramp_up.as_secs_f64(),
                method: method.clone(),
                timeout_s: a.request.timeout.as_secs_f64(),
                engine: engine.name().to_string(),
                protocol: protocol.to_string(),
                streams,
                goodput: slo
                    .as_ref()
                    .is_some_and(|s| s.conditions.iter().any(|c| c.metric.per_request())),
                seed,
                stages: stages.as_deref().cloned(),
            },
        };
        Ok(Config {
            url: shown_url,
            parsed,
            method,
            load,
            slo,
            csv: a.load.csv.clone(),
            html: a.request.html.clone(),
            hlog: a.load.hlog.clone(),
            latency: a.request.latency,
            json: a.request.json,
            notices,
            metrics: Metrics::from_args(&a.metrics)?,
        })
    }
}
/// `--http2` and `-m`: the HTTP/2 request, built once, and the streams
/// per connection; None for HTTP/1.1.
fn http2_settings(a: &RunArgs) -> Result<Option<H2Settings>, Error> {
    let r = &a.request;
    if !r.http2 {
        if r.streams > 1 {
            return Err(usage(format!(
                "-m {}: concurrent streams need --http2 (HTTP/1.1 sends one request at a time per connection)",
                r.streams
            )));
        }
        return Ok(None);
    }
    if r.no_keepalive {
        return Err(usage(
            "--no-keepalive: not with --http2 (streams share their connection)",
        ));
    }
    if r.streams > 1_000_000 {
        return Err(usage(format!("-m {}: at most 1000000 streams", r.streams)));
    }
    Ok(Some(H2Settings {
        max_concurrent: r.streams,
    }))
}

/// The TLS flags, as `proto::tls` takes them.
fn tls_options(t: &cli::TlsArgs) -> TlsOptions {
    TlsOptions {
        cacert: t.cacert.clone(),
        insecure: t.insecure,
        cert: t.cert.clone(),
        key: t.key.clone(),
        resume: t.tls_resume != "off",
        alpn: Vec::new(),
    }
}

/// `--arrival`, `--burstiness` and `--seed`: how the gaps of `-R` are drawn,
/// and the seed of the run (given, or from the clock).
fn arrival_of(load: &cli::LoadArgs) -> Result<(Arrival, u64), Error> {
    let seed = load.seed.unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        t.as_secs() ^ (u64::from(t.subsec_nanos()) << 32) ^ u64::from(std::process::id())
    });
    let kind = load.arrival.as_deref();
    if kind.is_some() && load.rate.is_none() {
        return Err(usage(
            "--arrival needs -R: it shapes the gaps of an open-loop rate",
        ));
    }
    let arrival = match (kind, load.burstiness) {
        (Some("poisson"), k) => Arrival::Gamma {
            burstiness: k.unwrap_or(1.0),
            seed,
        },
        (_, Some(_)) => return Err(usage("--burstiness needs --arrival poisson (and -R)")),
        _ => Arrival::Constant,
    };
    Ok((arrival, seed))
}

/// `blast find`: the run settings plus the search's own.
#[derive(Clone, Debug)]
pub struct FindConfig {
    pub run: Config,
    pub slo: Slo,
    pub start: f64,
    pub max: f64,
    pub step: Duration,
    pub precision: f64,
}

impl FindConfig {
    pub fn from_args(
        a: &cli::FindArgs,
        uring_probe: impl FnOnce() -> Result<(), String>,
    ) -> Result<FindConfig, Error> {
        let args = cli::RunArgs {
            pool: a.pool.clone(),
            // Rate, length and per-run outputs are the search's to choose.
            load: cli::LoadArgs::default(),
            request: a.request.clone(),
            tls: a.tls.clone(),
            metrics: MetricsArgs::default(),
            grpc: Default::default(),
        };
        let run = Config::from_args(&args, uring_probe)?;
        if run.load.mix.think != crate::engine::mix::Think::None {
            return Err(usage(
                "blast find offers rates (open loop), where think times do not apply: remove think from the scenario",
            ));
        }
        let slo = run
            .slo
            .clone()
            .ok_or_else(|| usage("blast find needs --slo, e.g. --slo \"p99<50ms,errors<1%\""))?;
        if a.max < a.start {
            return Err(usage(format!(
                "blast find: --max {} is below --start {}",
                a.max, a.start
            )));
        }
        if a.step_duration < Duration::from_millis(200) {
            return Err(usage("blast find: --step-duration must be at least 200ms"));
        }
        Ok(FindConfig {
            run,
            slo,
            start: a.start,
            max: a.max,
            step: a.step_duration,
            precision: a.precision,
        })
    }
}

/// A report file must be creatable before the run, so that nothing measured
/// is lost to a typo in its path. For `--csv` the path is a prefix.
fn check_writable(flag: &str, path: &str) -> Result<(), Error> {
    let p = std::path::Path::new(path);
    if path.is_empty() || p.is_dir() {
        return Err(usage(format!("{flag} '{path}': not a file name")));
    }
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        return Err(usage(format!(
            "{flag} '{path}': no directory {}",
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
