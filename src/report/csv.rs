//! `--csv PREFIX`: Locust's four CSV files, from the same Summary as `--json`.
//!
//! The layout is Locust's (`PREFIX_stats.csv`, `PREFIX_stats_history.csv`,
//! `PREFIX_failures.csv`, `PREFIX_exceptions.csv`), so notebooks written
//! for Locust read blast's files unchanged. Two deliberate differences:
//! times are exact milliseconds (the JSON's integer microseconds divided by
//! 1000, never rounded), and every number is the one the JSON report gives
//! for the same run and name: the same histogram, the same quantile calls,
//! the same mean (read through `names::Entry`, which calls the JSON's
//! functions). A run that streamed adds three files of its own, its
//! metrics read through `report::stream`. Text cells that a spreadsheet
//! would run as a formula start with `'` (`field`): names and paths come
//! from scenario files and API callers, and a CSV is opened in Excel.

use super::names::{entries, Entry};
use super::{float, ms, per_second, quantile, row_stats, stream};
use crate::stats::fault::is_success;
use crate::stats::{Fault, Summary, LOCUST_QUANTILES};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::{SystemTime, UNIX_EPOCH};

const PERCENTILE_COLUMNS: &str = "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";

/// Where failures that belong to no request name are filed in
/// `_failures.csv` (HTTP/2 connection attempts, shared by every name).
pub const NO_NAME: &str = "(connection)";

/// Save the CSV files as `PREFIX_SUFFIX.csv` (`write_files`), their
/// timestamps counted back from now by the run's duration. The one place
/// of the CSV report that creates files and reads the clock.
pub fn write(prefix: &str, s: &Summary) -> io::Result<()> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let start = now - s.duration.as_secs_f64();
    write_files(s, start, |suffix| {
        Ok(BufWriter::new(File::create(format!(
            "{prefix}_{suffix}.csv"
        ))?))
    })
}

/// Every CSV file of the run, each to the writer `open` gives for its
/// suffix: `stats`, `stats_history`, `failures` and `exceptions`, and when
/// the run streamed `streaming`, `streaming_totals` and
/// `streaming_history`. Timestamps count from `start_unix_s`, the measured
/// start in seconds since the epoch.
pub fn write_files<W: Write>(
    s: &Summary,
    start_unix_s: f64,
    mut open: impl FnMut(&str) -> io::Result<W>,
) -> io::Result<()> {
    let mut file = |suffix: &str, f: &dyn Fn(&mut W) -> io::Result<()>| {
        let mut w = open(suffix)?;
        f(&mut w)?;
        w.flush()
    };
    file("stats", &|w| write_stats(w, s))?;
    file("stats_history", &|w| write_history(w, s, start_unix_s))?;
    file("failures", &|w| write_failures(w, s))?;
    file("exceptions", &|w| write_exceptions(w))?;
    if stream::streamed(s) {
        file("streaming", &|w| write_streaming(w, s))?;
        file("streaming_totals", &|w| write_streaming_totals(w, s))?;
        file("streaming_history", &|w| {
            write_streaming_history(w, s, start_unix_s)
        })?;
    }
    Ok(())
}

/// `PREFIX_stats.csv`: a row per request name (Type = its method) in the
/// mix's order, or for a run without names one row for the request (its
/// method, its URL's path), then Locust's `Aggregated` row: the run's
/// totals, the JSON's top-level numbers.
pub fn write_stats(w: &mut impl Write, s: &Summary) -> io::Result<()> {
    writeln!(
        w,
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
         Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,\
         {PERCENTILE_COLUMNS}"
    )?;
    let mut rows = entries(s);
    if rows.is_empty() {
        rows.push(Entry::total(s, &s.info.method, &url_path(&s.info.url)));
    }
    rows.push(Entry::total(s, "", "Aggregated"));
    for e in &rows {
        writeln!(w, "{}", stats_row(e))?;
    }
    Ok(())
}

/// One row of `_stats.csv`.
pub(super) fn stats_row(e: &Entry) -> String {
    let mut cells = vec![
        field(e.method),
        field(&e.name),
        e.requests.to_string(),
        e.failures().to_string(),
        ms(e.quantile_us(0.5)),
        float(e.mean_us() / 1000.0),
        ms(e.min_us()),
        ms(e.max_us()),
        float(e.bytes_per_response()),
        float(e.rps()),
        float(e.failures_per_s()),
    ];
    cells.extend(LOCUST_QUANTILES.iter().map(|&q| ms(e.quantile_us(q))));
    cells.join(",")
}

/// `PREFIX_failures.csv`: one row per (method, name, error) with its
/// occurrences, as Locust's. Error is the cause as the JSON's
/// `error_details` names it (`read: EOF mid-body`), `status: CODE` for a
/// non-2xx/3xx response, or for a failed check the check's text as Locust
/// writes the `CatchResponseError` a locustfile's `response.failure(text)`
/// raises (`CatchResponseError('json /predictions exists')`), so that the
/// rows of a blast run and of the same flow run by Locust line up. Per name
/// in the mix's order (without names, the request's method and path),
/// transport causes most frequent first, then status codes in order, then
/// checks most frequent first; failures of no name last, under
/// `(connection)`.
pub fn write_failures(w: &mut impl Write, s: &Summary) -> io::Result<()> {
    writeln!(w, "Method,Name,Error,Occurrences")?;
    let mut row = |method: &str, name: &str, error: &str, n: u64| {
        writeln!(w, "{},{},{},{n}", field(method), field(name), field(error))
    };
    // The codes the default rule refuses; none where no response failed
    // its status rule, as when a status check (`status == 404`) accepts them.
    let status = |codes: &std::collections::BTreeMap<u16, u64>, refused: u64| {
        codes
            .iter()
            .filter(|(c, n)| refused > 0 && !is_success(**c) && **n > 0)
            .map(|(c, n)| (format!("status: {c}"), *n))
            .collect::<Vec<_>>()
    };
    if s.by_name.is_empty() {
        let name = url_path(&s.info.url);
        for (f, n) in &s.error_details {
            row(&s.info.method, &name, f.label(), *n)?;
        }
        for (e, n) in status(&s.status_codes, s.errors.status) {
            row(&s.info.method, &name, &e, n)?;
        }
        for (detail, n) in &s.check_details {
            row(&s.info.method, &name, &catch_response_error(detail), *n)?;
        }
        return Ok(());
    }
    let mut named = [0u64; Fault::COUNT];
    for ns in &s.by_name {
        for (f, n) in &ns.error_details {
            named[*f as usize] += n;
            row(&ns.method, &ns.name, f.label(), *n)?;
        }
        for (e, n) in status(&ns.status_codes, ns.errors.status) {
            row(&ns.method, &ns.name, &e, n)?;
        }
        for (detail, n) in &ns.check_details {
            row(&ns.method, &ns.name, &catch_response_error(detail), *n)?;
        }
    }
    for (f, n) in &s.error_details {
        let rest = n.saturating_sub(named[*f as usize]);
        if rest > 0 {
            row("", NO_NAME, f.label(), rest)?;
        }
    }
    Ok(())
}

/// A check failure's Error cell as Locust writes it: Python's `repr` of
/// the `CatchResponseError(detail)` that `response.failure(detail)` raises
/// (single quotes unless the text holds one and no double quote; `\\`,
/// the quote and control characters escaped).
pub fn catch_response_error(detail: &str) -> String {
    // A gRPC call's status is no check: its detail as the JSON has it.
    if detail.starts_with(crate::stats::checks::GRPC_DETAIL) {
        return detail.to_string();
    }
    let quote = if detail.contains('\'') && !detail.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(detail.len() + 22);
    out.push_str("CatchResponseError(");
    out.push(quote);
    for c in detail.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out.push(')');
    out
}

/// `PREFIX_exceptions.csv`: Locust's header and no rows. Locust lists the
/// exceptions its users' Python code raised; blast runs no user code, and
/// what goes wrong on the wire is in `_failures.csv`.
pub fn write_exceptions(w: &mut impl Write) -> io::Result<()> {
    writeln!(w, "Count,Message,Traceback,Nodes")
}

/// `PREFIX_stats_history.csv`: one row per timeline second. The percentile
/// columns cover that second only; the `Total` columns everything up to it.
pub fn write_history(w: &mut impl Write, s: &Summary, start_unix_s: f64) -> io::Result<()> {
    writeln!(
        w,
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,{PERCENTILE_COLUMNS},\
         Total Request Count,Total Failure Count,Total Median Response Time,\
         Total Average Response Time,Total Min Response Time,Total Max Response Time,\
         Total Average Content Size"
    )?;
    let failures = per_second(&s.timeline, |p| p.errors);
    for (p, (_, failures_per_s)) in s.timeline.iter().zip(failures) {
        let mut row = vec![
            format!("{:.0}", (start_unix_s + p.t_s).floor()),
            s.info.connections.to_string(),
            String::new(),
            "Aggregated".to_string(),
            float(p.rps),
            float(failures_per_s),
        ];
        row.extend(p.quantiles_us.iter().map(|&us| ms(us)));
        let t = &p.total;
        row.extend([
            t.requests.to_string(),
            t.errors.to_string(),
            ms(t.p50_us),
            float(t.mean_us / 1000.0),
            ms(t.min_us),
            ms(t.max_us),
            float(per(t.bytes, t.requests)),
        ]);
        writeln!(w, "{}", row.join(","))?;
    }
    Ok(())
}

/// `PREFIX_streaming.csv`: one row per metric (TTFT, TPOT, ITL, E2EL),
/// times in milliseconds.
pub fn write_streaming(w: &mut impl Write, s: &Summary) -> io::Result<()> {
    let pcts: Vec<&str> = stream::QUANTILES.iter().map(|(_, h)| *h).collect();
    writeln!(w, "Metric,Count,Mean,Min,{},Max", pcts.join(","))?;
    for (name, h) in stream::metrics(s) {
        let min = if h.is_empty() { 0 } else { h.min() };
        let mut row = vec![
            name.to_string(),
            h.len().to_string(),
            float(row_stats(h).mean / 1000.0),
            ms(min),
        ];
        row.extend(stream::QUANTILES.iter().map(|&(q, _)| ms(quantile(h, q))));
        row.push(ms(if h.is_empty() { 0 } else { h.max() }));
        writeln!(w, "{}", row.join(","))?;
    }
    Ok(())
}

/// `PREFIX_streaming_totals.csv`: one row with the run's streamed
/// responses, output tokens, output tokens/s, where the token counts came
/// from (`usage`, `events` or `mixed`) and goodput (empty without `--slo`
/// per-request conditions).
pub fn write_streaming_totals(w: &mut impl Write, s: &Summary) -> io::Result<()> {
    writeln!(
        w,
        "Streamed Responses,Output Tokens,Output Tokens/s,Token Count Source,Goodput Requests/s"
    )?;
    writeln!(
        w,
        "{},{},{},{},{}",
        s.stream.responses,
        s.stream.tokens,
        float(stream::tokens_per_s(s)),
        s.stream.token_count_source(),
        stream::goodput_rps(s).map(float).unwrap_or_default()
    )
}

/// `PREFIX_streaming_history.csv`: one row per timeline second, its
/// output tokens and their rate over that second.
pub fn write_streaming_history(
    w: &mut impl Write,
    s: &Summary,
    start_unix_s: f64,
) -> io::Result<()> {
    writeln!(w, "Timestamp,Output Tokens,Output Tokens/s")?;
    for (t_s, tokens, rate) in stream::tokens_over_time(s) {
        writeln!(
            w,
            "{:.0},{tokens},{}",
            (start_unix_s + t_s).floor(),
            float(rate)
        )?;
    }
    Ok(())
}

fn per(total: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        total as f64 / n as f64
    }
}

/// A text cell (a method, a name or path, an error): one a spreadsheet
/// would run as a formula (first character `=`, `+`, `-`, `@`, TAB or CR)
/// gets a leading `'`, as OWASP recommends, since quoting alone does not
/// stop Excel or LibreOffice; then quoted when it needs it (RFC 4180).
/// Numbers never pass through here: none blast writes is negative, and a
/// `'` would make them text.
fn field(s: &str) -> String {
    let s = match s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        true => format!("'{s}"),
        false => s.to_string(),
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The path and query of a URL, Locust's `Name`: `http://h:80/a?b` -> `/a?b`.
pub fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => rest[i..].to_string(),
        Some(i) => format!("/{}", &rest[i..]),
        None => "/".to_string(),
    }
}

#[cfg(test)]
#[path = "csv_tests.rs"]
mod tests;
