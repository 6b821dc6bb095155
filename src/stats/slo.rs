//! Service level objectives: `--slo "p99<250ms,errors<1%,rps>5000"`.
//!
//! Parsed once with the config (a bad expression is a usage error naming the
//! bad part) and evaluated against a finished `Summary`: the run exits 1
//! when any condition fails, and `blast find` uses the same check per step.
//!
//! A condition may name a request of the mix: `predict:p99<250ms` holds that
//! name's statistics (`Summary.by_name`) to it; the rest hold the totals.
//! The name is everything before the condition's last ':' (metric names and
//! values never contain one), so paths and URLs work as names.

use crate::stats::names::NameSummary;
use crate::stats::Summary;
use crate::units::{format_metric, format_time_us};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Metric {
    /// Latency quantile, 0..=1.
    Quantile(f64),
    Max,
    Mean,
    /// Error percentage: transport errors and non-2xx/3xx responses.
    Errors,
    Rps,
    /// Per streamed request (goodput, as vLLM's bench serve): time to first
    /// token, time per output token, end-to-end latency. The run meets one
    /// when every request does, so its measured value is the largest.
    Ttft,
    Tpot,
    E2el,
}

impl Metric {
    /// A condition every request is held to, which defines goodput.
    pub fn per_request(self) -> bool {
        matches!(self, Metric::Ttft | Metric::Tpot | Metric::E2el)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// As the user wrote it, spaces removed: `p99<250ms`, `predict:p99<250ms`.
    pub text: String,
    /// The request name it holds, or None for the run's totals.
    pub name: Option<String>,
    pub metric: Metric,
    pub op: Op,
    /// Microseconds for latency, percent for errors, req/s for rps.
    pub threshold: f64,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Slo {
    pub conditions: Vec<Condition>,
}

/// One condition checked against a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub condition: Condition,
    pub measured: f64,
    pub pass: bool,
}

impl Condition {
    /// Whether `v` (in the condition's units) meets it.
    pub fn holds(&self, v: f64) -> bool {
        match self.op {
            Op::Lt => v < self.threshold,
            Op::Le => v <= self.threshold,
            Op::Gt => v > self.threshold,
            Op::Ge => v >= self.threshold,
        }
    }
}

impl Verdict {
    /// The measured value in the condition's units, for people.
    pub fn measured_text(&self) -> String {
        format_value(self.condition.metric, self.measured)
    }
}

pub fn format_value(m: Metric, v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    match m {
        Metric::Errors => format!("{v:.2}%"),
        Metric::Rps => format_metric(v),
        _ => format_time_us(v),
    }
}

impl Slo {
    pub fn parse(expr: &str) -> Result<Slo, String> {
        let mut conditions = Vec::new();
        for part in expr.split(',') {
            let (name, cond) = match part.rsplit_once(':') {
                Some((name, cond)) => (Some(name.trim()), cond),
                None => (None, part),
            };
            let cond: String = cond.chars().filter(|c| !c.is_whitespace()).collect();
            let text = match name {
                Some(n) => format!("{n}:{cond}"),
                None => cond.clone(),
            };
            if text.is_empty() {
                return Err(format!("--slo '{expr}': empty condition"));
            }
            let bad = |why: String| format!("--slo: '{text}': {why}");
            let mut c = parse_condition(&cond).map_err(bad)?;
            if let Some(n) = name {
                if n.is_empty() {
                    return Err(bad("missing the request name before ':'".into()));
                }
                if c.metric.per_request() {
                    return Err(bad(
                        "ttft, tpot and e2el hold every request of the run; they take no name"
                            .into(),
                    ));
                }
                c.name = Some(n.to_string());
                c.text = text;
            }
            conditions.push(c);
        }
        Ok(Slo { conditions })
    }

    /// Whether every named condition names a request of the run (`names`,
    /// empty for a single request): the config calls it once the mix is known.
    pub fn check_names(&self, names: &[&str]) -> Result<(), String> {
        for c in &self.conditions {
            let Some(n) = &c.name else { continue };
            if names.contains(&n.as_str()) {
                continue;
            }
            return Err(if names.is_empty() {
                format!("--slo '{}': the run has no request named {n}", c.text)
            } else {
                format!(
                    "--slo '{}': the run has no request named {n} (its names: {})",
                    c.text,
                    names.join(", ")
                )
            });
        }
        Ok(())
    }

    /// The conditions each streamed request is held to (goodput).
    pub fn per_request(&self) -> Vec<Condition> {
        self.conditions
            .iter()
            .filter(|c| c.metric.per_request() && c.name.is_none())
            .cloned()
            .collect()
    }

    pub fn check(&self, s: &Summary) -> Vec<Verdict> {
        self.conditions
            .iter()
            .map(|c| {
                let measured = match &c.name {
                    None => measure(c.metric, s),
                    // A name the run did not have (a merged log without
                    // names) measures nothing, and fails.
                    Some(n) => s
                        .by_name
                        .iter()
                        .find(|x| &x.name == n)
                        .map_or(f64::NAN, |x| measure_name(c.metric, x, s.duration)),
                };
                let pass = measured.is_finite() && c.holds(measured);
                Verdict {
                    condition: c.clone(),
                    measured,
                    pass,
                }
            })
            .collect()
    }
}

/// Failed requests as a percentage of all that ended: transport errors,
/// status and check failures over responses plus transport errors.
pub fn error_percent(s: &Summary) -> f64 {
    let transport = s.errors.transport();
    let total = s.requests + transport;
    if total == 0 {
        0.0
    } else {
        s.errors.total() as f64 * 100.0 / total as f64
    }
}

/// One name's failures as a percentage of its requests that ended, as
/// `error_percent` counts the totals.
pub fn name_error_percent(n: &NameSummary) -> f64 {
    let transport = n.errors.transport();
    let total = n.requests + transport;
    if total == 0 {
        0.0
    } else {
        n.failures() as f64 * 100.0 / total as f64
    }
}

fn measure_name(m: Metric, n: &NameSummary, duration: std::time::Duration) -> f64 {
    let h = &n.latency;
    match m {
        Metric::Quantile(q) => h.value_at_quantile(q) as f64,
        Metric::Max | Metric::E2el => h.max() as f64,
        Metric::Mean => {
            if h.is_empty() {
                0.0
            } else {
                h.mean()
            }
        }
        Metric::Errors => name_error_percent(n),
        Metric::Rps => n.rps(duration),
        // Refused with a name at parse time.
        Metric::Ttft | Metric::Tpot => f64::NAN,
    }
}

fn measure(m: Metric, s: &Summary) -> f64 {
    match m {
        Metric::Quantile(q) => s.latency.value_at_quantile(q) as f64,
        Metric::Max => s.latency.max() as f64,
        Metric::Mean => {
            if s.latency.is_empty() {
                0.0
            } else {
                s.latency.mean()
            }
        }
        Metric::Errors => error_percent(s),
        Metric::Rps => s.rps(),
        Metric::Ttft => s.stream.ttft.max() as f64,
        Metric::Tpot => s.stream.tpot.max() as f64,
        Metric::E2el => s.latency.max() as f64,
    }
}

fn parse_condition(t: &str) -> Result<Condition, String> {
    let pos = t
        .find(['<', '>'])
        .ok_or("expected a comparison such as p99<250ms, errors<1% or rps>5000")?;
    let (name, rest) = t.split_at(pos);
    let (op, value) = if let Some(v) = rest.strip_prefix("<=") {
        (Op::Le, v)
    } else if let Some(v) = rest.strip_prefix(">=") {
        (Op::Ge, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Op::Lt, v)
    } else {
        (Op::Gt, &rest[1..])
    };
    let metric = match name.to_ascii_lowercase().as_str() {
        "p50" => Metric::Quantile(0.50),
        "p75" => Metric::Quantile(0.75),
        "p90" => Metric::Quantile(0.90),
        "p95" => Metric::Quantile(0.95),
        "p99" => Metric::Quantile(0.99),
        "p99.9" | "p999" | "p99_9" => Metric::Quantile(0.999),
        "p99.99" | "p9999" | "p99_99" => Metric::Quantile(0.9999),
        "max" => Metric::Max,
        "mean" | "avg" => Metric::Mean,
        "errors" | "error" | "err" | "error_rate" => Metric::Errors,
        "rps" => Metric::Rps,
        "ttft" => Metric::Ttft,
        "tpot" => Metric::Tpot,
        "e2el" => Metric::E2el,
        "" => return Err("missing the metric before the comparison".into()),
        other => {
            return Err(format!(
                "unknown metric '{other}' (use p50, p75, p90, p95, p99, p99.9, max, mean, errors, rps, ttft, tpot or e2el)"
            ))
        }
    };
    let threshold = match metric {
        Metric::Errors => {
            let v = value
                .strip_suffix('%')
                .ok_or("an error rate needs a %, e.g. errors<1%")?;
            let p: f64 = v
                .parse()
                .map_err(|_| format!("'{value}' is not a percentage"))?;
            if !(0.0..=100.0).contains(&p) {
                return Err(format!("'{value}' is not between 0% and 100%"));
            }
            p
        }
        Metric::Rps => parse_number(value)
            .ok_or_else(|| format!("'{value}' is not a rate (e.g. 5000 or 5k)"))?,
        _ => parse_latency(value).ok_or_else(|| {
            format!("'{value}' is not a latency with a unit (e.g. 250ms, 800us, 1.5s)")
        })?,
    };
    Ok(Condition {
        text: t.to_string(),
        name: None,
        metric,
        op,
        threshold,
    })
}

fn parse_number(v: &str) -> Option<f64> {
    let (num, mult) = match v.char_indices().last()? {
        (i, 'k' | 'K') => (&v[..i], 1e3),
        (i, 'm' | 'M') => (&v[..i], 1e6),
        _ => (v, 1.0),
    };
    let n: f64 = num.parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some(n * mult)
}

/// A latency with its unit, in microseconds.
fn parse_latency(v: &str) -> Option<f64> {
    let split = v.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = v.split_at(split);
    let n: f64 = num.parse().ok()?;
    let us = match unit {
        "us" | "µs" => n,
        "ms" => n * 1e3,
        "s" => n * 1e6,
        "m" => n * 60e6,
        _ => return None,
    };
    us.is_finite().then_some(us)
}

#[cfg(test)]
#[path = "slo_tests.rs"]
mod names_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_request_conditions_define_goodput() {
        let slo = Slo::parse("ttft<500ms, tpot<=50ms, e2el<2s, p99<1s").unwrap();
        let per = slo.per_request();
        let metrics: Vec<Metric> = per.iter().map(|c| c.metric).collect();
        assert_eq!(metrics, [Metric::Ttft, Metric::Tpot, Metric::E2el]);
        assert_eq!(per[0].threshold, 500_000.0);
        assert!(per[1].holds(50_000.0) && !per[0].holds(500_000.0));
        let e = Slo::parse("ttfb<1s").unwrap_err();
        assert!(e.contains("ttft, tpot or e2el"), "{e}");
    }

    #[test]
    fn parses_conditions() {
        let s = Slo::parse("p99<250ms, errors<1%,rps>=5k,p99.9<=1.5s,max<800us").unwrap();
        let c = &s.conditions;
        assert_eq!(c.len(), 5);
        assert_eq!(
            (c[0].metric, c[0].op, c[0].threshold),
            (Metric::Quantile(0.99), Op::Lt, 250_000.0)
        );
        assert_eq!((c[1].metric, c[1].threshold), (Metric::Errors, 1.0));
        assert_eq!(
            (c[2].metric, c[2].op, c[2].threshold),
            (Metric::Rps, Op::Ge, 5000.0)
        );
        assert_eq!(
            (c[3].metric, c[3].threshold),
            (Metric::Quantile(0.999), 1_500_000.0)
        );
        assert_eq!((c[4].metric, c[4].threshold), (Metric::Max, 800.0));
        assert_eq!(c[1].text, "errors<1%");
    }

    #[test]
    fn bad_expressions_name_the_bad_part() {
        for (expr, needle) in [
            ("p98<1ms", "'p98'"),
            ("p99=1ms", "'p99=1ms'"),
            ("p99<250", "'250'"),
            ("errors<1", "needs a %"),
            ("errors<150%", "'150%'"),
            ("rps>lots", "'lots'"),
            ("p99<1ms,,", "empty condition"),
            ("<1ms", "missing the metric"),
        ] {
            let e = Slo::parse(expr).unwrap_err();
            assert!(e.contains(needle), "{expr}: {e}");
        }
    }
}
