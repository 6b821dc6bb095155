//! `--abort-on-slo [GRACE]`: the SLO judged over each second of the run, as
//! the aggregator closes it, and where the run broke (k6's `abortOnFail`
//! with its delay).
//!
//! A condition fails a second when that second's own numbers miss it (its
//! p99, its error rate, its rate), so a run that degrades is caught when it
//! degrades, not when its totals finally tip over. The run stops once one
//! condition has failed in every second of a window of GRACE seconds; the
//! break is dated to the window's first second, since that is where the
//! load became too much. Conditions on one request name, and ttft/tpot
//! (held per streamed request), are judged on the whole run at the end
//! only, as is a last sliver of a second (under 0.5 s).

use super::slo::{format_value, Condition, Metric, Slo};
use hdrhistogram::Histogram;

/// When to stop: the conditions, and how many failing seconds in a row.
#[derive(Clone, Debug, PartialEq)]
pub struct AbortRule {
    pub slo: Slo,
    pub grace_s: u32,
}

/// Where a run broke: the first second of the failing window.
#[derive(Clone, Debug, PartialEq)]
pub struct Aborted {
    /// Start of that second, seconds since the measured start.
    pub at_s: f64,
    /// Responses per second completed in that second.
    pub rps: f64,
    /// The condition that failed, and what that second measured.
    pub condition: Condition,
    pub value: f64,
}

impl Aborted {
    /// `p99 312.00ms > 250.00ms`: the metric, the measured value, and
    /// how it stands to the threshold.
    pub fn condition_text(&self) -> String {
        let c = &self.condition;
        let metric = c.text.split(['<', '>']).next().unwrap_or(&c.text);
        let rel = if self.value > c.threshold {
            ">"
        } else if self.value < c.threshold {
            "<"
        } else {
            "="
        };
        format!(
            "{metric} {} {rel} {}",
            format_value(c.metric, self.value),
            format_value(c.metric, c.threshold)
        )
    }
}

/// One closed second's numbers.
pub struct Second<'a> {
    pub start_s: f64,
    pub len_s: f64,
    /// Responses (any status).
    pub responses: u64,
    /// Transport errors and non-2xx/3xx responses.
    pub failed: u64,
    /// Transport errors only (requests that ended without a response).
    pub transport: u64,
    pub latency: &'a Histogram<u64>,
}

impl Second<'_> {
    fn measure(&self, m: Metric) -> f64 {
        let h = self.latency;
        match m {
            Metric::Quantile(q) => h.value_at_quantile(q) as f64,
            Metric::Max | Metric::E2el => h.max() as f64,
            Metric::Mean if h.is_empty() => 0.0,
            Metric::Mean => h.mean(),
            Metric::Errors => {
                let ended = self.responses + self.transport;
                if ended == 0 {
                    0.0
                } else {
                    self.failed as f64 * 100.0 / ended as f64
                }
            }
            Metric::Rps if self.len_s > 0.0 => self.responses as f64 / self.len_s,
            Metric::Rps | Metric::Ttft | Metric::Tpot => f64::NAN,
        }
    }
}

/// The judge: one run of failing seconds per condition.
pub struct Judge {
    rule: AbortRule,
    /// Per condition: failing seconds in a row, and the first of them.
    streaks: Vec<(u32, Option<Aborted>)>,
    pub broke: Option<Aborted>,
}

impl Judge {
    pub fn new(rule: AbortRule) -> Judge {
        let streaks = vec![(0, None); rule.slo.conditions.len()];
        Judge {
            rule,
            streaks,
            broke: None,
        }
    }

    /// Judge one closed second (in order). True when the run must stop now.
    pub fn second(&mut self, s: &Second) -> bool {
        if self.broke.is_some() {
            return false;
        }
        for (c, streak) in self.rule.slo.conditions.iter().zip(&mut self.streaks) {
            if c.name.is_some() || matches!(c.metric, Metric::Ttft | Metric::Tpot) {
                continue;
            }
            let v = s.measure(c.metric);
            if !v.is_finite() || c.holds(v) {
                *streak = (0, None);
                continue;
            }
            streak.0 += 1;
            if streak.1.is_none() {
                streak.1 = Some(Aborted {
                    at_s: s.start_s,
                    rps: if s.len_s > 0.0 {
                        s.responses as f64 / s.len_s
                    } else {
                        0.0
                    },
                    condition: c.clone(),
                    value: v,
                });
            }
            if streak.0 >= self.rule.grace_s {
                self.broke = streak.1.take();
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::latency_histogram;

    fn second(start: f64, p99_us: u64, failed: u64) -> (Histogram<u64>, f64, u64) {
        let mut h = latency_histogram();
        h.record_n(p99_us, 100).unwrap();
        (h, start, failed)
    }

    #[test]
    fn stops_after_grace_failing_seconds_and_dates_the_first() {
        let slo = Slo::parse("p99<250ms,errors<1%").unwrap();
        let mut j = Judge::new(AbortRule { slo, grace_s: 2 });
        let seconds = [
            second(0.0, 100_000, 0),
            second(1.0, 300_000, 0), // fails p99
            second(2.0, 100_000, 0), // passes: the streak starts over
            second(3.0, 100_000, 5), // fails errors (5 of 100)
            second(4.0, 100_000, 2),
            second(5.0, 100_000, 2),
        ];
        let mut stopped = Vec::new();
        for (h, start, failed) in &seconds {
            let s = Second {
                start_s: *start,
                len_s: 1.0,
                responses: 100,
                failed: *failed,
                transport: 0,
                latency: h,
            };
            stopped.push(j.second(&s));
        }
        assert_eq!(stopped, [false, false, false, false, true, false]);
        let b = j.broke.unwrap();
        assert_eq!(b.at_s, 3.0);
        assert_eq!(b.condition.text, "errors<1%");
        assert_eq!(b.value, 5.0);
        assert_eq!(b.rps, 100.0);
        assert_eq!(b.condition_text(), "errors 5.00% > 1.00%");
    }
}
