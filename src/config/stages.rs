//! Load stages (`--stages "30s:100,2m:100,30s:400"`, a scenario's
//! `[[stage]]`): a piecewise-linear load shape, as k6's stages are.
//!
//! Parsing only: the shape itself (what is in force when, and the
//! open-loop schedule over it) is `crate::shape`, which the engine and the
//! reports read too.

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
