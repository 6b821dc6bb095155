//! `blast find`: the maximum sustainable throughput under an SLO.
//!
//! A sequence of constant-rate steps on one connection pool (one `Session`,
//! one phase per step): the offered rate doubles until a step fails the SLO
//! or could not send more than 2% of what it offered, then bisects between the
//! last passing and the first failing rate until they are within
//! `--precision` of each other. The answer is the highest rate that passed.

use super::output::write_out;
use super::process;
use crate::config::{cli, FindConfig};
use crate::engine::{io, PaceSpec, Phase, Session, INTERRUPT};
use crate::error::{self, Error};
use crate::report::find::{self, FindResult, Step};
use crate::report::{format_metric, html, rate_shortfall};
use crate::stats::slo::{self, Metric};
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// `blast find`: search, report, exit 1 when even the first step fails.
pub fn main(args: &cli::FindArgs) -> Result<i32, Error> {
    let f = FindConfig::from_args(args, io::uring::probe)?;
    for n in &f.run.notices {
        eprintln!("blast: {n}");
    }
    process::install_ctrl_c();
    let result = run(&f)?;
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
    run_with(f, &mut |_| {})
}

/// `run`, telling `on_step` of each step as it ends (`blast serve`'s live
/// feed of a search).
pub fn run_with(f: &FindConfig, on_step: &mut dyn FnMut(&Step)) -> Result<FindResult, Error> {
    let cfg = &f.run.load;
    process::fit_open_files(cfg)?;
    let session = Session::start(cfg)?;
    let mut result = FindResult {
        url: f.run.url.clone(),
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
        connections: cfg.shape.connections,
        threads: cfg.shape.threads,
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
                arrival: crate::engine::Arrival::Constant,
            },
            requests: None,
            record: true,
            last: false,
            stages: None,
        };
        let label = format!(
            "step {} @ {} req/s ",
            result.steps.len() + 1,
            format_metric(rate)
        );
        let s = session.phase(cfg, &phase, label, None);
        let verdicts = f.slo.check(&s);
        let achieved = s.rps();
        // A step whose checks fail is a failed step; `errors<X%` judges
        // them itself where the SLO has it.
        let judged = f.slo.conditions.iter().any(|c| c.metric == Metric::Errors);
        let check_failures = if judged { 0 } else { s.errors.check };
        let step = Step {
            offered: rate,
            achieved,
            p50_us: s.latency.value_at_quantile(0.5),
            p99_us: s.latency.value_at_quantile(0.99),
            error_percent: slo::error_percent(&s),
            requests: s.requests,
            pass: verdicts.iter().all(|v| v.pass)
                && check_failures == 0
                && rate_shortfall(&s).is_none(),
            verdicts,
            check_failures,
        };
        if INTERRUPT.load(Ordering::Relaxed) {
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
        on_step(&step);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fc(start: f64, max: f64) -> FindConfig {
        let args = <cli::Cli as clap::Parser>::try_parse_from([
            "blast",
            "find",
            "--slo",
            "p99<10ms",
            "http://127.0.0.1:1/",
        ])
        .unwrap();
        let Some(cli::Command::Find(mut a)) = args.command else {
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
