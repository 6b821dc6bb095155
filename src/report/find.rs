//! `blast find`'s result: the steps it ran and the best passing rate, as
//! plain data, with its text table and JSON document.

use crate::report::format_time_us;
use crate::stats::slo::Verdict;
use serde_json::{json, Value};
use std::io::{self, Write};

#[derive(Clone, Debug)]
pub struct Step {
    pub offered: f64,
    pub achieved: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub error_percent: f64,
    pub requests: u64,
    pub verdicts: Vec<Verdict>,
    /// Responses failed by a check, where the SLO has no `errors`
    /// condition to judge them: any fails the step.
    pub check_failures: u64,
    /// The SLO held, no check failed, and blast sent (nearly) all it offered.
    pub pass: bool,
}

impl Step {
    pub fn verdict(&self) -> String {
        if self.pass {
            return "pass".into();
        }
        let failed: Vec<&str> = self
            .verdicts
            .iter()
            .filter(|v| !v.pass)
            .map(|v| v.condition.text.as_str())
            .collect();
        if failed.is_empty() && self.check_failures > 0 {
            format!("fail: {} check failures", self.check_failures)
        } else if failed.is_empty() {
            "fail: >2% of offered not sent (raise -c)".into()
        } else {
            format!("fail: {}", failed.join(", "))
        }
    }
}

#[derive(Clone, Debug)]
pub struct FindResult {
    pub url: String,
    pub slo: String,
    pub steps: Vec<Step>,
    /// Index into `steps` of the best passing step.
    pub best: Option<usize>,
    pub interrupted: bool,
    pub connections: u64,
    pub threads: u64,
    pub step_s: f64,
}

impl FindResult {
    pub fn max_sustainable(&self) -> Option<&Step> {
        self.best.map(|i| &self.steps[i])
    }
}

pub fn write_text(w: &mut impl Write, r: &FindResult) -> io::Result<()> {
    writeln!(
        w,
        "Searching the maximum sustainable throughput @ {}",
        r.url
    )?;
    writeln!(
        w,
        "  {} threads and {} connections, steps of {}, SLO {}",
        r.threads,
        r.connections,
        format_time_us(r.step_s * 1e6),
        r.slo
    )?;
    writeln!(
        w,
        "  {:>4} {:>12} {:>12} {:>10} {:>10} {:>8}  verdict",
        "step", "offered/s", "achieved/s", "p50", "p99", "errors"
    )?;
    for (i, s) in r.steps.iter().enumerate() {
        writeln!(
            w,
            "  {:>4} {:>12.1} {:>12.1} {:>10} {:>10} {:>7.2}%  {}",
            i + 1,
            s.offered,
            s.achieved,
            format_time_us(s.p50_us as f64),
            format_time_us(s.p99_us as f64),
            s.error_percent,
            s.verdict()
        )?;
    }
    if r.interrupted {
        writeln!(
            w,
            "  Interrupted by Ctrl-C or SIGTERM: the result covers the steps above"
        )?;
    }
    match r.max_sustainable() {
        Some(s) => writeln!(
            w,
            "Maximum sustainable throughput: {:.0} req/s (p99 {}, errors {:.2}%)",
            s.offered,
            format_time_us(s.p99_us as f64),
            s.error_percent
        ),
        None => writeln!(
            w,
            "Maximum sustainable throughput: none: the first step already fails the SLO (try a lower --start)"
        ),
    }
}

/// One step as `blast find --json` lists it.
pub fn step_json(s: &Step) -> Value {
    json!({
        "offered_rps": s.offered,
        "achieved_rps": s.achieved,
        "requests": s.requests,
        "p50_us": s.p50_us,
        "p99_us": s.p99_us,
        "error_percent": s.error_percent,
        "pass": s.pass,
        "verdict": s.verdict(),
        "slo": crate::report::slo_json(&s.verdicts),
    })
}

pub fn to_json(r: &FindResult) -> Value {
    let steps: Vec<Value> = r.steps.iter().map(step_json).collect();
    json!({
        "url": r.url,
        "slo": r.slo,
        "config": {"connections": r.connections, "threads": r.threads, "step_duration_s": r.step_s},
        "max_sustainable_rps": r.max_sustainable().map(|s| s.offered),
        "steps": steps,
        "interrupted": r.interrupted,
    })
}
