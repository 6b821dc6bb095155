//! blast: an HTTP load generator. Data flows one way:
//! cli -> config (request encoded once) -> workers, one per core ->
//! connections (keep-alive loop) -> per-thread stats -> channel ->
//! aggregator -> report. This file wires the stages and holds no logic.

pub mod aggregate;
pub mod cli;
pub mod compare;
pub mod config;
pub mod conn;
pub mod csv;
pub mod error;
pub mod fetch;
pub mod find;
pub mod hlog;
pub mod html;
pub mod io;
pub mod pace;
pub mod report;
pub mod request;
pub mod response;
pub mod slo;
pub mod stats;
pub mod target;
pub mod worker;

use config::Config;
use error::Error;
use stats::{RunInfo, Summary};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Run one load test as configured and return what was measured.
pub fn run(cfg: &Config) -> Result<Summary, Error> {
    wait_for_start(cfg.start_at);
    let session = Session::start(cfg)?;
    let t0 = Instant::now();
    let pace = match cfg.rate {
        None => worker::PaceSpec::Closed,
        Some(r) => worker::PaceSpec::Rate {
            total_per_sec: r,
            ramp: cfg.ramp_up,
        },
    };
    if !cfg.warmup.is_zero() {
        let warm = worker::Phase {
            start: t0,
            duration: Some(cfg.warmup),
            pace,
            requests: None,
            record: false,
            last: false,
        };
        session.send(cfg, &warm);
    }
    let main = worker::Phase {
        start: t0 + cfg.warmup,
        duration: cfg.duration,
        pace,
        requests: cfg.requests,
        record: true,
        last: true,
    };
    let sink = match &cfg.hlog {
        None => None,
        Some(path) => {
            let wall = std::time::SystemTime::now() + cfg.warmup;
            let log = hlog::HlogWriter::create(path, wall, &run_info(cfg))
                .map_err(|e| error::usage(format!("--hlog '{path}': {e}")))?;
            Some(Box::new(log) as Box<dyn aggregate::IntervalSink>)
        }
    };
    let summary = session.phase(cfg, &main, String::new(), sink);
    let summary = session.finish(cfg, summary)?;
    if let Some(path) = &cfg.hlog {
        hlog::append_summary(path, &summary)
            .map_err(|e| error::usage(format!("--hlog '{path}': {e}")))?;
    }
    Ok(summary)
}

/// `--start-at`: wait for the agreed wall-clock time (Ctrl-C still ends it).
fn wait_for_start(at: Option<std::time::SystemTime>) {
    let Some(at) = at else { return };
    while !worker::INTERRUPT.load(Ordering::Relaxed) {
        match at.duration_since(std::time::SystemTime::now()) {
            Ok(left) if !left.is_zero() => std::thread::sleep(left.min(Duration::from_millis(50))),
            _ => return,
        }
    }
}

/// The workers of one run and the channels to them. A plain run sends one
/// or two phases; `blast find` sends one per step on the same connections.
pub struct Session {
    handles: Vec<std::thread::JoinHandle<()>>,
    phases: Vec<crossbeam_channel::Sender<worker::Phase>>,
    snapshots: crossbeam_channel::Receiver<stats::Snapshot>,
    startup: std::sync::Arc<worker::Startup>,
    checked: std::cell::Cell<bool>,
}

impl Session {
    pub fn start(cfg: &Config) -> Result<Session, Error> {
        // Encoded once; every connection of every worker writes these bytes.
        let request: &'static [u8] = Box::leak(cfg.request.clone().into_boxed_slice());
        let (tx, rx) = crossbeam_channel::unbounded();
        let trying: u64 = (0..cfg.threads)
            .filter(|&i| cfg.requests_of(i) != Some(0))
            .map(|i| cfg.connections_of(i))
            .sum();
        let startup = worker::Startup::new(trying);
        let worker::Workers { handles, phases } =
            worker::spawn_all(cfg, request, Instant::now(), &startup, tx).map_err(|e| {
                Error::EngineUnavailable(format!("cannot start worker threads: {e}"))
            })?;
        Ok(Session {
            handles,
            phases,
            snapshots: rx,
            startup,
            checked: std::cell::Cell::new(false),
        })
    }

    /// Send a phase to every worker (with its share of `-n`).
    pub fn send(&self, cfg: &Config, p: &worker::Phase) {
        for (i, tx) in self.phases.iter().enumerate() {
            let mut mine = p.clone();
            mine.requests = p.requests.map(|_| cfg.requests_of(i as u64).unwrap_or(0));
            let _ = tx.send(mine);
        }
    }

    /// Run a recorded phase to its end and return its summary.
    pub fn phase(
        &self,
        cfg: &Config,
        p: &worker::Phase,
        label: String,
        sink: Option<Box<dyn aggregate::IntervalSink>>,
    ) -> Summary {
        self.send(cfg, p);
        let reachable = self.reachable(cfg);
        let mut agg = aggregate::Aggregator::new(self.handles.len(), cfg.progress && reachable);
        agg.label = label;
        agg.sink = sink;
        agg.collect(&self.snapshots);
        let mut info = run_info(cfg);
        if let worker::PaceSpec::Rate { total_per_sec, .. } = p.pace {
            info.rate = Some(total_per_sec);
        }
        agg.into_summary(info, worker::INTERRUPT.load(Ordering::Relaxed))
    }

    /// After the first phase starts: did any connection get through?
    fn reachable(&self, cfg: &Config) -> bool {
        if self.checked.replace(true) {
            return true;
        }
        self.startup
            .wait(cfg.connect_timeout + Duration::from_secs(1))
            .is_ok()
    }

    /// Stop the workers; exit 3 if no connection could ever be made.
    pub fn finish<T>(self, cfg: &Config, result: T) -> Result<T, Error> {
        drop(self.phases);
        for h in self.handles {
            let _ = h.join();
        }
        if let Err(f) = self.startup.outcome() {
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
        Ok(result)
    }
}

pub fn run_info(cfg: &Config) -> RunInfo {
    RunInfo {
        url: cfg.url.clone(),
        connections: cfg.connections,
        threads: cfg.threads,
        duration_s: cfg.duration.map(|d| d.as_secs_f64()),
        requests_limit: cfg.requests,
        rate: cfg.rate,
        ramp_up_s: cfg.ramp_up.as_secs_f64(),
        method: cfg.method.clone(),
        timeout_s: cfg.timeout.as_secs_f64(),
        engine: cfg.engine.name().to_string(),
    }
}

/// `blast [OPTIONS] URL`: run, report, and exit 1 when the SLO fails.
pub fn run_main(args: &cli::RunArgs) -> Result<i32, Error> {
    let cfg = Config::from_args(args, io::uring::probe)?;
    for n in &cfg.notices {
        eprintln!("blast: {n}");
    }
    install_ctrl_c();
    let summary = run(&cfg)?;
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
    install_ctrl_c();
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
