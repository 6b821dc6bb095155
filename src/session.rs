//! One run's workers and the channels to them. A plain run sends one or two
//! phases (warm-up, then the measured run); `blast find` sends one phase
//! per step on the same connections. `--start-at` waits here, and exit 3
//! (no connection ever made) is decided here.

use crate::aggregate::{self, IntervalSink};
use crate::config::Config;
use crate::error::{self, Error};
use crate::stats::{self, RunInfo, Summary};
use crate::{hlog, worker};
use std::sync::atomic::Ordering;
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
            Some(Box::new(log) as Box<dyn IntervalSink>)
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
        sink: Option<Box<dyn IntervalSink>>,
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
