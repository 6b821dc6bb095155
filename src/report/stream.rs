//! The streaming side of the reports (Server-Sent Events, LLM endpoints):
//! the CSV files `--csv PREFIX` adds when the run streamed, and the rows
//! `blast report` compares. Nothing here is written for a run without
//! streamed responses.
//!
//! The CSV numbers are the JSON's, as in the other CSV files: the same
//! histograms, the same quantile calls, times as exact milliseconds (the
//! JSON's integer microseconds divided by 1000).

use super::compare::Row;
use super::csv::{float, ms};
use super::{finite, format_time_us, quantile, row_stats};
use crate::stats::Summary;
use hdrhistogram::Histogram;
use serde_json::Value;
use std::io::{self, Write};

/// The percentile columns of `_streaming.csv`: the JSON's percentile keys.
pub const QUANTILES: [(f64, &str); 7] = [
    (0.5, "50%"),
    (0.75, "75%"),
    (0.9, "90%"),
    (0.97, "97%"),
    (0.99, "99%"),
    (0.999, "99.9%"),
    (0.9999, "99.99%"),
];

/// Some response of the run was an event stream.
pub fn streamed(s: &Summary) -> bool {
    s.stream.responses > 0
}

/// The latency metrics of a streamed run, vLLM's names, with their
/// histograms: TTFT, TPOT, ITL, and E2EL, the run's latency (every
/// response, the JSON's `latency_us`: the summary keeps no separate
/// histogram of the streamed ones; against an LLM endpoint every response
/// streams).
pub fn metrics(s: &Summary) -> [(&'static str, &Histogram<u64>); 4] {
    [
        ("TTFT", &s.stream.ttft),
        ("TPOT", &s.stream.tpot),
        ("ITL", &s.stream.itl),
        ("E2EL", &s.latency),
    ]
}

/// Output tokens per second of measured time (the JSON's
/// `output_tokens_per_s`).
pub fn tokens_per_s(s: &Summary) -> f64 {
    finite(s.stream.tokens as f64 / s.duration.as_secs_f64().max(1e-9))
}

/// Good streamed responses per second, with `--slo` per-request
/// conditions (the JSON's `goodput_rps`).
pub fn goodput_rps(s: &Summary) -> Option<f64> {
    s.info
        .goodput
        .then(|| finite(s.stream.good as f64 / s.duration.as_secs_f64().max(1e-9)))
}

/// `PREFIX_streaming.csv`: one row per metric (TTFT, TPOT, ITL, E2EL),
/// times in milliseconds.
pub fn write_streaming(w: &mut impl Write, s: &Summary) -> io::Result<()> {
    let pcts: Vec<&str> = QUANTILES.iter().map(|(_, h)| *h).collect();
    writeln!(w, "Metric,Count,Mean,Min,{},Max", pcts.join(","))?;
    for (name, h) in metrics(s) {
        let min = if h.is_empty() { 0 } else { h.min() };
        let mut row = vec![
            name.to_string(),
            h.len().to_string(),
            float(row_stats(h).mean / 1000.0),
            ms(min),
        ];
        row.extend(QUANTILES.iter().map(|&(q, _)| ms(quantile(h, q))));
        row.push(ms(if h.is_empty() { 0 } else { h.max() }));
        writeln!(w, "{}", row.join(","))?;
    }
    Ok(())
}

/// `PREFIX_streaming_totals.csv`: one row with the run's streamed
/// responses, output tokens, output tokens/s, where the token counts came
/// from (`usage`, `events` or `mixed`) and goodput (empty without `--slo`
/// per-request conditions).
pub fn write_totals(w: &mut impl Write, s: &Summary) -> io::Result<()> {
    writeln!(
        w,
        "Streamed Responses,Output Tokens,Output Tokens/s,Token Count Source,Goodput Requests/s"
    )?;
    writeln!(
        w,
        "{},{},{},{},{}",
        s.stream.responses,
        s.stream.tokens,
        float(tokens_per_s(s)),
        s.stream.token_count_source(),
        goodput_rps(s).map(float).unwrap_or_default()
    )
}

/// `PREFIX_streaming_history.csv`: one row per timeline second, its
/// output tokens and their rate over that second.
pub fn write_history(w: &mut impl Write, s: &Summary, start_unix_s: f64) -> io::Result<()> {
    writeln!(w, "Timestamp,Output Tokens,Output Tokens/s")?;
    for (t_s, tokens, rate) in tokens_over_time(s) {
        writeln!(
            w,
            "{:.0},{tokens},{}",
            (start_unix_s + t_s).floor(),
            float(rate)
        )?;
    }
    Ok(())
}

/// Per timeline second: its end (s since the start), its output tokens
/// and tokens/s over its length.
pub fn tokens_over_time(s: &Summary) -> Vec<(f64, u64, f64)> {
    let mut prev = 0.0;
    s.timeline
        .iter()
        .map(|p| {
            let dt = p.t_s - prev;
            prev = p.t_s;
            let rate = if dt > 0.0 {
                p.output_tokens as f64 / dt
            } else {
                0.0
            };
            (p.t_s, p.output_tokens, finite(rate))
        })
        .collect()
}

/// The streaming numbers of one saved run, as `blast report` compares
/// them. Latencies in microseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamRow {
    pub ttft_p50_us: Option<f64>,
    pub ttft_p99_us: Option<f64>,
    pub tpot_p50_us: Option<f64>,
    pub itl_p50_us: Option<f64>,
    pub tokens_per_s: Option<f64>,
    pub goodput_rps: Option<f64>,
}

impl StreamRow {
    /// From a `blast --json` document; `None` unless it has streaming
    /// keys (`streamed_responses` is null for a run that did not stream,
    /// absent from older documents).
    pub fn from_json(v: &Value) -> Option<StreamRow> {
        v["streamed_responses"].as_u64()?;
        Some(StreamRow {
            ttft_p50_us: v["ttft_us"]["p50"].as_f64(),
            ttft_p99_us: v["ttft_us"]["p99"].as_f64(),
            tpot_p50_us: v["tpot_us"]["p50"].as_f64(),
            itl_p50_us: v["itl_us"]["p50"].as_f64(),
            tokens_per_s: v["output_tokens_per_s"].as_f64(),
            goodput_rps: v["goodput_rps"].as_f64(),
        })
    }
}

/// The streaming comparison's headers.
pub const HEADERS: [&str; 7] = [
    "run",
    "TTFT p50",
    "TTFT p99",
    "TPOT p50",
    "ITL p50",
    "tokens/s",
    "goodput/s",
];

/// One run's cells: `-` for every value of a run that did not stream, and
/// for any value its document lacks.
pub fn cells(r: &Row) -> [String; 7] {
    let dash = || "-".to_string();
    let s = r.stream.as_ref();
    let time = |f: fn(&StreamRow) -> Option<f64>| s.and_then(f).map_or_else(dash, format_time_us);
    let rate = |f: fn(&StreamRow) -> Option<f64>| {
        s.and_then(f)
            .map_or_else(dash, |v| format!("{:.2}", finite(v)))
    };
    [
        r.label.clone(),
        time(|s| s.ttft_p50_us),
        time(|s| s.ttft_p99_us),
        time(|s| s.tpot_p50_us),
        time(|s| s.itl_p50_us),
        rate(|s| s.tokens_per_s),
        rate(|s| s.goodput_rps),
    ]
}

/// The streaming comparison, printed after the run table (a blank line
/// apart) when some run streamed, else nothing.
pub fn write_table(w: &mut impl Write, rows: &[Row]) -> io::Result<()> {
    if rows.iter().all(|r| r.stream.is_none()) {
        return Ok(());
    }
    writeln!(w)?;
    let cells: Vec<[String; 7]> = rows.iter().map(cells).collect();
    let mut width = HEADERS.map(str::len);
    for c in &cells {
        for (wd, s) in width.iter_mut().zip(c) {
            *wd = (*wd).max(s.chars().count());
        }
    }
    for c in std::iter::once(&HEADERS.map(String::from)).chain(&cells) {
        let mut line = format!("{:<w$}", c[0], w = width[0]);
        for (s, wd) in c[1..].iter().zip(&width[1..]) {
            line.push_str(&format!("  {s:>wd$}"));
        }
        writeln!(w, "{line}")?;
    }
    Ok(())
}
