//! A load shape over time: stages, each going linearly from the previous
//! target (the start value: 0, or `-R`'s rate) to its own over its
//! duration, as k6's stages do; `0s:N` jumps. A target is users (open
//! connections) or, with `-R`, requests per second: this module does not
//! care which. At an instant where a stage ends the next one is in force,
//! and a jump's zero-length stage is never "in force": the stage after it
//! is, ramping from the jump's target. Past the end the last target holds.
//!
//! For the open-loop schedule, `sends_by` is the area under the shape (how
//! many requests are due by a time) and `time_of` its inverse (when the n-th
//! is due), solved per stage in closed form, so a pacer that follows a ramp
//! still schedules every request at a time fixed in advance. It sits at the
//! crate's root, beside `units`, because three layers read it: `config`
//! parses it (`config::stages`), the engine paces by it, and the reports
//! show each second's target.

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    pub target: f64,
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
    /// at target 0, or so near 0 that the time overflows, below `n`).
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
        // A time past what a Duration holds (a last target near 0) is never.
        (last > 0.0)
            .then(|| Duration::try_from_secs_f64(begin + rem / last).ok())
            .flatten()
    }

    /// The value the first stage ramps from.
    pub fn start(&self) -> f64 {
        self.start
    }

    /// The highest target of the run (what `-c` must cover as users).
    pub fn max_target(&self) -> f64 {
        self.list
            .iter()
            .map(|s| s.target)
            .fold(self.start, f64::max)
    }

    /// The mean target over `[from, to)` (the area over the width): what a
    /// second of the timeline should have seen.
    pub fn mean_over(&self, from: Duration, to: Duration) -> f64 {
        let w = to.saturating_sub(from).as_secs_f64();
        if w <= 0.0 {
            return self.target_at(from);
        }
        (self.sends_by(to) - self.sends_by(from)) / w
    }

    /// The first instant at or after `from` when the target is `v` or
    /// more; None if it never is again. A closed-loop user waits for it.
    pub fn reaches(&self, from: Duration, v: f64) -> Option<Duration> {
        if self.target_at(from) >= v {
            return Some(from);
        }
        let mut begin = Duration::ZERO;
        for (i, s) in self.list.iter().enumerate() {
            let end = self.ends[i];
            let (a, b) = (self.from(i), s.target);
            if end > from && !s.duration.is_zero() && b >= v {
                // Within this stage the target goes a -> b linearly.
                let d = s.duration.as_secs_f64();
                let x = if a >= v { 0.0 } else { d * (v - a) / (b - a) };
                let at = begin + Duration::from_secs_f64(x.min(d));
                return Some(at.max(from));
            }
            if s.duration.is_zero() && b >= v && end > from {
                return Some(end);
            }
            begin = end;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `stages` fuzz target: a last stage whose target is
    /// nearly 0 puts the next request further away than a Duration holds.
    /// That request is never due, as under a target of 0.
    #[test]
    fn a_request_too_far_away_is_never_due() {
        let s = Stages::new(vec![Stage {
            duration: Duration::from_secs(1),
            target: 1e-20,
        }])
        .unwrap();
        assert_eq!(s.time_of(0.0), Some(Duration::ZERO));
        assert_eq!(s.time_of(1.0), None);
        // Still due while it can be said when.
        let slow = Stages::new(vec![Stage {
            duration: Duration::from_secs(1),
            target: 1e-3,
        }])
        .unwrap();
        let t = slow.time_of(1.0).unwrap().as_secs_f64();
        assert!((t - 1000.5).abs() < 1e-6, "{t}");
    }
}
