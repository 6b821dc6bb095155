//! Statistics per request name, as Locust shows them: one row per name in
//! the mix's order, then `Aggregated` (the run's totals).
//!
//! The text tables and the CSV rows read their numbers through `Entry`,
//! whose mean and percentiles are the JSON's own functions (`row_stats`,
//! `quantile`) over the same histogram, so a name's numbers are the same
//! in every report (a test holds the CSV to the JSON). The `Aggregated`
//! row is the run's totals (3-digit histogram), the numbers of the wrk
//! report above it, not a sum of the names: HTTP/2 connect failures
//! belong to no name.

use super::*;
use crate::stats::{ErrorCounts, NameSummary, LOCUST_QUANTILES};
use std::io::{self, Write};
use std::time::Duration;

/// Locust's percentile column headers, in `LOCUST_QUANTILES`' order.
const PERCENTILE_HEADS: [&str; 11] = [
    "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%",
];

/// One row of the per-name reports: a request name, or the total.
pub(super) struct Entry<'a> {
    /// Locust's "Type" (empty for `Aggregated`).
    pub method: &'a str,
    pub name: String,
    pub requests: u64,
    pub bytes_read: u64,
    pub errors: ErrorCounts,
    pub latency: &'a Histogram<u64>,
    pub duration: Duration,
}

impl<'a> Entry<'a> {
    pub fn of_name(n: &'a NameSummary, duration: Duration) -> Self {
        Entry {
            method: &n.method,
            name: n.name.clone(),
            requests: n.requests,
            bytes_read: n.bytes_read,
            errors: n.errors,
            latency: &n.latency,
            duration,
        }
    }

    /// The run's totals under `name` and `method`.
    pub fn total(s: &'a Summary, method: &'a str, name: &str) -> Self {
        Entry {
            method,
            name: name.to_string(),
            requests: s.requests,
            bytes_read: s.bytes_read,
            errors: s.errors,
            latency: &s.latency,
            duration: s.duration,
        }
    }

    /// Locust's failures: transport errors, status and check failures.
    pub fn failures(&self) -> u64 {
        self.errors.total()
    }

    /// Failures among the requests that ended (responses and transport
    /// errors), in percent, as `blast report`'s errors column.
    pub fn fail_percent(&self) -> f64 {
        let ended = self.requests + self.errors.transport();
        if ended == 0 {
            0.0
        } else {
            self.failures() as f64 * 100.0 / ended as f64
        }
    }

    fn per_s(&self, n: u64) -> f64 {
        let s = self.duration.as_secs_f64();
        if s > 0.0 {
            n as f64 / s
        } else {
            0.0
        }
    }

    pub fn rps(&self) -> f64 {
        self.per_s(self.requests)
    }

    pub fn failures_per_s(&self) -> f64 {
        self.per_s(self.failures())
    }

    /// The mean as the JSON's `latency_us.mean` gives it.
    pub fn mean_us(&self) -> f64 {
        row_stats(self.latency).mean
    }

    pub fn min_us(&self) -> u64 {
        if self.latency.is_empty() {
            0
        } else {
            self.latency.min()
        }
    }

    pub fn max_us(&self) -> u64 {
        if self.latency.is_empty() {
            0
        } else {
            self.latency.max()
        }
    }

    pub fn quantile_us(&self, q: f64) -> u64 {
        quantile(self.latency, q)
    }

    /// Bytes per response (Locust's Average Content Size).
    pub fn bytes_per_response(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.bytes_read as f64 / self.requests as f64
        }
    }
}

/// The names' rows, in the mix's order.
pub(super) fn entries(s: &Summary) -> Vec<Entry<'_>> {
    s.by_name
        .iter()
        .map(|n| Entry::of_name(n, s.duration))
        .collect()
}

/// A text table: left-aligned leading columns, the rest right-aligned,
/// time columns at least as wide as the widest time (`999.99ms`) so they
/// line up, ` | ` before the columns that start a group, as Locust's
/// console tables.
struct Table {
    heads: Vec<String>,
    left: usize,
    times: std::ops::Range<usize>,
    breaks: &'static [usize],
}

const TIME_WIDTH: usize = 8;

impl Table {
    fn write(&self, w: &mut impl Write, rows: &[Vec<String>], total: &[String]) -> io::Result<()> {
        let mut width: Vec<usize> = (self.heads.iter().enumerate())
            .map(|(i, h)| match self.times.contains(&i) {
                true => h.chars().count().max(TIME_WIDTH),
                false => h.chars().count(),
            })
            .collect();
        for row in rows.iter().map(Vec::as_slice).chain([total]) {
            for (wd, c) in width.iter_mut().zip(row) {
                *wd = (*wd).max(c.chars().count());
            }
        }
        let line = |w: &mut dyn Write, cells: &[String]| -> io::Result<()> {
            let mut text = String::new();
            for (i, (c, &wd)) in cells.iter().zip(&width).enumerate() {
                if i > 0 {
                    text.push_str(if self.breaks.contains(&i) {
                        " | "
                    } else {
                        "  "
                    });
                }
                if i < self.left {
                    text.push_str(&format!("{c:<wd$}"));
                } else {
                    text.push_str(&format!("{c:>wd$}"));
                }
            }
            writeln!(w, "{}", text.trim_end())
        };
        let rule = |w: &mut dyn Write| -> io::Result<()> {
            let mut text = String::new();
            for (i, &wd) in width.iter().enumerate() {
                if i > 0 {
                    text.push_str(if self.breaks.contains(&i) {
                        "-|-"
                    } else {
                        "--"
                    });
                }
                text.push_str(&"-".repeat(wd));
            }
            writeln!(w, "{text}")
        };
        line(w, &self.heads)?;
        rule(w)?;
        for r in rows {
            line(w, r)?;
        }
        rule(w)?;
        line(w, total)
    }
}

fn time_cell(e: &Entry, us: u64) -> String {
    if e.latency.is_empty() {
        "-".into()
    } else {
        format_time_us(us as f64)
    }
}

fn stats_cells(e: &Entry) -> Vec<String> {
    let mean = if e.latency.is_empty() {
        "-".into()
    } else {
        format_time_us(e.mean_us())
    };
    vec![
        e.method.to_string(),
        e.name.clone(),
        e.requests.to_string(),
        format!("{}({:.2}%)", e.failures(), e.fail_percent()),
        mean,
        time_cell(e, e.min_us()),
        time_cell(e, e.max_us()),
        time_cell(e, e.quantile_us(0.5)),
        format!("{:.2}", finite(e.rps())),
        format!("{:.2}", finite(e.failures_per_s())),
    ]
}

fn percentile_cells(e: &Entry) -> Vec<String> {
    let mut cells = vec![e.method.to_string(), e.name.clone()];
    cells.extend(
        LOCUST_QUANTILES
            .iter()
            .map(|&q| time_cell(e, e.quantile_us(q))),
    );
    cells.push(e.requests.to_string());
    cells
}

/// Locust's end-of-run tables for a run with names: requests per name,
/// then response time percentiles per name, each closed by `Aggregated`.
/// Nothing for a run without names.
pub(super) fn write_names_text(w: &mut impl Write, s: &Summary) -> io::Result<()> {
    if s.by_name.is_empty() {
        return Ok(());
    }
    let rows = entries(s);
    let total = Entry::total(s, "", "Aggregated");
    let stats = Table {
        heads: [
            "Type",
            "Name",
            "# reqs",
            "# fails",
            "Avg",
            "Min",
            "Max",
            "Med",
            "req/s",
            "failures/s",
        ]
        .map(String::from)
        .to_vec(),
        left: 2,
        times: 4..8,
        breaks: &[4, 8],
    };
    writeln!(w)?;
    let cells: Vec<Vec<String>> = rows.iter().map(stats_cells).collect();
    stats.write(w, &cells, &stats_cells(&total))?;

    let mut heads = vec!["Type".to_string(), "Name".to_string()];
    heads.extend(PERCENTILE_HEADS.map(String::from));
    heads.push("# reqs".into());
    let percentiles = Table {
        heads,
        left: 2,
        times: 2..13,
        breaks: &[2, 13],
    };
    writeln!(w)?;
    writeln!(w, "Response time percentiles (approximated)")?;
    let cells: Vec<Vec<String>> = rows.iter().map(percentile_cells).collect();
    percentiles.write(w, &cells, &percentile_cells(&total))
}
