//! One run at a time, on blast's usual engine, in a thread of its own; its
//! files and its result document when it ends.
//!
//! The result is the `--json` document with the seed service's keys added
//! at the top: `p50`, `p90`, `p97`, `p99`, `mean`, `std` (milliseconds, from
//! the same latency histogram as `latency_us`), `errors` (the total count,
//! as the seed service gives it) and `errors_status` (status code -> count
//! of responses that were not 2xx/3xx; empty when no response failed its
//! status rule, as when a status check accepts a 503). The JSON report's
//! own `errors` object (count per kind, `check` included) moves to
//! `errors_by_kind`: a seed-service caller reads `errors` as a number
//! (failed checks counted), and nothing is lost; `checks` (each check's passes and fails) and the
//! `check` rows of `error_details` stay as the JSON report has them.

use super::events::{Live, LiveSink};
use super::store::{now_ms, rfc3339, Store};
use crate::config::{Config, FindConfig};
use crate::engine::{self, INTERRUPT};
use crate::error::Error;
use crate::report::find::{FindResult, Step};
use crate::report::prom::RunMeta;
use crate::report::{self, csv, hlog, html};
use crate::stats::export::Board;
use crate::stats::{IntervalSink, Summary};
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// Checks a run's settings against the process before it starts (the
/// open-file limit); `cmd` passes it in.
pub type Preflight = fn(&engine::Settings) -> Result<(), Error>;

/// `blast find`'s search (`cmd::find::run`), passed in by `cmd`.
pub type FindFn = fn(&FindConfig, &mut dyn FnMut(&Step)) -> Result<FindResult, Error>;

/// What a run slot runs: one load test, or a `blast find` search.
pub enum Job {
    Run(Config),
    Find(FindConfig, FindFn),
}

impl Job {
    pub fn config(&self) -> &Config {
        match self {
            Job::Run(c) => c,
            Job::Find(f, _) => &f.run,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Job::Run(_) => "benchmark",
            Job::Find(..) => "find",
        }
    }
}

/// The run going on now.
#[derive(Clone)]
pub struct Current {
    pub id: String,
    pub live: Arc<Live>,
    /// Set by `DELETE`: the run ends as a Ctrl-C ends it.
    pub stopping: bool,
    /// What `/metrics` shows of it.
    pub metrics: (RunMeta, Arc<Board>),
}

/// The one run slot, and the metrics of the last run that ended.
#[derive(Default)]
pub struct Slot {
    current: Mutex<Option<Current>>,
    last: Mutex<Option<(RunMeta, Arc<Board>)>>,
}

impl Slot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Current>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn current(&self) -> Option<Current> {
        self.lock().clone()
    }

    /// The runs `/metrics` shows: the last that ended, and the one going on.
    pub fn metrics(&self) -> Vec<(RunMeta, Arc<Board>)> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let current = self.lock().as_ref().map(|c| c.metrics.clone());
        last.into_iter().chain(current).collect()
    }

    /// The live feed of run `id`, if it is the one going on.
    pub fn live_of(&self, id: &str) -> Option<Arc<Live>> {
        self.lock()
            .as_ref()
            .filter(|c| c.id == id)
            .map(|c| c.live.clone())
    }

    /// Ask run `id` to stop; its live feed if it is going on.
    pub fn stop(&self, id: &str) -> Option<Arc<Live>> {
        let mut cur = self.lock();
        let c = cur.as_mut().filter(|c| c.id == id)?;
        c.stopping = true;
        INTERRUPT.store(true, Ordering::SeqCst);
        Some(c.live.clone())
    }
}

/// Start `job` as a new run unless one is going on (then Err with its
/// id). The run's thread records it in `store` and frees the slot at its end.
pub fn start(
    slot: &Arc<Slot>,
    store: &Arc<Store>,
    job: Job,
    request: &Value,
) -> Result<Result<Current, String>, std::io::Error> {
    let mut cur = slot.lock();
    if let Some(c) = cur.as_ref() {
        return Ok(Err(c.id.clone()));
    }
    let id = store.create()?;
    let cfg = job.config();
    let mut meta = super::store::new_meta(&id, &cfg.url, request, &cfg.notices);
    meta["kind"] = job.kind().into();
    store.save(&meta)?;
    let live = Live::new();
    let start = std::time::SystemTime::now() + cfg.load.shape.warmup;
    let board = Arc::new(Board::default());
    let c = Current {
        id: id.clone(),
        live: live.clone(),
        stopping: false,
        metrics: (RunMeta::of(&id, &cfg.load.info, start), board.clone()),
    };
    *cur = Some(c.clone());
    // A DELETE that came before this run must not stop it.
    INTERRUPT.store(false, Ordering::SeqCst);
    drop(cur);
    let (run_slot, store) = (slot.clone(), store.clone());
    let spawned = std::thread::Builder::new()
        .name(format!("blast-run-{id}"))
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &job {
                Job::Run(cfg) => execute(&store, &id, cfg, &live, board),
                Job::Find(f, find) => search(&store, &id, f, *find, &live),
            }))
            .unwrap_or_else(|_| Err("the run failed inside blast (a panic)".into()));
            finish(&run_slot, &store, meta, outcome, &live);
        });
    if let Err(e) = spawned {
        *slot.lock() = None;
        return Err(e);
    }
    Ok(Ok(c))
}

/// Run the engine and write the run's files; the result document.
fn execute(
    store: &Store,
    id: &str,
    cfg: &Config,
    live: &Arc<Live>,
    board: Arc<Board>,
) -> Result<Value, String> {
    let dir = store.dir(id).ok_or("the run's folder is gone")?;
    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let wall = std::time::SystemTime::now() + cfg.load.shape.warmup;
    let hlog_path = path("run.hlog");
    let sink = LiveSink {
        board,
        live: live.clone(),
        hlog: {
            let names: Vec<(&str, &str)> = (cfg.load.mix.names.iter())
                .map(|n| (n.name.as_str(), n.method.as_str()))
                .collect();
            hlog::HlogWriter::create(&hlog_path, wall, &cfg.load.info, &names).ok()
        },
    };
    let summary = engine::run(&cfg.load, Some(Box::new(sink) as Box<dyn IntervalSink>))
        .map_err(|e| e.to_string())?;
    let verdicts = cfg.slo.as_ref().map(|slo| slo.check(&summary));
    let mut doc = result_doc(&summary, verdicts.as_deref());
    doc["id"] = id.into();
    // The measurements are in `doc`: a file that cannot be written only
    // leaves its download missing.
    let _ = hlog::append_summary(&hlog_path, &summary);
    let _ = csv::write(&path("run"), &summary);
    let _ = html::write_run(&path("report.html"), &summary, verdicts.as_deref());
    if let Ok(bytes) = serde_json::to_vec_pretty(&doc) {
        let _ = std::fs::write(dir.join("result.json"), bytes);
    }
    Ok(doc)
}

/// Run a `blast find` search and write its files; its result document
/// (`blast find --json`'s, with the id).
fn search(
    store: &Store,
    id: &str,
    f: &FindConfig,
    find: FindFn,
    live: &Live,
) -> Result<Value, String> {
    let dir = store.dir(id).ok_or("the run's folder is gone")?;
    // Each step goes to /events as it ends.
    let mut on_step = |s: &Step| live.point(report::find::step_json(s));
    let result = find(f, &mut on_step).map_err(|e| e.to_string())?;
    let mut doc = report::find::to_json(&result);
    doc["id"] = id.into();
    let _ = html::write_find(&dir.join("report.html").to_string_lossy(), &result);
    if let Ok(bytes) = serde_json::to_vec_pretty(&doc) {
        let _ = std::fs::write(dir.join("result.json"), bytes);
    }
    Ok(doc)
}

/// Record the outcome, end the live feed and free the slot.
fn finish(
    slot: &Slot,
    store: &Store,
    mut meta: Value,
    outcome: Result<Value, String>,
    live: &Live,
) {
    let mut cur = slot.lock();
    let stopped = cur.as_ref().is_some_and(|c| c.stopping);
    if let Some(c) = cur.as_ref() {
        *slot.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(c.metrics.clone());
    }
    INTERRUPT.store(false, Ordering::SeqCst);
    meta["finished_at"] = rfc3339(now_ms()).into();
    match &outcome {
        Ok(doc) => {
            meta["status"] = if stopped { "stopped" } else { "done" }.into();
            meta["summary"] = brief(doc);
        }
        Err(e) => {
            meta["status"] = "failed".into();
            meta["error"] = e.as_str().into();
        }
    }
    if let Err(e) = store.save(&meta) {
        eprintln!("blast serve: cannot record run {}: {e}", meta["id"]);
    }
    match &outcome {
        Ok(doc) => live.finish(true, doc),
        Err(e) => live.finish(false, &json!({"id": meta["id"], "error": e})),
    }
    *cur = None;
}

/// The few numbers the history list shows of a run.
pub fn brief(doc: &Value) -> Value {
    let mut m = Map::new();
    for k in [
        "requests",
        "rps",
        "p50",
        "p99",
        "errors",
        "duration_s",
        "max_sustainable_rps",
    ] {
        if let Some(v) = doc.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    Value::Object(m)
}

/// The `--json` document with the seed service's keys (see the module doc).
pub fn result_doc(s: &Summary, verdicts: Option<&[crate::stats::slo::Verdict]>) -> Value {
    let mut doc = report::to_json(s);
    let Some(map) = doc.as_object_mut() else {
        return doc;
    };
    if let Some(v) = verdicts {
        map.insert("slo".into(), report::slo_json(v));
        map.insert("slo_pass".into(), v.iter().all(|v| v.pass).into());
    }
    let by_kind = map.remove("errors").unwrap_or(Value::Null);
    let total: u64 = by_kind
        .as_object()
        .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
    map.insert("errors_by_kind".into(), by_kind);
    map.insert("errors".into(), total.into());
    let lat = map.get("latency_us").cloned().unwrap_or(Value::Null);
    let ms = |k: &str| {
        lat[k]
            .as_f64()
            .map_or(Value::Null, |us| (us / 1000.0).into())
    };
    for (key, from) in [
        ("p50", "p50"),
        ("p90", "p90"),
        ("p97", "p97"),
        ("p99", "p99"),
        ("mean", "mean"),
        ("std", "stdev"),
    ] {
        map.insert(key.into(), ms(from));
    }
    // The codes the default rule refuses; none when no response was
    // refused, as when a status check (`status == 503`) accepts them.
    let status: Map<String, Value> = s
        .status_codes
        .iter()
        .filter(|_| s.errors.status > 0)
        .filter(|(code, _)| !(200..400).contains(*code))
        .map(|(code, n)| (code.to_string(), (*n).into()))
        .collect();
    map.insert("errors_status".into(), Value::Object(status));
    doc
}
