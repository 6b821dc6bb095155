//! `blast [OPTIONS] URL`: one load test, its report, its files, and the
//! exit status (0, or 1 when the SLO fails).

use super::metrics::Exporter;
use super::output::write_out;
use super::process;
use crate::config::{cli, Config};
use crate::engine::{self, io};
use crate::error::{self, Error};
use crate::report::{self, csv, hlog, html};
use crate::stats::{slo, IntervalSink, Summary};
use std::io::Write;

/// `blast [OPTIONS] URL`: run, report, and exit 1 when the SLO fails.
pub fn main(args: &cli::RunArgs) -> Result<i32, Error> {
    let cfg = Config::from_args(args, io::uring::probe)?;
    for n in &cfg.notices {
        eprintln!("blast: {n}");
    }
    process::install_ctrl_c();
    let mut exporter = Exporter::start(&cfg)?;
    let summary = run_with(&cfg, exporter.as_ref())?;
    // The final push goes before the report, which tells if pushes failed.
    let warnings = exporter.as_mut().map(Exporter::finish).unwrap_or_default();
    let verdicts = cfg.slo.as_ref().map(|slo| slo.check(&summary));
    print_report(&cfg, &summary, verdicts.as_deref(), &warnings)?;
    let asked = cfg
        .load
        .conn
        .tls
        .as_ref()
        .is_some_and(|t| t.client_cert_asked());
    if asked && summary.errors.status + summary.errors.tls > 0 {
        eprintln!(
            "blast: the server asked for a client certificate and none was given: \
             give one with --cert FILE --key FILE"
        );
    }
    write_files(&cfg, &summary, verdicts.as_deref())?;
    if let Some(e) = &exporter {
        e.linger();
    }
    // Stopped at the breaking point (--abort-on-slo): the SLO failed,
    // whatever the totals of what ran say.
    Ok(match verdicts {
        _ if summary.aborted.is_some() => 1,
        Some(v) if v.iter().any(|v| !v.pass) => 1,
        _ => 0,
    })
}

/// Run as configured: the engine, with `--hlog`'s interval log as its sink,
/// once `-c` is known to fit under the open-file limit.
pub fn run(cfg: &Config) -> Result<Summary, Error> {
    run_with(cfg, None)
}

/// `run`, publishing the live metrics to `exporter` when there is one.
fn run_with(cfg: &Config, exporter: Option<&Exporter>) -> Result<Summary, Error> {
    process::fit_open_files(&cfg.load)?;
    let hlog_err = |path: &str, e: std::io::Error| error::usage(format!("--hlog '{path}': {e}"));
    let sink = match &cfg.hlog {
        None => None,
        Some(path) => {
            let wall = std::time::SystemTime::now() + cfg.load.shape.warmup;
            let names: Vec<(&str, &str)> = (cfg.load.mix.names.iter())
                .map(|n| (n.name.as_str(), n.method.as_str()))
                .collect();
            let log = hlog::HlogWriter::create(path, wall, &cfg.load.info, &names)
                .map_err(|e| hlog_err(path, e))?;
            Some(Box::new(log) as Box<dyn IntervalSink>)
        }
    };
    let sink = match exporter {
        Some(e) => Some(e.sink(sink)),
        None => sink,
    };
    let summary = engine::run(&cfg.load, sink)?;
    if let Some(path) = &cfg.hlog {
        hlog::append_summary(path, &summary).map_err(|e| hlog_err(path, e))?;
    }
    Ok(summary)
}

/// Print the report the user asked for on stdout, with the SLO verdicts.
pub fn print_report(
    cfg: &Config,
    s: &Summary,
    verdicts: Option<&[slo::Verdict]>,
    warnings: &[String],
) -> Result<(), Error> {
    write_out(|out| {
        if cfg.json {
            let mut doc = report::to_json(s);
            if let (Some(v), Some(map)) = (verdicts, doc.as_object_mut()) {
                map.insert("slo".into(), report::slo_json(v));
                map.insert("slo_pass".into(), v.iter().all(|v| v.pass).into());
            }
            if let (false, Some(map)) = (warnings.is_empty(), doc.as_object_mut()) {
                map.insert("warnings".into(), warnings.into());
            }
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)
        } else {
            report::write_text(out, s, cfg.latency)?;
            for w in warnings {
                writeln!(out, "Warning: {w}")?;
            }
            match verdicts {
                Some(v) => report::write_slo_text(out, v),
                None => Ok(()),
            }
        }
    })
}

/// The report files asked for (`--csv`, `--html`), after the report is
/// printed, so a failure here loses nothing that was measured.
fn write_files(cfg: &Config, s: &Summary, verdicts: Option<&[slo::Verdict]>) -> Result<(), Error> {
    if let Some(prefix) = &cfg.csv {
        csv::write(prefix, s).map_err(|e| error::usage(format!("--csv '{prefix}': {e}")))?;
    }
    if let Some(path) = &cfg.html {
        html::write_run(path, s, verdicts)
            .map_err(|e| error::usage(format!("--html '{path}': {e}")))?;
    }
    Ok(())
}
