//! `blast find`: the maximum sustainable throughput under an SLO.
//!
//! A sequence of constant-rate steps on one connection pool (one `Session`,
//! one phase per step): the offered rate doubles until a step fails the SLO
//! or could not send more than 2% of what it offered, then bisects between the
//! last passing and the first failing rate until they are within
//! `--precision` of each other. The answer is the highest rate that passed.

use crate::config::FindConfig;
use crate::error::Error;
use crate::report::{format_metric, format_time_us};
use crate::session::Session;
use crate::slo::{self, Verdict};
use crate::worker::{self, PaceSpec, Phase};
use serde_json::{json, Value};
use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct Step {
    pub offered: f64,
    pub achieved: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub error_percent: f64,
    pub requests: u64,
    pub verdicts: Vec<Verdict>,
    /// The SLO held and blast sent (nearly) all it offered.
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
        if failed.is_empty() {
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

/// The next rate to try, or None when the search is done.
pub fn next_rate(
    f: &FindConfig,
    pass: Option<f64>,
    fail: Option<f64>,
    current: f64,
) -> Option<f64> {
    match (pass, fail) {
        (_, None) => {
            if current >= f.max {
                None
            } else {
                Some((current * 2.0).min(f.max))
            }
        }
        (None, Some(_)) => None,
        (Some(lo), Some(hi)) => {
            if (hi - lo) / lo <= f.precision {
                None
            } else {
                Some((lo + hi) / 2.0)
            }
        }
    }
}

pub fn run(f: &FindConfig) -> Result<FindResult, Error> {
    let cfg = &f.run;
    let session = Session::start(cfg)?;
    let mut result = FindResult {
        url: cfg.url.clone(),
        slo: f
            .slo
            .conditions
            .iter()
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>()
            .join(","),
        steps: Vec::new(),
        best: None,
        interrupted: false,
        connections: cfg.connections,
        threads: cfg.threads,
        step_s: f.step.as_secs_f64(),
    };
    let (mut pass, mut fail): (Option<f64>, Option<f64>) = (None, None);
    let mut rate = f.start;
    loop {
        let phase = Phase {
            start: Instant::now(),
            duration: Some(f.step),
            pace: PaceSpec::Rate {
                total_per_sec: rate,
                ramp: std::time::Duration::ZERO,
            },
            requests: None,
            record: true,
            last: false,
        };
        let label = format!(
            "step {} @ {} req/s ",
            result.steps.len() + 1,
            format_metric(rate)
        );
        let s = session.phase(cfg, &phase, label, None);
        let verdicts = f.slo.check(&s);
        let achieved = s.rps();
        let step = Step {
            offered: rate,
            achieved,
            p50_us: s.latency.value_at_quantile(0.5),
            p99_us: s.latency.value_at_quantile(0.99),
            error_percent: slo::error_percent(&s),
            requests: s.requests,
            pass: verdicts.iter().all(|v| v.pass) && crate::report::rate_shortfall(&s).is_none(),
            verdicts,
        };
        if worker::INTERRUPT.load(Ordering::Relaxed) {
            // A cut-short step proves nothing either way.
            result.interrupted = true;
            break;
        }
        if step.pass {
            pass = Some(pass.map_or(rate, |p: f64| p.max(rate)));
            result.best = Some(result.steps.len());
        } else {
            fail = Some(fail.map_or(rate, |h: f64| h.min(rate)));
        }
        result.steps.push(step);
        match next_rate(f, pass, fail, rate) {
            Some(r) => rate = r,
            None => break,
        }
    }
    if cfg.progress {
        eprint!("\r\x1b[K");
    }
    session.finish(cfg, result)
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
            "  Interrupted by Ctrl-C: the result covers the steps above"
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

pub fn to_json(r: &FindResult) -> Value {
    let steps: Vec<Value> = r
        .steps
        .iter()
        .map(|s| {
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
        })
        .collect();
    json!({
        "url": r.url,
        "slo": r.slo,
        "config": {"connections": r.connections, "threads": r.threads, "step_duration_s": r.step_s},
        "max_sustainable_rps": r.max_sustainable().map(|s| s.offered),
        "steps": steps,
        "interrupted": r.interrupted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fc(start: f64, max: f64) -> FindConfig {
        let args = <crate::cli::Cli as clap::Parser>::try_parse_from([
            "blast",
            "find",
            "--slo",
            "p99<10ms",
            "http://127.0.0.1:1/",
        ])
        .unwrap();
        let Some(crate::cli::Command::Find(mut a)) = args.command else {
            panic!("not find");
        };
        a.start = start;
        a.max = max;
        FindConfig::from_args(&a, || Ok(())).unwrap()
    }

    /// Drive `next_rate` against a service whose true capacity is `cap`.
    fn search(f: &FindConfig, cap: f64) -> (Option<f64>, usize) {
        let (mut pass, mut fail) = (None, None);
        let mut rate = f.start;
        let mut steps = 0;
        loop {
            steps += 1;
            if rate <= cap {
                pass = Some(pass.map_or(rate, |p: f64| p.max(rate)));
            } else {
                fail = Some(fail.map_or(rate, |h: f64| h.min(rate)));
            }
            match next_rate(f, pass, fail, rate) {
                Some(r) => rate = r,
                None => return (pass, steps),
            }
        }
    }

    #[test]
    fn finds_capacity_within_precision() {
        let f = fc(100.0, 1e6);
        for cap in [150.0, 1000.0, 3333.0, 77_777.0] {
            let (found, steps) = search(&f, cap);
            let found = found.unwrap();
            // The bracket [pass, fail) holds cap and is within 5% of pass.
            assert!(
                found <= cap && (cap - found) / cap < 0.05,
                "cap {cap} found {found}"
            );
            assert!(steps < 25, "{steps} steps");
        }
    }

    #[test]
    fn start_failing_stops_at_once_and_max_caps() {
        let f = fc(100.0, 1e6);
        assert_eq!(search(&f, 50.0), (None, 1));
        let f = fc(100.0, 400.0);
        assert_eq!(search(&f, 1e9).0, Some(400.0));
    }
}
