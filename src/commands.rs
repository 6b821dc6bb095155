//! The subcommands: each turns its flags into a config, runs, writes what
//! the user asked for, and returns the exit status (SPEC section 4).

use crate::config::Config;
use crate::error::{self, Error};
use crate::stats::Summary;
use crate::{cli, config, csv, find, html, io, process, report, session, slo, target};
use std::io::Write;

/// `blast [OPTIONS] URL`: run, report, and exit 1 when the SLO fails.
pub fn run_main(args: &cli::RunArgs) -> Result<i32, Error> {
    let cfg = Config::from_args(args, io::uring::probe)?;
    for n in &cfg.notices {
        eprintln!("blast: {n}");
    }
    process::install_ctrl_c();
    let summary = session::run(&cfg)?;
    let verdicts = cfg.slo.as_ref().map(|slo| slo.check(&summary));
    print_report(&cfg, &summary, verdicts.as_deref())?;
    write_files(&cfg, &summary, verdicts.as_deref())?;
    Ok(match verdicts {
        Some(v) if v.iter().any(|v| !v.pass) => 1,
        _ => 0,
    })
}

/// `blast find`: search, report, exit 1 when even the first step fails.
pub fn find_main(args: &cli::FindArgs) -> Result<i32, Error> {
    let f = config::FindConfig::from_args(args, io::uring::probe)?;
    for n in &f.run.notices {
        eprintln!("blast: {n}");
    }
    process::install_ctrl_c();
    let result = find::run(&f)?;
    if let Some(path) = &f.run.html {
        html::write_find(path, &result)
            .map_err(|e| error::usage(format!("--html '{path}': {e}")))?;
    }
    write_out(|out| {
        if f.run.json {
            serde_json::to_writer_pretty(&mut *out, &find::to_json(&result))?;
            writeln!(out)
        } else {
            find::write_text(out, &result)
        }
    })?;
    Ok(if result.best.is_none() && !result.steps.is_empty() {
        1
    } else {
        0
    })
}

/// Print the report the user asked for on stdout, with the SLO verdicts.
pub fn print_report(
    cfg: &Config,
    s: &Summary,
    verdicts: Option<&[slo::Verdict]>,
) -> Result<(), Error> {
    write_out(|out| {
        if cfg.json {
            let mut doc = report::to_json(s);
            if let (Some(v), Some(map)) = (verdicts, doc.as_object_mut()) {
                map.insert("slo".into(), report::slo_json(v));
                map.insert("slo_pass".into(), v.iter().all(|v| v.pass).into());
            }
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)
        } else {
            report::write_text(out, s, cfg.latency)?;
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

fn write_out(
    f: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>,
) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match f(&mut out) {
        // A reader that went away (`| head`) is not an error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(error::usage(format!("cannot write the report: {e}"))),
        Ok(()) => Ok(()),
    }
}

/// `blast calibrate`: the built-in target in-process on loopback, pinned to
/// the upper half of the CPUs, and blast on the lower half.
pub fn calibrate(
    a: &cli::CalibrateArgs,
) -> Result<(Config, Summary, target::TargetOptions), Error> {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let n = cores.len().max(1);
    let server_threads = (n / 2).max(1);
    let client_threads = (n - server_threads).max(1) as u64;
    let server_cpus: Vec<usize> = cores
        .iter()
        .rev()
        .take(server_threads)
        .map(|c| c.id)
        .collect();
    let opts = target::TargetOptions {
        listen: "127.0.0.1:0"
            .parse()
            .map_err(|_| error::usage("bad listen address"))?,
        threads: server_threads,
        cpus: (!server_cpus.is_empty()).then_some(server_cpus),
        ..Default::default()
    };
    let t = target::start(opts.clone())
        .map_err(|e| Error::Unreachable(format!("cannot start the built-in target: {e}")))?;
    let url = format!("http://{}/", t.addr());
    let argv: Vec<String> = vec![
        "blast".into(),
        "-c".into(),
        a.connections.to_string(),
        "-t".into(),
        client_threads.min(a.connections).to_string(),
        "-d".into(),
        format!("{}ms", a.duration.as_millis()),
        "--engine".into(),
        a.engine.clone(),
        url,
    ];
    let run_args = <cli::Cli as clap::Parser>::try_parse_from(argv)
        .map_err(|e| error::usage(e.to_string()))?
        .run;
    let mut cfg = Config::from_args(&run_args, io::uring::probe)?;
    cfg.json = a.json;
    cfg.latency = true;
    let result = session::run(&cfg);
    t.stop();
    Ok((cfg, result?, opts))
}

/// `blast target`: serve until SIGINT/SIGTERM.
pub fn target_main(a: &cli::TargetArgs) -> Result<i32, Error> {
    let opts = target::TargetOptions {
        listen: a.listen,
        threads: a.threads as usize,
        delay: a.delay,
        body_size: a.body_size as usize,
        status: a.status,
        cpus: (!a.cpus.is_empty()).then(|| a.cpus.clone()),
    };
    target::run_forever(opts)
        .map_err(|e| error::usage(format!("blast target --listen {}: {e}", a.listen)))?;
    Ok(0)
}

/// `blast calibrate`: print the report and what this box can generate.
pub fn calibrate_main(a: &cli::CalibrateArgs) -> Result<i32, Error> {
    process::install_ctrl_c();
    let (cfg, s, opts) = calibrate(a)?;
    print_report(&cfg, &s, None)?;
    if !cfg.json {
        println!(
            "Calibration: this box generates {:.0} req/s with {} blast thread(s) and {} connections \
             ({} engine) against the built-in target on {} other thread(s).",
            s.rps(),
            cfg.threads,
            cfg.connections,
            cfg.engine.name(),
            opts.threads
        );
        println!("If a run against your service reaches about this rate, blast is the limit, not the service: add threads or load boxes.");
    }
    Ok(0)
}
