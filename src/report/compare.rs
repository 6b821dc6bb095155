//! `blast report A.json B.json ...`: saved runs side by side.
//!
//! Reads documents saved from `blast --json` (or `blast find --json`), prints
//! one row per run, then, when runs streamed, a line per run with their
//! streaming numbers (TTFT, TPOT, ITL, tokens/s), when runs have request names a line
//! per name and run, and with `--html` the charts. A file that cannot be read
//! or is not a blast report is a usage error naming the file (exit 2): the
//! comparison is only as good as its inputs, so none is skipped silently.
//! Values missing from a document show as `-`, never as a made-up zero.

use super::{finite, format_time_us};
use serde_json::Value;
use std::io::Write;

/// Printed under the table when a `blast find` document is among the runs.
pub const FIND_NOTE: &str = "find: req/s is the maximum sustainable throughput; \
                             p50, p99 and errors are those of that step.";

/// One run as the comparison shows it. Latencies in microseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub label: String,
    pub url: String,
    /// A `blast find` document: `rps` is its maximum sustainable rate.
    pub find: bool,
    pub requests: Option<u64>,
    pub rps: Option<f64>,
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
    pub p99_9_us: Option<f64>,
    pub max_us: Option<f64>,
    pub error_percent: Option<f64>,
    pub bytes_per_response: Option<f64>,
    /// (x on the percentile axis, latency ms), from `latency_spectrum`.
    pub spectrum: Vec<(f64, f64)>,
    /// The streaming numbers, for a run that streamed.
    pub stream: Option<StreamRow>,
}

impl Row {
    /// Read a `blast --json` or `blast find --json` document.
    pub fn from_json(label: &str, v: &Value) -> Result<Row, String> {
        let url = v["url"].as_str().unwrap_or("").to_string();
        if let Some(steps) = v["steps"].as_array() {
            let rps = v["max_sustainable_rps"].as_f64();
            // The best step is the passing one at the maximum sustainable rate.
            let best = rps.and_then(|r| {
                steps.iter().find(|s| {
                    s["pass"] == Value::Bool(true) && s["offered_rps"].as_f64() == Some(r)
                })
            });
            let step = |k: &str| best.and_then(|s| s[k].as_f64());
            return Ok(Row {
                label: label.into(),
                url,
                find: true,
                requests: None,
                rps,
                p50_us: step("p50_us"),
                p99_us: step("p99_us"),
                p99_9_us: None,
                max_us: None,
                error_percent: step("error_percent"),
                bytes_per_response: None,
                spectrum: Vec::new(),
                stream: None,
            });
        }
        let requests = v["requests"]
            .as_u64()
            .ok_or("not a blast --json report (no \"requests\" or \"steps\")")?;
        let lat = &v["latency_us"];
        if !lat.is_object() {
            return Err("not a blast --json report (no \"latency_us\")".into());
        }
        let error_percent = error_percent(requests, &v["errors"]);
        let bytes_per_response = v["bytes_read"]
            .as_u64()
            .filter(|_| requests > 0)
            .map(|b| b as f64 / requests as f64);
        let spectrum = v["latency_spectrum"]
            .as_array()
            .map(|pts| {
                pts.iter()
                    .filter_map(|p| {
                        let q = p["percentile"].as_f64()? / 100.0;
                        let us = p["value_us"].as_f64()?;
                        Some((super::svg::percentile_x(q, requests), us / 1000.0))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Row {
            label: label.into(),
            url,
            find: false,
            requests: Some(requests),
            rps: v["rps"].as_f64(),
            p50_us: lat["p50"].as_f64(),
            p99_us: lat["p99"].as_f64(),
            p99_9_us: lat["p99_9"].as_f64(),
            max_us: lat["max"].as_f64(),
            error_percent: Some(error_percent),
            bytes_per_response,
            spectrum,
            stream: StreamRow::from_json(v),
        })
    }

    /// The text cells: label, requests, req/s, p50, p99, p99.9, max,
    /// errors, bytes/response; `-` where the document has no value.
    pub fn cells(&self) -> [String; 9] {
        let dash = || "-".to_string();
        let time = |v: Option<f64>| v.map_or_else(dash, format_time_us);
        let rps = match (self.rps, self.find) {
            (Some(r), _) => format!("{r:.2}"),
            (None, true) => "none".into(),
            (None, false) => dash(),
        };
        [
            self.label.clone(),
            self.requests.map_or_else(dash, |n| n.to_string()),
            rps,
            time(self.p50_us),
            time(self.p99_us),
            time(self.p99_9_us),
            time(self.max_us),
            self.error_percent.map_or_else(dash, |e| format!("{e:.2}%")),
            self.bytes_per_response
                .map_or_else(dash, |b| format!("{b:.1}")),
        ]
    }
}

/// Failures (transport errors, refused statuses and failed checks) among
/// the requests that ended (responses and transport errors), in percent.
/// A report from before checks has no `check` key: none failed.
fn error_percent(requests: u64, e: &Value) -> f64 {
    let n = |k: &str| e[k].as_u64().unwrap_or(0);
    let transport = n("connect") + n("read") + n("write") + n("timeout") + n("parse") + n("tls");
    let ended = requests + transport;
    if ended == 0 {
        0.0
    } else {
        (transport + n("status") + n("check")) as f64 * 100.0 / ended as f64
    }
}

/// One request name of one run, as the per-name comparison shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct NameRow {
    pub name: String,
    pub rps: Option<f64>,
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
    pub error_percent: Option<f64>,
}

/// The request names of a `blast --json` document (its `by_name`, keyed
/// by name); none for a run without names or an older document.
pub fn names_from_json(v: &Value) -> Vec<NameRow> {
    let Some(names) = v["by_name"].as_object() else {
        return Vec::new();
    };
    names
        .iter()
        .map(|(name, n)| {
            let lat = &n["latency_us"];
            NameRow {
                name: name.clone(),
                rps: n["rps"].as_f64(),
                p50_us: lat["p50"].as_f64(),
                p99_us: lat["p99"].as_f64(),
                error_percent: n["requests"]
                    .as_u64()
                    .map(|r| error_percent(r, &n["errors"])),
            }
        })
        .collect()
}

/// The per-name comparison, printed after the run table (a blank line
/// apart) when some run has request names, else nothing: for each name
/// (in the order the runs first list them) one line per run with its
/// req/s, p50, p99 and errors; `-` for a run that did not send that name.
pub fn write_names_table(
    w: &mut impl Write,
    runs: &[(String, Vec<NameRow>)],
) -> std::io::Result<()> {
    if runs.iter().all(|(_, names)| names.is_empty()) {
        return Ok(());
    }
    writeln!(w)?;
    let mut order: Vec<&str> = Vec::new();
    for (_, names) in runs {
        for n in names {
            if !order.contains(&n.name.as_str()) {
                order.push(&n.name);
            }
        }
    }
    let dash = || "-".to_string();
    let time = |v: Option<f64>| v.map_or_else(dash, format_time_us);
    let mut cells: Vec<[String; 6]> = Vec::new();
    for name in &order {
        for (i, (label, names)) in runs.iter().enumerate() {
            let row = names.iter().find(|n| n.name == *name);
            cells.push([
                if i == 0 {
                    name.to_string()
                } else {
                    String::new()
                },
                label.clone(),
                row.and_then(|r| r.rps)
                    .map_or_else(dash, |r| format!("{r:.2}")),
                time(row.and_then(|r| r.p50_us)),
                time(row.and_then(|r| r.p99_us)),
                row.and_then(|r| r.error_percent)
                    .map_or_else(dash, |e| format!("{e:.2}%")),
            ]);
        }
    }
    let heads = ["name", "run", "req/s", "p50", "p99", "errors"];
    write_aligned(w, heads, &cells, 2)
}

const HEADERS: [&str; 9] = [
    "run",
    "requests",
    "req/s",
    "p50",
    "p99",
    "p99.9",
    "max",
    "errors",
    "bytes/resp",
];

/// The comparison table: the label left-aligned, numbers right-aligned.
pub fn write_table(w: &mut impl Write, rows: &[Row]) -> std::io::Result<()> {
    let cells: Vec<[String; 9]> = rows.iter().map(Row::cells).collect();
    write_aligned(w, HEADERS, &cells, 1)?;
    if rows.iter().any(|r| r.find) {
        writeln!(w, "{FIND_NOTE}")?;
    }
    Ok(())
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
pub const STREAM_HEADERS: [&str; 7] = [
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
pub fn stream_cells(r: &Row) -> [String; 7] {
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
pub fn write_stream_table(w: &mut impl Write, rows: &[Row]) -> std::io::Result<()> {
    if rows.iter().all(|r| r.stream.is_none()) {
        return Ok(());
    }
    writeln!(w)?;
    let cells: Vec<[String; 7]> = rows.iter().map(stream_cells).collect();
    write_aligned(w, STREAM_HEADERS, &cells, 1)
}

/// A table: the headers, then the rows, each column as wide as its widest
/// cell, two spaces apart; the first `left` columns (labels) left-aligned,
/// the numbers right-aligned.
fn write_aligned<const N: usize>(
    w: &mut impl Write,
    heads: [&str; N],
    cells: &[[String; N]],
    left: usize,
) -> std::io::Result<()> {
    let mut width = heads.map(|h| h.chars().count());
    for c in cells {
        for (wd, s) in width.iter_mut().zip(c) {
            *wd = (*wd).max(s.chars().count());
        }
    }
    for c in std::iter::once(&heads.map(String::from)).chain(cells) {
        let mut line = String::new();
        for (k, (s, wd)) in c.iter().zip(&width).enumerate() {
            let gap = if k == 0 { "" } else { "  " };
            if k < left {
                line.push_str(&format!("{gap}{s:<wd$}"));
            } else {
                line.push_str(&format!("{gap}{s:>wd$}"));
            }
        }
        writeln!(w, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run_doc() -> Value {
        json!({
            "url": "http://127.0.0.1:1/",
            "requests": 1000, "rps": 500.0, "bytes_read": 64000,
            "errors": {"connect": 0, "read": 10, "write": 0, "timeout": 0, "status": 5, "parse": 0},
            "latency_us": {"p50": 1000, "p99": 5000, "p99_9": 9000, "max": 12000},
            "latency_spectrum": [{"percentile": 0.0, "value_us": 500},
                                  {"percentile": 90.0, "value_us": 2000},
                                  {"percentile": 100.0, "value_us": 12000}]
        })
    }

    #[test]
    fn run_row() {
        let r = Row::from_json("flask", &run_doc()).unwrap();
        assert_eq!(r.requests, Some(1000));
        // 10 read errors and 5 non-2xx over 1010 that ended.
        assert!((r.error_percent.unwrap() - 15.0 * 100.0 / 1010.0).abs() < 1e-9);
        assert_eq!(r.bytes_per_response, Some(64.0));
        assert_eq!(r.spectrum.len(), 3);
        assert!((r.spectrum[1].0 - 1.0).abs() < 1e-9);
        assert!((r.spectrum[2].0 - 3.0).abs() < 1e-9, "100% at 1 - 1/N");
        assert_eq!(
            r.cells(),
            ["flask", "1000", "500.00", "1.00ms", "5.00ms", "9.00ms", "12.00ms", "1.49%", "64.0"]
                .map(String::from)
        );
    }

    /// A response that failed a check is a failure beside the status ones.
    #[test]
    fn check_failures_count_as_errors() {
        let mut doc = run_doc();
        doc["errors"]["check"] = json!(20);
        let r = Row::from_json("checked", &doc).unwrap();
        assert!((r.error_percent.unwrap() - 35.0 * 100.0 / 1010.0).abs() < 1e-9);
    }

    #[test]
    fn find_row_and_table() {
        let doc = json!({"url": "u", "slo": "p99<10ms", "max_sustainable_rps": 400.0,
            "steps": [
                {"offered_rps": 400.0, "achieved_rps": 399.0, "p50_us": 900, "p99_us": 4000,
                 "error_percent": 0.0, "pass": true},
                {"offered_rps": 800.0, "achieved_rps": 600.0, "p50_us": 90000, "p99_us": 400000,
                 "error_percent": 0.0, "pass": false}]});
        let f = Row::from_json("find", &doc).unwrap();
        assert!(f.find);
        assert_eq!(f.rps, Some(400.0));
        assert_eq!(f.p99_us, Some(4000.0));
        assert_eq!(f.cells()[5], "-");
        let r = Row::from_json("a-much-longer-label", &run_doc()).unwrap();
        let mut out = Vec::new();
        write_table(&mut out, &[r, f]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("run                  requests"));
        assert!(lines[2].starts_with("find     "));
        assert!(lines[2].contains("400.00"));
        assert_eq!(lines[3], FIND_NOTE);
        // Every row lines up with the header.
        assert!(lines[..3].iter().all(|l| l.len() == lines[0].len()));
    }

    #[test]
    fn rejects_other_json() {
        assert!(Row::from_json("x", &json!({"hello": 1})).is_err());
        assert!(Row::from_json("x", &json!([1, 2])).is_err());
        assert!(Row::from_json("x", &json!({"requests": 3})).is_err());
    }
}
