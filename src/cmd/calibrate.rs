//! `blast calibrate`: what this box can generate, against the built-in
//! target in-process on loopback (target on the upper half of the CPUs,
//! blast on the lower half).

use crate::config::{cli, Config};
use crate::engine::io;
use crate::error::{self, Error};
use crate::stats::Summary;
use crate::target::{self, TargetOptions};

/// `blast calibrate`: the built-in target in-process on loopback, pinned to
/// the upper half of the CPUs, and blast on the lower half.
pub fn calibrate(a: &cli::CalibrateArgs) -> Result<(Config, Summary, TargetOptions), Error> {
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
    // The certificate the target makes, in a file made new in the temp dir
    // (O_EXCL, a random name) and removed when this returns.
    let temp = if a.tls {
        Some(super::target::temp_pem("blast-calibrate-")?)
    } else {
        None
    };
    let opts = TargetOptions {
        listen: "127.0.0.1:0"
            .parse()
            .map_err(|_| error::usage("bad listen address"))?,
        threads: server_threads,
        cpus: (!server_cpus.is_empty()).then_some(server_cpus),
        tls_cert: temp.as_ref().map(|t| t.path().to_path_buf()),
        ..Default::default()
    };
    let t = target::start(opts.clone())
        .map_err(|e| Error::Unreachable(format!("cannot start the built-in target: {e}")))?;
    let scheme = if a.tls { "https" } else { "http" };
    let url = format!("{scheme}://{}/", t.addr());
    let mut argv: Vec<String> = vec![
        "blast".into(),
        "-c".into(),
        a.connections.to_string(),
        "-t".into(),
        client_threads.min(a.connections).to_string(),
        "-d".into(),
        format!("{}ms", a.duration.as_millis()),
        "--engine".into(),
        a.engine.clone(),
    ];
    if let Some(cert) = &opts.tls_cert {
        argv.push("--cacert".into());
        argv.push(cert.display().to_string());
    }
    if a.no_keepalive {
        argv.push("--no-keepalive".into());
    }
    if let Some(n) = a.pipeline {
        argv.push("--pipeline".into());
        argv.push(n.to_string());
    }
    argv.push(url);
    let run_args = <cli::Cli as clap::Parser>::try_parse_from(argv)
        .map_err(|e| error::usage(e.to_string()))?
        .run;
    let mut cfg = Config::from_args(&run_args, io::uring::probe)?;
    cfg.json = a.json;
    cfg.latency = true;
    let result = super::run::run(&cfg);
    t.stop();
    drop(temp);
    Ok((cfg, result?, opts))
}

/// `blast calibrate`: print the report and what this box can generate.
pub fn main(a: &cli::CalibrateArgs) -> Result<i32, Error> {
    super::process::install_ctrl_c();
    let (cfg, s, opts) = calibrate(a)?;
    super::run::print_report(&cfg, &s, None, &[])?;
    if !cfg.json {
        let over = match (a.tls, a.no_keepalive) {
            (false, false) => "",
            (true, false) => " over HTTPS",
            (false, true) => " with a new connection per request",
            (true, true) => " over HTTPS with a new connection (TLS handshake) per request",
        };
        let piped = match cfg.load.conn.pipeline {
            n if n > 1 => format!(", {n} requests pipelined per write,"),
            _ => String::new(),
        };
        println!(
            "Calibration: this box generates {:.0} req/s{over}{piped} with {} blast thread(s) and {} connections \
             ({} engine) against the built-in target on {} other thread(s).",
            s.rps(),
            cfg.load.shape.threads,
            cfg.load.shape.connections,
            cfg.load.engine.name(),
            opts.threads
        );
        println!("If a run against your service reaches about this rate, blast is the limit, not the service: add threads or load boxes.");
    }
    Ok(0)
}
