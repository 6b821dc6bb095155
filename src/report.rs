//! Final reports: wrk-compatible text and the JSON document of SPEC §3.
//!
//! Everything here is a pure function of a `Summary`, writing to any
//! `io::Write`. The text layout and number formatting follow wrk 4.1 (its
//! `units.c` and the `print_*` functions of `wrk.c`), reimplemented.

use crate::slo::Verdict;
use crate::stats::{ErrorClass, Fault, Summary};
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};
use std::io::{self, Write};

/// A table of units as wrk's `units.c` has them: below `0.85 * scale` the
/// amount stays in the current unit; the last entry of `units` is never reached.
struct Units {
    scale: f64,
    base: &'static str,
    units: &'static [&'static str],
}

const TIME_US: Units = Units {
    scale: 1000.0,
    base: "us",
    units: &["ms", "s"],
};
const TIME_S: Units = Units {
    scale: 60.0,
    base: "s",
    units: &["m", "h"],
};
const BINARY: Units = Units {
    scale: 1024.0,
    base: "",
    units: &["K", "M", "G", "T", "P"],
};
const METRIC: Units = Units {
    scale: 1000.0,
    base: "",
    units: &["k", "M", "G", "T", "P"],
};

fn format_units(n: f64, u: &Units, precision: usize) -> String {
    let mut amt = if n.is_finite() { n } else { 0.0 };
    let mut unit = u.base;
    let threshold = u.scale * 0.85;
    let mut i = 0;
    while i + 1 < u.units.len() && amt >= threshold {
        amt /= u.scale;
        unit = u.units[i];
        i += 1;
    }
    format!("{amt:.precision$}{unit}")
}

/// Microseconds as wrk prints a latency: `635.91us`, `0.89ms`, `1.50s`, `2.00m`.
pub fn format_time_us(us: f64) -> String {
    if us >= 1_000_000.0 {
        format_units(us / 1_000_000.0, &TIME_S, 2)
    } else {
        format_units(us, &TIME_US, 2)
    }
}

/// Seconds with no decimals, as wrk prints the test length: `30s`, `2m`.
pub fn format_time_s(s: f64) -> String {
    format_units(s, &TIME_S, 0)
}

/// Powers of 1000: `56.20k`.
pub fn format_metric(n: f64) -> String {
    format_units(n, &METRIC, 2)
}

/// Powers of 1024: `17.76M` (the caller appends `B`).
pub fn format_binary(n: f64) -> String {
    format_units(n, &BINARY, 2)
}

/// wrk's `print_units`: the value right-aligned (and truncated) in `width`
/// less the padding, then the padding, where the padding is 2 spaces minus one
/// for each of the last two characters that is a letter, so that numbers line
/// up whatever their unit.
fn write_units(w: &mut impl Write, msg: &str, width: usize) -> io::Result<()> {
    let b = msg.as_bytes();
    let mut pad = 2usize;
    if b.last().is_some_and(|c| c.is_ascii_alphabetic()) {
        pad -= 1;
    }
    if b.len() >= 2 && b[b.len() - 2].is_ascii_alphabetic() {
        pad -= 1;
    }
    let width = width - pad;
    write!(w, "{msg:>width$.width$}{:pad$}", "")
}

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

/// One row of wrk's Thread Stats table.
fn write_row(
    w: &mut impl Write,
    name: &str,
    r: &RowStats,
    fmt: fn(f64) -> String,
) -> io::Result<()> {
    write!(w, "    {name:<10}")?;
    write_units(w, &fmt(r.mean), 8)?;
    write_units(w, &fmt(r.stdev), 10)?;
    write_units(w, &fmt(r.max as f64), 9)?;
    writeln!(w, "{:8.2}%", r.within_stdev)
}

/// The text report, in wrk 4.1's layout, plus blast's lines on error causes,
/// requests left at the end and Ctrl-C (each only when there is something to say).
pub fn write_text(w: &mut impl Write, s: &Summary, latency_distribution: bool) -> io::Result<()> {
    let info = &s.info;
    match (info.duration_s, info.requests_limit) {
        (Some(d), _) => writeln!(w, "Running {} test @ {}", test_length(d), info.url)?,
        (None, Some(n)) => writeln!(w, "Running {n} requests test @ {}", info.url)?,
        (None, None) => writeln!(
            w,
            "Running {} test @ {}",
            test_length(s.duration.as_secs_f64()),
            info.url
        )?,
    }
    writeln!(
        w,
        "  {} threads and {} connections",
        info.threads, info.connections
    )?;

    writeln!(
        w,
        "  Thread Stats{:>6}{:>11}{:>8}{:>12}",
        "Avg", "Stdev", "Max", "+/- Stdev"
    )?;
    write_row(w, "Latency", &row_stats(&s.latency), format_time_us)?;
    write_row(w, "Req/Sec", &row_stats(&s.rate), format_metric)?;

    if latency_distribution {
        write_distribution(w, "  Latency Distribution", &s.latency)?;
        if info.rate.is_some() {
            write_distribution(
                w,
                "  Service Time Distribution (from the actual write)",
                &s.service,
            )?;
        }
    }

    let duration_us = s.duration.as_secs_f64() * 1e6;
    writeln!(
        w,
        "  {} requests in {}, {}B read",
        s.requests,
        format_time_us(duration_us),
        format_binary(s.bytes_read as f64)
    )?;

    let e = &s.errors;
    if e.connect + e.read + e.write + e.timeout > 0 {
        writeln!(
            w,
            "  Socket errors: connect {}, read {}, write {}, timeout {}",
            e.connect, e.read, e.write, e.timeout
        )?;
    }
    if e.parse > 0 {
        writeln!(w, "  Parse errors: {}", e.parse)?;
    }
    if e.status > 0 {
        writeln!(w, "  Non-2xx or 3xx responses: {}", e.status)?;
    }

    if !s.error_details.is_empty() {
        writeln!(w, "  Error causes:")?;
        for (fault, count) in &s.error_details {
            writeln!(w, "    {count:>8}  {}", fault.label())?;
        }
    }
    if s.in_flight_at_end > 0 {
        writeln!(w, "  In flight at end: {}", s.in_flight_at_end)?;
    }
    if s.not_sent_at_end > 0 {
        writeln!(w, "  Not sent at end: {}", s.not_sent_at_end)?;
    }
    if s.interrupted {
        writeln!(
            w,
            "  Interrupted by Ctrl-C: report covers {}",
            format_time_us(duration_us)
        )?;
    }
    if let Some(offered) = offered_rps(s) {
        writeln!(
            w,
            "  Offered rate: {:.2} req/s, achieved {:.2} req/s",
            offered,
            finite(s.rps())
        )?;
        if let Some(short) = rate_shortfall(s) {
            writeln!(
                w,
                "  Warning: {:.1}% of the offered requests were never sent: increase -c \
                 (every connection was busy) or check the errors above",
                short * 100.0
            )?;
        }
    }

    writeln!(w, "Requests/sec: {:9.2}", finite(s.rps()))?;
    writeln!(w, "Transfer/sec: {:>10}B", format_binary(s.bytes_per_sec()))
}

fn write_distribution(w: &mut impl Write, title: &str, h: &Histogram<u64>) -> io::Result<()> {
    writeln!(w, "{title}")?;
    for p in [50.0, 75.0, 90.0, 99.0, 99.9_f64] {
        if p.fract() == 0.0 {
            write!(w, "{p:7.0}%")?;
        } else {
            write!(w, "{p:7.1}%")?;
        }
        let v = quantile(h, p / 100.0);
        write_units(w, &format_time_us(v as f64), 10)?;
        writeln!(w)?;
    }
    Ok(())
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

/// The SLO section of the text report: each condition, its measured value
/// and PASS or FAIL.
pub fn write_slo_text(w: &mut impl Write, verdicts: &[Verdict]) -> io::Result<()> {
    writeln!(w, "SLO:")?;
    for v in verdicts {
        writeln!(
            w,
            "  {:<20} {:>10}  {}",
            v.condition.text,
            v.measured_text(),
            if v.pass { "PASS" } else { "FAIL" }
        )?;
    }
    Ok(())
}

pub fn slo_json(verdicts: &[Verdict]) -> Value {
    Value::Array(
        verdicts
            .iter()
            .map(|v| {
                json!({
                    "condition": v.condition.text,
                    "measured": finite(v.measured),
                    "threshold": finite(v.condition.threshold),
                    "pass": v.pass,
                })
            })
            .collect(),
    )
}

/// The configured test length for the header. wrk only takes whole seconds;
/// blast also takes e.g. `500ms`, which wrk's format would print as `0s`.
fn test_length(secs: f64) -> String {
    if secs > 0.0 && secs < 1.0 {
        format!("{:.0}ms", secs * 1000.0)
    } else {
        format_time_s(secs)
    }
}

fn class_name(c: ErrorClass) -> &'static str {
    match c {
        ErrorClass::Connect => "connect",
        ErrorClass::Read => "read",
        ErrorClass::Write => "write",
        ErrorClass::Timeout => "timeout",
        ErrorClass::Parse => "parse",
    }
}

fn latency_json(h: &Histogram<u64>) -> Value {
    let r = row_stats(h);
    let min = if h.is_empty() { 0 } else { h.min() };
    json!({
        "min": min,
        "mean": r.mean,
        "stdev": r.stdev,
        "max": r.max,
        "p50": quantile(h, 0.50),
        "p75": quantile(h, 0.75),
        "p90": quantile(h, 0.90),
        "p97": quantile(h, 0.97),
        "p99": quantile(h, 0.99),
        "p99_9": quantile(h, 0.999),
        "p99_99": quantile(h, 0.9999),
    })
}

/// The percentile spectrum as HdrHistogram's plotter draws it: latency at
/// percentiles closing in on 100% (5 ticks per halving of the remainder),
/// so saved reports can be compared and overlaid later.
fn spectrum_json(h: &Histogram<u64>) -> Value {
    if h.is_empty() {
        return Value::Array(Vec::new());
    }
    let mut points: Vec<Value> = h
        .iter_quantiles(5)
        .map(|v| json!({"percentile": finite(v.quantile_iterated_to() * 100.0), "value_us": v.value_iterated_to()}))
        .collect();
    points.push(json!({"percentile": 100.0, "value_us": h.max()}));
    Value::Array(points)
}

fn error_detail_json(&(fault, count): &(Fault, u64)) -> Value {
    json!({
        "kind": class_name(fault.class()),
        "cause": fault.label(),
        "count": count,
    })
}

/// Build the JSON document of SPEC §3 (plus blast's additions).
pub fn to_json(s: &Summary) -> Value {
    let info = &s.info;
    let status_codes: Map<String, Value> = s
        .status_codes
        .iter()
        .map(|(code, n)| (code.to_string(), json!(n)))
        .collect();
    let timeline: Vec<Value> = s
        .timeline
        .iter()
        .map(|p| {
            json!({
                "t_s": finite(p.t_s),
                "requests": p.requests,
                "rps": finite(p.rps),
                "p50_us": p.p50_us,
                "p90_us": p.quantiles_us[4],
                "p99_us": p.p99_us,
                "errors": p.errors,
                "bytes": p.bytes,
            })
        })
        .collect();
    let e = &s.errors;
    json!({
        "url": info.url,
        "config": {
            "connections": info.connections,
            "threads": info.threads,
            "duration_s": info.duration_s.map(finite),
            "requests_limit": info.requests_limit,
            "rate": info.rate.map(finite),
            "ramp_up_s": finite(info.ramp_up_s),
            "method": info.method,
            "timeout_s": finite(info.timeout_s),
            "engine": info.engine,
        },
        "duration_s": s.duration.as_secs_f64(),
        "requests": s.requests,
        "rps": finite(s.rps()),
        "bytes_read": s.bytes_read,
        "status_codes": status_codes,
        "errors": {
            "connect": e.connect,
            "read": e.read,
            "write": e.write,
            "timeout": e.timeout,
            "status": e.status,
            "parse": e.parse,
        },
        "latency_us": latency_json(&s.latency),
        "service_time_us": latency_json(&s.service),
        "latency_spectrum": spectrum_json(&s.latency),
        "connect_us": latency_json(&s.connect),
        "offered_rps": offered_rps(s).map(finite),
        "timeline": timeline,
        "error_details": s.error_details.iter().map(error_detail_json).collect::<Vec<_>>(),
        "in_flight_at_end": s.in_flight_at_end,
        "not_sent_at_end": s.not_sent_at_end,
        "interrupted": s.interrupted,
    })
}

/// The JSON report: one pretty-printed document, ending with a newline.
pub fn write_json(w: &mut impl Write, s: &Summary) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &to_json(s))?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{latency_histogram, rate_histogram, ErrorCounts, RunInfo, TimelinePoint};
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn hist(mut h: Histogram<u64>, values: &[(u64, u64)]) -> Histogram<u64> {
        for &(v, n) in values {
            h.record_n(v, n).unwrap();
        }
        h
    }

    /// A clean 30 s run: no errors.
    fn clean() -> Summary {
        Summary {
            info: RunInfo {
                url: "http://127.0.0.1:8080/".into(),
                connections: 400,
                threads: 12,
                duration_s: Some(30.0),
                requests_limit: None,
                rate: None,
                ramp_up_s: 0.0,
                method: "GET".into(),
                timeout_s: 2.0,
                engine: "uring".into(),
            },
            duration: Duration::from_secs(30),
            requests: 39000,
            bytes_read: 18_622_710,
            status_codes: BTreeMap::from([(200, 39000)]),
            errors: ErrorCounts::default(),
            error_details: vec![],
            // mean 370, sample stdev 541.705.., 9 of 10 within one stdev.
            latency: hist(
                latency_histogram(),
                &[(100, 2), (200, 5), (300, 2), (1900, 1)],
            ),
            service: latency_histogram(),
            connect: hist(latency_histogram(), &[(50, 1), (150, 1)]),
            // mean 1300, sample stdev 258.198.., 2 of 4 within one stdev.
            rate: hist(
                rate_histogram(),
                &[(1000, 1), (1200, 1), (1400, 1), (1600, 1)],
            ),
            timeline: vec![TimelinePoint {
                t_s: 1.0,
                requests: 1300,
                rps: 1300.0,
                p50_us: 200,
                p99_us: 1900,
                errors: 0,
                bytes: 620_000,
                quantiles_us: [200, 200, 300, 300, 300, 1900, 1900, 1900, 1900, 1900, 1900],
                total: crate::stats::Cumulative {
                    requests: 1300,
                    errors: 0,
                    bytes: 620_000,
                    p50_us: 200,
                    mean_us: 370.0,
                    min_us: 100,
                    max_us: 1900,
                },
            }],
            in_flight_at_end: 0,
            not_sent_at_end: 0,
            interrupted: false,
        }
    }

    /// The same run with every error line present, stopped by Ctrl-C at 12.5 s.
    fn faulty() -> Summary {
        let mut s = clean();
        s.duration = Duration::from_millis(12_500);
        s.status_codes = BTreeMap::from([(200, 38995), (503, 5)]);
        s.errors = ErrorCounts {
            connect: 2,
            read: 3,
            write: 0,
            timeout: 1,
            status: 5,
            parse: 4,
        };
        s.error_details = vec![
            (Fault::ParseChunk, 4),
            (Fault::ReadReset, 3),
            (Fault::ConnectRefused, 2),
            (Fault::Timeout, 1),
        ];
        s.in_flight_at_end = 7;
        s.not_sent_at_end = 11;
        s.interrupted = true;
        s
    }

    fn text(s: &Summary, latency: bool) -> String {
        let mut out = Vec::new();
        write_text(&mut out, s, latency).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn units() {
        assert_eq!(format_time_us(635.91), "635.91us");
        assert_eq!(format_time_us(890.2), "0.89ms");
        assert_eq!(format_time_us(849.0), "849.00us");
        assert_eq!(format_time_us(12920.0), "12.92ms");
        assert_eq!(format_time_us(1.5e6), "1.50s");
        assert_eq!(format_time_us(2.5e6), "2.50s");
        assert_eq!(format_time_us(30e6), "30.00s");
        // 51 s is 0.85 of a minute: wrk switches unit there.
        assert_eq!(format_time_us(51e6), "0.85m");
        // wrk never reaches the last unit of a table: hours print as minutes.
        assert_eq!(format_time_us(7200e6), "120.00m");
        assert_eq!(format_time_us(0.0), "0.00us");
        assert_eq!(format_time_s(30.0), "30s");
        assert_eq!(format_time_s(120.0), "2m");
        assert_eq!(format_time_s(3600.0), "60m");
        assert_eq!(format_metric(56200.0), "56.20k");
        assert_eq!(format_metric(8070.0), "8.07k");
        assert_eq!(format_metric(258.2), "258.20");
        assert_eq!(format_metric(2.5e6), "2.50M");
        assert_eq!(format_binary(1024.0 * 1024.0 * 17.76), "17.76M");
        assert_eq!(format_binary(17.76 * 1024.0 * 1024.0 * 1024.0), "17.76G");
        assert_eq!(format_binary(2.2 * 1024.0 * 1024.0 * 1024.0), "2.20G");
        assert_eq!(format_binary(100.0), "100.00");
        assert_eq!(format_binary(f64::NAN), "0.00");
    }

    #[test]
    fn rows_align_like_wrk() {
        let mut out = Vec::new();
        let lat = RowStats {
            mean: 635.91,
            stdev: 890.2,
            max: 12920,
            within_stdev: 93.69,
        };
        let rate = RowStats {
            mean: 56200.0,
            stdev: 8070.0,
            max: 62000,
            within_stdev: 86.54,
        };
        write_row(&mut out, "Latency", &lat, format_time_us).unwrap();
        write_row(&mut out, "Req/Sec", &rate, format_metric).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "    Latency   635.91us    0.89ms  12.92ms   93.69%\n\
             \x20   Req/Sec    56.20k     8.07k   62.00k    86.54%\n"
        );
    }

    #[test]
    fn text_clean_run() {
        assert_eq!(
            text(&clean(), false),
            "Running 30s test @ http://127.0.0.1:8080/\n\
             \x20 12 threads and 400 connections\n\
             \x20 Thread Stats   Avg      Stdev     Max   +/- Stdev\n\
             \x20   Latency   370.00us  541.71us   1.90ms   90.00%\n\
             \x20   Req/Sec     1.30k   258.20     1.60k    50.00%\n\
             \x20 39000 requests in 30.00s, 17.76MB read\n\
             Requests/sec:   1300.00\n\
             Transfer/sec:    606.21KB\n"
        );
    }

    #[test]
    fn text_with_latency_distribution() {
        assert_eq!(
            text(&clean(), true),
            "Running 30s test @ http://127.0.0.1:8080/\n\
             \x20 12 threads and 400 connections\n\
             \x20 Thread Stats   Avg      Stdev     Max   +/- Stdev\n\
             \x20   Latency   370.00us  541.71us   1.90ms   90.00%\n\
             \x20   Req/Sec     1.30k   258.20     1.60k    50.00%\n\
             \x20 Latency Distribution\n\
             \x20    50%  200.00us\n\
             \x20    75%  300.00us\n\
             \x20    90%  300.00us\n\
             \x20    99%    1.90ms\n\
             \x20  99.9%    1.90ms\n\
             \x20 39000 requests in 30.00s, 17.76MB read\n\
             Requests/sec:   1300.00\n\
             Transfer/sec:    606.21KB\n"
        );
    }

    #[test]
    fn text_with_rate_and_slo() {
        let mut s = clean();
        s.info.rate = Some(1400.0);
        // 3,000 of the 42,000 offered in 30 s were never sent: 7.1%.
        s.not_sent_at_end = 3000;
        s.service = hist(latency_histogram(), &[(100, 10)]);
        let mut out = Vec::new();
        write_text(&mut out, &s, true).unwrap();
        let slo = crate::slo::Slo::parse("p99<1ms,rps>1000").unwrap();
        write_slo_text(&mut out, &slo.check(&s)).unwrap();
        let text = String::from_utf8(out).unwrap();
        let tail: Vec<&str> = text.lines().skip(11).collect();
        assert_eq!(
            tail,
            [
                "  Service Time Distribution (from the actual write)",
                "     50%  100.00us",
                "     75%  100.00us",
                "     90%  100.00us",
                "     99%  100.00us",
                "   99.9%  100.00us",
                "  39000 requests in 30.00s, 17.76MB read",
                "  Not sent at end: 3000",
                "  Offered rate: 1400.00 req/s, achieved 1300.00 req/s",
                "  Warning: 7.1% of the offered requests were never sent: increase -c \
                 (every connection was busy) or check the errors above",
                "Requests/sec:   1300.00",
                "Transfer/sec:    606.21KB",
                "SLO:",
                "  p99<1ms                  1.90ms  FAIL",
                "  rps>1000                  1.30k  PASS",
            ]
        );
    }

    #[test]
    fn text_with_errors() {
        assert_eq!(
            text(&faulty(), false),
            "Running 30s test @ http://127.0.0.1:8080/\n\
             \x20 12 threads and 400 connections\n\
             \x20 Thread Stats   Avg      Stdev     Max   +/- Stdev\n\
             \x20   Latency   370.00us  541.71us   1.90ms   90.00%\n\
             \x20   Req/Sec     1.30k   258.20     1.60k    50.00%\n\
             \x20 39000 requests in 12.50s, 17.76MB read\n\
             \x20 Socket errors: connect 2, read 3, write 0, timeout 1\n\
             \x20 Parse errors: 4\n\
             \x20 Non-2xx or 3xx responses: 5\n\
             \x20 Error causes:\n\
             \x20          4  parse: invalid chunked body\n\
             \x20          3  read: connection reset\n\
             \x20          2  connect: refused\n\
             \x20          1  timeout: no response within --timeout\n\
             \x20 In flight at end: 7\n\
             \x20 Not sent at end: 11\n\
             \x20 Interrupted by Ctrl-C: report covers 12.50s\n\
             Requests/sec:   3120.00\n\
             Transfer/sec:      1.42MB\n"
        );
    }

    #[test]
    fn text_requests_header_and_seconds_latency() {
        let mut s = clean();
        s.info.duration_s = None;
        s.info.requests_limit = Some(5000);
        s.latency = hist(latency_histogram(), &[(1_500_000, 1)]);
        s.rate = rate_histogram();
        let t = text(&s, true);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "Running 5000 requests test @ http://127.0.0.1:8080/"
        );
        // One sample: stdev 0, the sample lies within it. "1.50s" takes one
        // pad space, so the line keeps wrk's trailing space.
        assert_eq!(
            lines[3],
            "    Latency     1.50s     0.00us   1.50s   100.00%"
        );
        // Empty histogram: zeros, no NaN.
        assert_eq!(
            lines[4],
            "    Req/Sec     0.00      0.00     0.00      0.00%"
        );
        assert_eq!(lines[6], "     50%    1.50s ");
        assert_eq!(test_length(0.5), "500ms");
    }

    #[test]
    fn empty_summary_has_no_nan() {
        let mut s = clean();
        s.duration = Duration::ZERO;
        s.requests = 0;
        s.bytes_read = 0;
        s.latency = latency_histogram();
        s.connect = latency_histogram();
        s.rate = rate_histogram();
        let t = text(&s, true);
        assert!(!t.to_lowercase().contains("nan"), "{t}");
        assert!(t.contains("Requests/sec:      0.00\n"), "{t}");
        let mut out = Vec::new();
        write_json(&mut out, &s).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["latency_us"]["mean"], 0.0);
        assert_eq!(v["latency_us"]["stdev"], 0.0);
        assert_eq!(v["latency_us"]["max"], 0);
        assert_eq!(v["latency_us"]["min"], 0);
        assert_eq!(v["latency_us"]["p99"], 0);
        assert_eq!(v["rps"], 0.0);
    }

    #[test]
    fn json_has_every_key() {
        let mut out = Vec::new();
        write_json(&mut out, &faulty()).unwrap();
        assert_eq!(out.last(), Some(&b'\n'));
        let v: Value = serde_json::from_slice(&out).unwrap();

        assert_eq!(v["url"], "http://127.0.0.1:8080/");
        assert_eq!(
            v["config"],
            json!({
                "connections": 400, "threads": 12, "duration_s": 30.0,
                "requests_limit": null, "rate": null,
                "ramp_up_s": 0.0, "method": "GET",
                "timeout_s": 2.0, "engine": "uring"
            })
        );
        assert_eq!(v["duration_s"], 12.5);
        assert_eq!(v["requests"], 39000);
        assert_eq!(v["rps"], 3120.0);
        assert_eq!(v["bytes_read"], 18_622_710);
        assert_eq!(v["status_codes"], json!({"200": 38995, "503": 5}));
        assert_eq!(
            v["errors"],
            json!({"connect": 2, "read": 3, "write": 0, "timeout": 1, "status": 5, "parse": 4})
        );

        let lat = &v["latency_us"];
        assert_eq!(lat["min"], 100);
        assert_eq!(lat["mean"], 370.0);
        let sd = lat["stdev"].as_f64().unwrap();
        assert!((sd - (2_641_000.0_f64 / 9.0).sqrt()).abs() < 1e-9, "{sd}");
        assert_eq!(lat["max"], 1900);
        assert_eq!(lat["p50"], 200);
        assert_eq!(lat["p75"], 300);
        assert_eq!(lat["p90"], 300);
        assert_eq!(lat["p97"], 1900);
        assert_eq!(lat["p99"], 1900);
        assert_eq!(lat["p99_9"], 1900);
        assert_eq!(lat["p99_99"], 1900);
        assert_eq!(lat.as_object().unwrap().len(), 11);

        let con = &v["connect_us"];
        assert_eq!(con["min"], 50);
        assert_eq!(con["mean"], 100.0);
        assert_eq!(con["max"], 150);
        assert_eq!(con["p50"], 50);
        assert_eq!(con["p99"], 150);
        assert_eq!(con.as_object().unwrap().len(), 11);

        assert_eq!(
            v["timeline"],
            json!([{"t_s": 1.0, "requests": 1300, "rps": 1300.0, "p50_us": 200,
                    "p90_us": 300, "p99_us": 1900, "errors": 0, "bytes": 620_000}])
        );
        assert_eq!(
            v["error_details"],
            json!([
                {"kind": "parse", "cause": "parse: invalid chunked body", "count": 4},
                {"kind": "read", "cause": "read: connection reset", "count": 3},
                {"kind": "connect", "cause": "connect: refused", "count": 2},
                {"kind": "timeout", "cause": "timeout: no response within --timeout", "count": 1},
            ])
        );
        assert_eq!(v["in_flight_at_end"], 7);
        assert_eq!(v["not_sent_at_end"], 11);
        assert_eq!(v["interrupted"], true);
        assert_eq!(v["offered_rps"], Value::Null, "closed loop offers no rate");
        assert!(v["service_time_us"]["p99"].is_u64());
        let spectrum = v["latency_spectrum"].as_array().unwrap();
        assert_eq!(spectrum[0]["value_us"], 100);
        assert_eq!(
            spectrum.last().unwrap(),
            &json!({"percentile": 100.0, "value_us": 1900})
        );
        assert_eq!(v.as_object().unwrap().len(), 18);
    }

    #[test]
    fn json_requests_limit_and_rate() {
        let mut s = clean();
        s.info.duration_s = None;
        s.info.requests_limit = Some(5000);
        s.info.rate = Some(2000.0);
        let v = to_json(&s);
        assert_eq!(v["config"]["duration_s"], Value::Null);
        assert_eq!(v["config"]["requests_limit"], 5000);
        assert_eq!(v["config"]["rate"], 2000.0);
        assert_eq!(v["interrupted"], false);
        assert_eq!(v["error_details"], json!([]));
    }
}
