//! Final reports: wrk-compatible text (`text`), the JSON document (`json`),
//! Locust's CSV files (`csv`), statistics per request name (`names`, the
//! rows text, JSON and CSV share), HTML pages (`html`, drawn with `svg`), the
//! comparison of saved runs (`compare`), `blast find`'s step table (`find`),
//! HdrHistogram interval logs (`hlog`) and the metrics of a streamed (LLM)
//! run that CSV, HTML and the comparison read (`stream`).
//!
//! The reports are pure functions of plain data (a `Summary`, a
//! `FindResult`, saved JSON), writing to any `io::Write` or returning a
//! `String`. Only the thin shells that save them touch the file system:
//! `csv::write` (which also reads the clock for the CSV timestamps),
//! `html::write_*`, and `hlog`'s `HlogWriter` and `append_summary`, which
//! write the log as the run goes. The text layout and number formatting
//! follow wrk 4.1 (its `units.c` and the `print_*` functions of `wrk.c`),
//! reimplemented.

pub mod compare;
pub mod csv;
pub mod find;
pub mod hlog;
pub mod html;
mod json;
mod names;
pub mod prom;
pub mod stages;
pub mod stream;
pub mod svg;
mod text;

pub use crate::units::{format_binary, format_metric, format_time_s, format_time_us};
pub use json::{point_json, slo_json, to_json, write_json};
pub use text::{write_slo_text, write_text};

use crate::stats::{ErrorClass, Summary, TimelinePoint};
use hdrhistogram::Histogram;

/// Mean, sample standard deviation, max and the share of samples within one
/// standard deviation of the mean, as wrk's Thread Stats row shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct RowStats {
    mean: f64,
    stdev: f64,
    max: u64,
    within_stdev: f64,
}

fn row_stats(h: &Histogram<u64>) -> RowStats {
    let n = h.len();
    if n == 0 {
        return RowStats::default();
    }
    let buckets = || {
        h.iter_recorded().map(|v| {
            (
                h.median_equivalent(v.value_iterated_to()) as f64,
                v.count_at_value() as f64,
            )
        })
    };
    let mean = buckets().map(|(v, c)| v * c).sum::<f64>() / n as f64;
    // Sample standard deviation (n - 1), as wrk computes it.
    let stdev = if n < 2 {
        0.0
    } else {
        let sq: f64 = buckets().map(|(v, c)| (v - mean) * (v - mean) * c).sum();
        (sq / (n - 1) as f64).sqrt()
    };
    let (lo, hi) = (mean - stdev, mean + stdev);
    let within: f64 = buckets()
        .filter(|&(v, _)| v >= lo && v <= hi)
        .map(|(_, c)| c)
        .sum();
    RowStats {
        mean: finite(mean),
        stdev: finite(stdev),
        max: h.max(),
        within_stdev: finite(within / n as f64 * 100.0),
    }
}

fn finite(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

fn quantile(h: &Histogram<u64>, q: f64) -> u64 {
    if h.is_empty() {
        0
    } else {
        h.value_at_quantile(q)
    }
}

/// Each timeline second's end (s since the start) and `count` of it per
/// second of its length (0 for an interval of no length): every rate over
/// time (charts, CSV columns) divides the same way.
fn per_second(tl: &[TimelinePoint], count: impl Fn(&TimelinePoint) -> u64) -> Vec<(f64, f64)> {
    let mut prev = 0.0;
    tl.iter()
        .map(|p| {
            let dt = p.t_s - prev;
            prev = p.t_s;
            let n = count(p) as f64;
            (p.t_s, if dt > 0.0 { n / dt } else { 0.0 })
        })
        .collect()
}

/// Integer microseconds as exact milliseconds: 250 -> `0.25`, 1000 -> `1`.
fn ms(us: u64) -> String {
    let (whole, frac) = (us / 1000, us % 1000);
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:03}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// A float as Python's `repr` (and so Locust) writes it: the shortest text
/// that reads back as the same number.
fn float(x: f64) -> String {
    if x.is_finite() {
        format!("{x:?}")
    } else {
        "0.0".to_string()
    }
}

/// With `-R`: the rate the schedule offered over the measured time (less
/// than `-R` while `--ramp-up` raises it).
pub fn offered_rps(s: &Summary) -> Option<f64> {
    let r = s.info.rate?;
    let d = s.duration.as_secs_f64();
    let ramp = s.info.ramp_up_s.min(d);
    if d <= 0.0 {
        return Some(r);
    }
    if let Some(st) = &s.info.stages {
        // Over stages: the mean of the schedule over what ran.
        return Some(st.mean_over(std::time::Duration::ZERO, s.duration));
    }
    Some(r * (d - ramp / 2.0) / d)
}

/// With `-R`: the share of the offered requests that blast could not send
/// (due, but never written: every connection was busy, or connects
/// failed), when that is more than 2%. Requests still in flight at the end
/// were sent: they do not count against the rate, as they would if it were
/// judged by responses (a short run at a low rate would then always look
/// short).
pub fn rate_shortfall(s: &Summary) -> Option<f64> {
    let offered = offered_rps(s)? * s.duration.as_secs_f64();
    if offered <= 0.0 {
        return None;
    }
    let short = s.not_sent_at_end as f64 / offered;
    (short > 0.02).then_some(short)
}

fn class_name(c: ErrorClass) -> &'static str {
    match c {
        ErrorClass::Connect => "connect",
        ErrorClass::Read => "read",
        ErrorClass::Write => "write",
        ErrorClass::Timeout => "timeout",
        ErrorClass::Parse => "parse",
        ErrorClass::Tls => "tls",
    }
}

#[cfg(test)]
mod names_tests;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;
