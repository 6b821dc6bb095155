//! Load stages (`--stages "30s:100,2m:100,30s:400"`, a scenario's
//! `[[stage]]`): a piecewise-linear load shape, as k6's stages are.
//!
//! Each `DURATION:TARGET` goes linearly from the previous target (the start
//! value: 0, or `-R`'s rate) to TARGET over DURATION; `0s:N` jumps. A target
//! is users (open connections) or, with `-R`, requests per second: this module
//! does not care which. At an instant where a stage ends the next one is in
//! force, and a jump's zero-length stage is never "in force": the stage after
//! it is, ramping from the jump's target. Past the end the last target holds.
//!
//! For the open-loop schedule, `sends_by` is the area under the shape (how
//! many requests are due by a time) and `time_of` its inverse (when the n-th
//! is due), solved per stage in closed form, so a pacer that follows a ramp
//! still schedules every request at a time fixed in advance.

use super::values::parse_duration;
use serde::Deserialize;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    pub target: f64,
}

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

/// The shape over a run: where each stage ends, and what it starts from.
#[derive(Clone, Debug, PartialEq)]
pub struct Stages {
    list: Vec<Stage>,
    /// `ends[i]`: time from the run's start to the end of stage i.
    ends: Vec<Duration>,
    start: f64,
}

impl Stages {
    /// Err when there is nothing to run: no stage, or all of zero length.
    pub fn new(list: Vec<Stage>) -> Result<Stages, String> {
        let ends: Vec<Duration> = list
            .iter()
            .scan(Duration::ZERO, |t, s| {
                *t += s.duration;
                Some(*t)
            })
            .collect();
        if ends.last().is_none_or(|t| t.is_zero()) {
            return Err("the stages last 0s in all: give at least one a duration".into());
        }
        Ok(Stages {
            list,
            ends,
            start: 0.0,
        })
    }

    /// The value the first stage ramps from (`-R`'s rate; 0 by default).
    pub fn starting_at(mut self, start: f64) -> Stages {
        self.start = start;
        self
    }

    pub fn list(&self) -> &[Stage] {
        &self.list
    }

    /// How long the run lasts: the sum of the stages.
    pub fn total(&self) -> Duration {
        *self.ends.last().expect("Stages::new refuses an empty list")
    }

    /// The index of the stage in force at `elapsed` (the last one past the end).
    pub fn stage_at(&self, elapsed: Duration) -> usize {
        self.ends
            .partition_point(|e| *e <= elapsed)
            .min(self.list.len() - 1)
    }

    /// The target in force at `elapsed`.
    pub fn target_at(&self, elapsed: Duration) -> f64 {
        let i = self.ends.partition_point(|e| *e <= elapsed);
        let Some(s) = self.list.get(i) else {
            return self.list[self.list.len() - 1].target;
        };
        let from = self.from(i);
        let into = (elapsed - (self.ends[i] - s.duration)).as_secs_f64();
        from + (s.target - from) * into / s.duration.as_secs_f64()
    }

    /// What stage `i` ramps from.
    fn from(&self, i: usize) -> f64 {
        i.checked_sub(1).map_or(self.start, |p| self.list[p].target)
    }

    /// The area under the shape from 0 to `elapsed` (target-seconds: with
    /// `-R`, the requests due by then). Past the end the last target holds.
    pub fn sends_by(&self, elapsed: Duration) -> f64 {
        let mut area = 0.0;
        let mut begin = Duration::ZERO;
        for (i, s) in self.list.iter().enumerate() {
            if elapsed <= begin {
                return area;
            }
            if s.duration.is_zero() {
                continue;
            }
            let d = s.duration.as_secs_f64();
            let into = (elapsed - begin).as_secs_f64().min(d);
            let (a, b) = (self.from(i), (s.target - self.from(i)) / d);
            area += a * into + b * into * into / 2.0;
            begin = self.ends[i];
        }
        let last = self.list[self.list.len() - 1].target;
        area + last * elapsed.saturating_sub(begin).as_secs_f64()
    }

    /// When the area reaches `n` (the n-th request's scheduled time): the
    /// inverse of `sends_by`. None if the shape never gets there (it ends
    /// at target 0 below `n`).
    pub fn time_of(&self, n: f64) -> Option<Duration> {
        let mut rem = n.max(0.0);
        let mut begin = 0.0;
        for (i, s) in self.list.iter().enumerate() {
            let d = s.duration.as_secs_f64();
            let a = self.from(i);
            let area = (a + s.target) * d / 2.0;
            if rem <= area && d > 0.0 {
                let b = (s.target - a) / d;
                // a*x + b*x^2/2 = rem, in the form that stays exact as b -> 0.
                let root = (a * a + 2.0 * b * rem).max(0.0).sqrt();
                let x = if rem == 0.0 {
                    0.0
                } else {
                    2.0 * rem / (a + root)
                };
                return Some(Duration::from_secs_f64(begin + x.min(d)));
            }
            rem -= area;
            begin += d;
        }
        let last = self.list[self.list.len() - 1].target;
        (last > 0.0).then(|| Duration::from_secs_f64(begin + rem / last))
    }
}

#[cfg(test)]
#[path = "stages_tests.rs"]
mod tests;
