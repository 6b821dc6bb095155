//! Check outcomes (`--check`, a scenario's `checks`): what a worker tallies
//! per configured check and what the run's summary says about them.
//!
//! Every (request name, check) pair of the run is a slot, numbered once at
//! load; a worker counts into a flat vector by slot, so judging a response
//! adds to a few integers and never builds a string. Failures that are not
//! a configured check (an error event inside a stream, a body over
//! `--max-body`) have a detail that varies with the server's message: they
//! go into a small table, bounded per worker and per run, so a server that
//! sends a new message every time costs a fixed amount of memory.

use std::collections::BTreeMap;

/// Most distinct details (stream error messages) a worker or a run keeps;
/// the rest are counted under [`OTHER_STREAM_ERROR`].
pub const MAX_DETAILS: usize = 16;
/// The detail of stream errors past the first [`MAX_DETAILS`] messages.
pub const OTHER_STREAM_ERROR: &str = "stream error: (other)";
/// Details that begin so are `grpc` errors (`grpc: UNAVAILABLE: why`),
/// kept in the same bounded table as checks' own details.
pub const GRPC_DETAIL: &str = "grpc: ";

/// How the worker judged one response: the error kind it counts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judged {
    Ok,
    /// The status rule refused it (blast's default 2xx/3xx, or a status check).
    Status,
    /// A check failed (or the stream carried an error event).
    Check,
    /// A gRPC call ended with a status other than OK.
    Grpc,
}

impl Judged {
    /// The default rule alone: 2xx and 3xx succeed, as wrk counts them.
    #[inline]
    pub fn of_status(status: u16) -> Judged {
        if (200..400).contains(&status) {
            Judged::Ok
        } else {
            Judged::Status
        }
    }
}

/// One slot's counts: every evaluation (k6's passes and fails) and how many
/// requests it failed first (their error detail).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckTally {
    pub passes: u64,
    pub fails: u64,
    pub first: u64,
}

/// One worker's check outcomes of one interval.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckCounts {
    /// By slot, in the run's slot order.
    pub tally: Vec<CheckTally>,
    /// `check` failures with a detail of their own: (name, detail, count).
    pub other: Vec<(u16, Box<str>, u64)>,
}

impl CheckCounts {
    pub fn with_slots(slots: usize) -> Self {
        CheckCounts {
            tally: vec![CheckTally::default(); slots],
            other: Vec::new(),
        }
    }

    /// Count a `check` failure of request name `name` with its own detail.
    /// Allocates only the first time a detail is seen, at most
    /// `MAX_DETAILS` times.
    pub fn record_other(&mut self, name: u16, detail: &str) {
        if let Some(e) = self
            .other
            .iter_mut()
            .find(|(n, d, _)| *n == name && &**d == detail)
        {
            e.2 += 1;
            return;
        }
        let distinct = self.other.iter().filter(|e| &*e.1 != OTHER_STREAM_ERROR);
        if detail == OTHER_STREAM_ERROR || distinct.count() < MAX_DETAILS {
            self.other.push((name, detail.into(), 1));
        } else {
            self.record_other(name, OTHER_STREAM_ERROR);
        }
    }

    /// Move the counts out, leaving zeros for the same slots.
    pub fn take(&mut self) -> CheckCounts {
        let fresh = CheckCounts::with_slots(self.tally.len());
        std::mem::replace(self, fresh)
    }

    pub fn reset(&mut self) {
        self.tally.fill(CheckTally::default());
        self.other.clear();
    }
}

/// One configured check over the whole run, as the reports show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckSummary {
    /// The request name it applies to (None: a run without names).
    pub name: Option<String>,
    /// The expression as written.
    pub check: String,
    pub passes: u64,
    pub fails: u64,
}

impl CheckSummary {
    /// Share of evaluations that passed, in percent (100 with none).
    pub fn pass_percent(&self) -> f64 {
        let n = self.passes + self.fails;
        if n == 0 {
            100.0
        } else {
            self.passes as f64 * 100.0 / n as f64
        }
    }
}

/// The run's check outcomes, summed by the aggregator.
#[derive(Clone, Debug, Default)]
pub struct CheckTotals {
    /// Per slot: its request name index and its text.
    pub slots: Vec<(u16, String)>,
    pub tally: Vec<CheckTally>,
    /// (name, detail) -> count, bounded like a worker's table.
    pub other: BTreeMap<(u16, String), u64>,
}

impl CheckTotals {
    pub fn new(slots: Vec<(u16, String)>) -> Self {
        let tally = vec![CheckTally::default(); slots.len()];
        CheckTotals {
            slots,
            tally,
            other: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, c: &CheckCounts) {
        for (acc, t) in self.tally.iter_mut().zip(&c.tally) {
            acc.passes += t.passes;
            acc.fails += t.fails;
            acc.first += t.first;
        }
        for (name, detail, n) in &c.other {
            let key = (*name, detail.to_string());
            let distinct = self.other.keys().filter(|k| k.1 != OTHER_STREAM_ERROR);
            let key = if self.other.contains_key(&key) || distinct.count() < MAX_DETAILS {
                key
            } else {
                (*name, OTHER_STREAM_ERROR.to_string())
            };
            *self.other.entry(key).or_default() += n;
        }
    }

    /// The per-check summaries, naming each slot's request from `names`
    /// (empty for a run without names).
    pub fn summaries(&self, names: &[String]) -> Vec<CheckSummary> {
        self.slots
            .iter()
            .zip(&self.tally)
            .map(|((name, check), t)| CheckSummary {
                name: names.get(*name as usize).cloned(),
                check: check.clone(),
                passes: t.passes,
                fails: t.fails,
            })
            .collect()
    }

    /// `check` failures by detail, for the name `name` or (None) all of
    /// them, most frequent first.
    pub fn details(&self, name: Option<u16>) -> Vec<(String, u64)> {
        let mut by: BTreeMap<&str, u64> = BTreeMap::new();
        let wanted = |n: u16| name.is_none_or(|w| w == n);
        for ((n, check), t) in self.slots.iter().zip(&self.tally) {
            if wanted(*n) && t.first > 0 {
                *by.entry(check).or_default() += t.first;
            }
        }
        for ((n, d), c) in &self.other {
            if wanted(*n) {
                *by.entry(d).or_default() += c;
            }
        }
        let mut v: Vec<(String, u64)> = by.into_iter().map(|(d, n)| (d.to_string(), n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_details_are_bounded() {
        let mut c = CheckCounts::with_slots(1);
        for i in 0..40 {
            c.record_other(0, &format!("stream error: m{}", i % 20));
        }
        assert_eq!(c.other.len(), MAX_DETAILS + 1);
        let other = c.other.iter().find(|e| &*e.1 == OTHER_STREAM_ERROR);
        assert_eq!(other.map(|e| e.2), Some(8));
        let mut t = CheckTotals::new(vec![(0, "status == 200".into())]);
        c.tally[0] = CheckTally {
            passes: 3,
            fails: 2,
            first: 2,
        };
        t.add(&c);
        t.add(&c);
        let d = t.details(None);
        assert_eq!(d[0], (OTHER_STREAM_ERROR.to_string(), 16));
        assert!(d.contains(&("status == 200".to_string(), 4)));
        assert_eq!(d.iter().map(|x| x.1).sum::<u64>(), 80 + 4);
        let s = t.summaries(&[]);
        assert_eq!((s[0].passes, s[0].fails, s[0].name.clone()), (6, 4, None));
    }
}
