//! Load stages (`--stages "30s:100,2m:100,30s:400"`, a scenario's
//! `[[stage]]`): a piecewise-linear load shape, as k6's stages are.
//!
//! Parsing only: the shape itself (what is in force when, and the
//! open-loop schedule over it) is `crate::shape`, which the engine and the
//! reports read too.

use super::cli::LoadArgs;
use super::values::parse_duration;
pub use crate::shape::{Stage, Stages};
use serde::Deserialize;
#[cfg(test)]
use std::time::Duration;

/// A scenario's `[[stage]]`: `duration = "30s"`, `target = 100`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    pub duration: String,
    pub target: f64,
}

impl StageSpec {
    /// `n` counts from 1, as a user counts the file's `[[stage]]` tables.
    pub fn to_stage(&self, n: usize) -> Result<Stage, String> {
        let duration =
            parse_duration(&self.duration).map_err(|e| format!("[[stage]] {n}: duration: {e}"))?;
        let target = check_target(self.target)
            .ok_or_else(|| format!("[[stage]] {n}: target {} must be 0 or more", self.target))?;
        Ok(Stage { duration, target })
    }
}

/// `--stages`: the stages in order; each error names the item.
pub fn parse_stages(s: &str) -> Result<Vec<Stage>, String> {
    if s.trim().is_empty() {
        return Err("--stages: empty: expected DURATION:TARGET,... (e.g. 30s:100,1m:100)".into());
    }
    s.split(',')
        .map(|item| {
            let item = item.trim();
            let (d, t) = item
                .split_once(':')
                .ok_or_else(|| format!("--stages: \"{item}\": expected DURATION:TARGET"))?;
            let duration = parse_duration(d)
                .map_err(|_| format!("--stages: \"{item}\": bad duration \"{}\"", d.trim()))?;
            let target = parse_target(t.trim()).ok_or_else(|| {
                format!("--stages: \"{item}\": bad target \"{}\" (a number, 0 or more, k and M allowed)", t.trim())
            })?;
            Ok(Stage { duration, target })
        })
        .collect()
}

/// The run's stages, from `--stages` or else the scenario's `[[stage]]`,
/// checked against the flags they replace, and the connections a run over
/// them opens: `-c`, or as users (no `-R`) the most users of any stage.
/// None without stages.
pub fn resolve(
    load: &LoadArgs,
    connections: Option<u64>,
    http2: bool,
    from_file: Vec<Stage>,
) -> Result<Option<(Stages, u64)>, String> {
    let (list, flag) = match &load.stages {
        Some(s) => (parse_stages(s)?, "--stages"),
        None if !from_file.is_empty() => (from_file, "the scenario's [[stage]]"),
        None => return Ok(None),
    };
    let stages = Stages::new(list).map_err(|e| format!("{flag}: {e}"))?;
    let total = crate::units::format_clock(stages.total().as_secs_f64().round() as u64);
    for (other, given, why) in [
        (
            "-d",
            load.duration.is_some(),
            format!("the run lasts the stages' sum, {total}"),
        ),
        (
            "-n",
            load.requests.is_some(),
            "the stages set how long the run lasts".into(),
        ),
        (
            "--ramp-up",
            load.ramp_up.is_some(),
            "a first stage such as 30s:100 is the ramp".into(),
        ),
        (
            "--warmup",
            load.warmup.is_some(),
            "a first stage is the warm-up".into(),
        ),
    ] {
        if given {
            return Err(format!("{other}: not with {flag} ({why})"));
        }
    }
    if let Some(r) = load.rate {
        return Ok(Some((stages.starting_at(r), connections.unwrap_or(10))));
    }
    if http2 {
        return Err(format!(
            "--http2: {flag} without -R are users, one HTTP/1.1 connection each (give -R for a rate over HTTP/2)"
        ));
    }
    // User i is on while i < the target, rounded: the most there will be.
    let most = stages.max_target().round() as u64;
    if most == 0 {
        return Err(format!("{flag}: every target is 0: no user would start"));
    }
    match connections {
        Some(c) if c < most => Err(format!(
            "-c {c}: below the {most} users of {flag} (leave -c out, or give {most} or more)"
        )),
        Some(c) => Ok(Some((stages, c))),
        None => Ok(Some((stages, most))),
    }
}

/// `100`, `2.5k`, `1M`, `0`.
fn parse_target(t: &str) -> Option<f64> {
    let (num, mult) = match t.char_indices().last()? {
        (i, 'k' | 'K') => (&t[..i], 1e3),
        (i, 'M') => (&t[..i], 1e6),
        _ => (t, 1.0),
    };
    check_target(num.parse::<f64>().ok()? * mult)
}

fn check_target(t: f64) -> Option<f64> {
    (t.is_finite() && (0.0..=1e9).contains(&t)).then_some(t)
}

#[cfg(test)]
#[path = "stages_tests.rs"]
mod tests;
