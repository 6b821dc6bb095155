//! One run's workers and the channels to them. A plain run sends one or two
//! phases (warm-up, then the measured run); `blast find` sends one phase
//! per step on the same connections. `--start-at` waits here, and exit 3
//! (no connection ever made) is decided here.

use super::lifecycle::{Startup, INTERRUPT};
use super::pacer::{PaceSpec, Phase};
use super::{worker, Settings};
use crate::error::Error;
use crate::stats::aggregate::{self, IntervalSink};
use crate::stats::{self, Summary};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Run one load test as configured and return what was measured; each
/// closed interval's histogram also goes to `sink` (`--hlog`).
pub fn run(cfg: &Settings, sink: Option<Box<dyn IntervalSink>>) -> Result<Summary, Error> {
    wait_for_start(cfg.shape.start_at);
    let session = Session::start(cfg)?;
    let t0 = Instant::now();
    let pace = match cfg.shape.rate {
        None => PaceSpec::Closed,
        Some(r) => PaceSpec::Rate {
            total_per_sec: r,
            ramp: cfg.shape.ramp_up,
            arrival: cfg.shape.arrival,
        },
    };
    if !cfg.shape.warmup.is_zero() {
        let warm = Phase {
            start: t0,
            duration: Some(cfg.shape.warmup),
            pace,
            requests: None,
            record: false,
            last: false,
            stages: None,
        };
        session.send(cfg, &warm);
    }
    let main = Phase {
        start: t0 + cfg.shape.warmup,
        duration: cfg.shape.duration,
        pace,
        requests: cfg.shape.requests,
        record: true,
        last: true,
        stages: cfg.shape.stages.clone(),
    };
    let summary = session.phase(cfg, &main, String::new(), sink);
    session.finish(cfg, summary)
}

/// `--start-at`: wait for the agreed wall-clock time (Ctrl-C still ends it).
fn wait_for_start(at: Option<std::time::SystemTime>) {
    let Some(at) = at else { return };
    while !INTERRUPT.load(Ordering::Relaxed) {
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
    phases: Vec<crossbeam_channel::Sender<Phase>>,
    snapshots: crossbeam_channel::Receiver<stats::Snapshot>,
    startup: std::sync::Arc<Startup>,
    checked: std::cell::Cell<bool>,
}

impl Session {
    pub fn start(cfg: &Settings) -> Result<Session, Error> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let trying: u64 = (0..cfg.shape.threads)
            .filter(|&i| cfg.shape.requests_of(i) != Some(0))
            .map(|i| cfg.shape.connections_of(i))
            .sum();
        let startup = Startup::new(trying);
        let worker::Workers { handles, phases } =
            worker::spawn_all(cfg, Instant::now(), &startup, tx).map_err(|e| {
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
    pub fn send(&self, cfg: &Settings, p: &Phase) {
        for (i, tx) in self.phases.iter().enumerate() {
            let mut mine = p.clone();
            mine.requests = p
                .requests
                .map(|_| cfg.shape.requests_of(i as u64).unwrap_or(0));
            let _ = tx.send(mine);
        }
    }

    /// Run a recorded phase to its end and return its summary.
    pub fn phase(
        &self,
        cfg: &Settings,
        p: &Phase,
        label: String,
        sink: Option<Box<dyn IntervalSink>>,
    ) -> Summary {
        self.send(cfg, p);
        let reachable = self.reachable(cfg);
        let mut agg = aggregate::Aggregator::new(self.handles.len(), cfg.progress && reachable);
        agg.label = label;
        agg.names = cfg
            .mix
            .names
            .iter()
            .map(|n| stats::NameSummary::new(&n.name, &n.method))
            .collect();
        agg.checks = stats::CheckTotals::new(cfg.mix.check_slots.clone());
        agg.sink = sink;
        agg.spares = self.startup.spares.clone();
        if let Some(rule) = &cfg.shape.abort {
            agg.judge = Some(aggregate::Judge::new(rule.clone()));
            agg.halt = Some(self.startup.halt.clone());
        }
        agg.collect(&self.snapshots);
        let mut info = cfg.info.clone();
        if let PaceSpec::Rate { total_per_sec, .. } = p.pace {
            info.rate = Some(total_per_sec);
        }
        let mut summary = agg.into_summary(info, INTERRUPT.load(Ordering::Relaxed));
        if cfg.conn.tls.is_some() {
            let tls = summary.tls.get_or_insert_with(|| stats::TlsSummary {
                info: None,
                handshake: stats::latency_histogram(),
                resumed: 0,
            });
            tls.info = self.startup.tls_info();
        }
        summary
    }

    /// After the first phase starts: did any connection get through?
    fn reachable(&self, cfg: &Settings) -> bool {
        if self.checked.replace(true) {
            return true;
        }
        // Users over stages open when the target first reaches one: a
        // slow first ramp (`1m:10`: the first at 3 s) is not unreachable.
        let first_user = match (&cfg.shape.stages, cfg.shape.rate) {
            (Some(st), None) => st.reaches(Duration::ZERO, 0.5).unwrap_or_default(),
            _ => Duration::ZERO,
        };
        self.startup
            .wait(first_user + cfg.conn.connect_timeout + Duration::from_secs(1))
            .is_ok()
    }

    /// Stop the workers; exit 3 if no connection could ever be made.
    pub fn finish<T>(self, cfg: &Settings, result: T) -> Result<T, Error> {
        drop(self.phases);
        for h in self.handles {
            let _ = h.join();
        }
        if let Err(f) = self.startup.outcome() {
            let why = match f {
                stats::Fault::ConnectRefused => "connection refused".to_string(),
                stats::Fault::ConnectUnreachable | stats::Fault::ConnectNetUnreachable => {
                    "host or network unreachable".to_string()
                }
                stats::Fault::ConnectTimeout => no_answer("TCP connect", cfg),
                // A server that accepts and never answers the handshake (a
                // port that is not TLS and waits for the client to speak).
                stats::Fault::TlsHandshakeTimeout => no_answer("TLS handshake", cfg),
                f => match f.remedy() {
                    Some(fix) => format!("{}: {fix}", f.label()),
                    None => f.label().to_string(),
                },
            };
            return Err(Error::Unreachable(format!(
                "cannot connect to {} ({}): {why}",
                cfg.host, cfg.conn.addr
            )));
        }
        Ok(result)
    }
}

/// Why nothing could be measured when `what` got no answer in time.
fn no_answer(what: &str, cfg: &Settings) -> String {
    let t = cfg.conn.connect_timeout;
    let typed = if t.subsec_nanos() == 0 {
        format!("{}s", t.as_secs())
    } else {
        format!("{}ms", t.as_millis())
    };
    format!("the {what} got no answer within the connect timeout ({typed}, --connect-timeout)")
}
