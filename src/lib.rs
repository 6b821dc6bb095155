//! blast: an HTTP load generator. Data flows one way:
//! cli -> config (request encoded once) -> workers, one per core ->
//! connections (keep-alive loop) -> per-thread stats -> channel ->
//! aggregator -> report. This file wires the stages and holds no logic.

pub mod aggregate;
pub mod cli;
pub mod config;
pub mod conn;
pub mod error;
pub mod fetch;
pub mod io;
pub mod report;
pub mod request;
pub mod response;
pub mod stats;
pub mod target;
pub mod worker;

use config::Config;
use error::Error;
use stats::{RunInfo, Summary};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Run one load test as configured and return what was measured.
pub fn run(cfg: &Config) -> Result<Summary, Error> {
    // Encoded once; every connection of every worker writes these bytes.
    let request: &'static [u8] = Box::leak(cfg.request.clone().into_boxed_slice());
    let (tx, rx) = crossbeam_channel::unbounded();
    let trying: u64 = (0..cfg.threads)
        .filter(|&i| cfg.requests_of(i) != Some(0))
        .map(|i| cfg.connections_of(i))
        .sum();
    let startup = worker::Startup::new(trying);
    let handles = worker::spawn_all(cfg, request, Instant::now(), &startup, tx)
        .map_err(|e| Error::EngineUnavailable(format!("cannot start worker threads: {e}")))?;
    let reachable = startup.wait(cfg.connect_timeout + Duration::from_secs(1));
    let mut agg = aggregate::Aggregator::new(handles.len(), cfg.progress && reachable.is_ok());
    agg.collect(&rx);
    for h in handles {
        let _ = h.join();
    }
    if let Err(f) = reachable {
        let why = match f {
            stats::Fault::ConnectRefused => "connection refused",
            stats::Fault::ConnectUnreachable => "host or network unreachable",
            stats::Fault::ConnectTimeout => "timed out (--connect-timeout)",
            _ => "connect failed",
        };
        return Err(Error::Unreachable(format!(
            "cannot connect to {} ({}): {why}",
            cfg.parsed.host_header(),
            cfg.addr
        )));
    }
    Ok(agg.into_summary(run_info(cfg), worker::INTERRUPT.load(Ordering::Relaxed)))
}

pub fn run_info(cfg: &Config) -> RunInfo {
    RunInfo {
        url: cfg.url.clone(),
        connections: cfg.connections,
        threads: cfg.threads,
        duration_s: cfg.duration.map(|d| d.as_secs_f64()),
        requests_limit: cfg.requests,
        rate: None,
        method: cfg.method.clone(),
        timeout_s: cfg.timeout.as_secs_f64(),
        engine: cfg.engine.name().to_string(),
    }
}

/// Print the report the user asked for on stdout.
pub fn print_report(cfg: &Config, s: &Summary) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let r = if cfg.json {
        report::write_json(&mut out, s)
    } else {
        report::write_text(&mut out, s, cfg.latency)
    };
    match r {
        // A reader that went away (`| head`) is not an error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

/// Opt this process out of transparent huge pages. mimalloc asks for them,
/// and a 2 MiB page backing a few touched bytes made an idle blast 18 MB
/// resident (5.6 MB without); measured throughput did not change.
pub fn limit_memory() {
    // SAFETY: prctl with integer arguments only; failure leaves THP as it was.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    if SIGNALLED.swap(true, Ordering::SeqCst) {
        // Second Ctrl-C: leave at once.
        unsafe { libc::_exit(130) };
    }
    worker::INTERRUPT.store(true, Ordering::SeqCst);
}

/// First Ctrl-C ends the run as if its time were up (the report is still
/// printed); a second exits at once with 130.
pub fn install_ctrl_c() {
    // SAFETY: the handler only touches atomics and calls _exit, both
    // async-signal-safe.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigint as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
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
    let result = run(&cfg);
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
    install_ctrl_c();
    let (cfg, s, opts) = calibrate(a)?;
    print_report(&cfg, &s).map_err(|e| error::usage(format!("cannot write the report: {e}")))?;
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
