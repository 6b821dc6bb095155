//! Live metrics in Prometheus' terms: the one place that turns a run's
//! `stats::export::Frame` into metric families (`families`), written as the
//! text exposition format or OpenMetrics (`text`) or as a remote-write 1.0
//! request (`remote`). Names follow Prometheus' rules: base units
//! (seconds, bytes), `_total` counters, labels of bounded cardinality (a
//! request name is bounded by the scenario, a status by the codes HTTP
//! has). Every series carries the run's `id`, so one Prometheus keeps
//! several runs apart and a dashboard picks one.

pub mod remote;
pub mod text;

use crate::shape::Stages;
use crate::stats::export::{kinds, Buckets, Frame, BUCKETS_US};
use crate::stats::RunInfo;
use std::time::Duration;

/// A sample's labels: (name, value), in the order written.
pub type Labels = Vec<(&'static str, String)>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    /// A gauge of 1 whose labels are the point (`blast_run_info`).
    Info,
}

/// One sample: its name is the family's with `suffix` (`_total`,
/// `_bucket`, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub suffix: &'static str,
    pub labels: Labels,
    pub value: f64,
}

/// A metric family: the name without a counter's `_total` or an info's
/// `_info` (OpenMetrics' family name), its help, its type, its samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub samples: Vec<Sample>,
}

/// What the metrics say of the run itself, besides its frame.
#[derive(Clone, Debug)]
pub struct RunMeta {
    pub id: String,
    pub url: String,
    pub method: String,
    pub engine: String,
    pub protocol: String,
    /// Unix time of the measured start, seconds.
    pub start_s: f64,
    pub connections: u64,
    pub rate: Option<f64>,
    pub ramp_up: Duration,
    pub stages: Option<Stages>,
}

impl RunMeta {
    pub fn of(id: &str, info: &RunInfo, start: std::time::SystemTime) -> RunMeta {
        let start_s = start
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        RunMeta {
            id: id.to_string(),
            url: info.url.clone(),
            method: info.method.clone(),
            engine: info.engine.clone(),
            protocol: info.protocol.clone(),
            start_s,
            connections: info.connections,
            rate: info.rate,
            ramp_up: Duration::from_secs_f64(info.ramp_up_s.max(0.0)),
            stages: info.stages.clone(),
        }
    }

    /// The schedule's rate at `elapsed` (`-R`, its ramp, rate stages);
    /// None for a closed loop.
    fn target_rate(&self, elapsed: Duration) -> Option<f64> {
        let rate = self.rate?;
        if let Some(st) = &self.stages {
            return Some(st.target_at(elapsed));
        }
        if self.ramp_up.is_zero() || elapsed >= self.ramp_up {
            return Some(rate);
        }
        Some(rate * elapsed.as_secs_f64() / self.ramp_up.as_secs_f64())
    }

    /// Users (connections) the shape asks for at `elapsed`.
    fn users(&self, elapsed: Duration) -> f64 {
        match (&self.stages, self.rate) {
            (Some(st), None) => st.target_at(elapsed).round(),
            _ => self.connections as f64,
        }
    }
}

const DURATION_HELP: &str =
    "Latency from when each request was due to its last byte, per request name";

/// The families of every run given (the current one, a finished one),
/// each run's series labelled with its `id`.
pub fn families(runs: &[(&RunMeta, &Frame)]) -> Vec<Family> {
    let mut out = vec![
        family(
            "blast_run",
            "The run: 1, its settings in the labels",
            Kind::Info,
        ),
        family(
            "blast_run_start_time_seconds",
            "Unix time of the measured start",
            Kind::Gauge,
        ),
        family(
            "blast_requests",
            "Responses, by request name, method and status code",
            Kind::Counter,
        ),
        family(
            "blast_errors",
            "Failed requests by request name and kind (the report's error kinds)",
            Kind::Counter,
        ),
        family(
            "blast_bytes_read",
            "Bytes read from the target",
            Kind::Counter,
        ),
        family(
            "blast_request_duration_seconds",
            DURATION_HELP,
            Kind::Histogram,
        ),
        family("blast_connections", "Open connections", Kind::Gauge),
        family(
            "blast_in_flight",
            "Requests written and not yet answered",
            Kind::Gauge,
        ),
        family(
            "blast_target_rate",
            "The schedule's rate, requests per second (-R, ramps, stages)",
            Kind::Gauge,
        ),
        family(
            "blast_users",
            "Users (connections) the load shape asks for",
            Kind::Gauge,
        ),
        family(
            "blast_output_tokens",
            "Output tokens of streamed responses",
            Kind::Counter,
        ),
        family(
            "blast_ttft_seconds",
            "Time to the first token of streamed responses",
            Kind::Histogram,
        ),
        family(
            "blast_itl_seconds",
            "Gaps between tokens of streamed responses",
            Kind::Histogram,
        ),
    ];
    for (meta, frame) in runs {
        add_run(&mut out, meta, frame);
    }
    out.retain(|f| !f.samples.is_empty());
    out
}

fn family(name: &'static str, help: &'static str, kind: Kind) -> Family {
    Family {
        name,
        help,
        kind,
        samples: Vec::new(),
    }
}

fn add_run(out: &mut [Family], meta: &RunMeta, f: &Frame) {
    let id = || ("id", meta.id.clone());
    let mut push = |name: &str, suffix: &'static str, labels: Labels, value: f64| {
        if let Some(fam) = out.iter_mut().find(|f| f.name == name) {
            fam.samples.push(Sample {
                suffix,
                labels,
                value,
            });
        }
    };
    let info = vec![
        id(),
        ("url", meta.url.clone()),
        ("engine", meta.engine.clone()),
        ("protocol", meta.protocol.clone()),
        ("version", env!("CARGO_PKG_VERSION").to_string()),
    ];
    push("blast_run", "_info", info, 1.0);
    push("blast_run_start_time_seconds", "", vec![id()], meta.start_s);
    let path = crate::report::csv::url_path(&meta.url);
    let mut hists: Vec<(&str, Labels, &Buckets)> = Vec::new();
    for n in &f.names {
        let name = n.name.clone().unwrap_or_else(|| path.clone());
        let method = n.method.clone().unwrap_or_else(|| meta.method.clone());
        for (code, count) in &n.status {
            let labels = vec![
                id(),
                ("name", name.clone()),
                ("method", method.clone()),
                ("status", code.to_string()),
            ];
            push("blast_requests", "_total", labels, *count as f64);
        }
        for (kind, count) in kinds(&n.errors) {
            let labels = vec![id(), ("name", name.clone()), ("kind", kind.to_string())];
            push("blast_errors", "_total", labels, count as f64);
        }
        hists.push((
            "blast_request_duration_seconds",
            vec![id(), ("name", name)],
            &n.latency,
        ));
    }
    for (kind, count) in kinds(&f.unowned).into_iter().filter(|k| k.1 > 0) {
        let labels = vec![id(), ("name", String::new()), ("kind", kind.to_string())];
        push("blast_errors", "_total", labels, count as f64);
    }
    push(
        "blast_bytes_read",
        "_total",
        vec![id()],
        f.bytes_read as f64,
    );
    push("blast_connections", "", vec![id()], f.connections as f64);
    push("blast_in_flight", "", vec![id()], f.in_flight as f64);
    if let Some(r) = meta.target_rate(f.elapsed) {
        push("blast_target_rate", "", vec![id()], r);
    }
    push("blast_users", "", vec![id()], meta.users(f.elapsed));
    if f.streamed > 0 {
        push("blast_output_tokens", "_total", vec![id()], f.tokens as f64);
        hists.push(("blast_ttft_seconds", vec![id()], &f.ttft));
        hists.push(("blast_itl_seconds", vec![id()], &f.itl));
    }
    for (name, labels, b) in hists {
        for (le, n) in BUCKETS_US.iter().zip(b.cumulative) {
            let mut l = labels.clone();
            l.push(("le", (*le as f64 / 1e6).to_string()));
            push(name, "_bucket", l, n as f64);
        }
        let mut l = labels.clone();
        l.push(("le", "+Inf".into()));
        push(name, "_bucket", l, b.count as f64);
        push(name, "_sum", labels.clone(), b.sum_s);
        push(name, "_count", labels, b.count as f64);
    }
}

#[cfg(test)]
mod tests;
