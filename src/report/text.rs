//! The text report, in wrk 4.1's layout.

use super::*;
use crate::stats::checks::GRPC_DETAIL;
use crate::stats::slo::Verdict;
use crate::stats::{CheckSummary, Streaming, TlsSummary};
use crate::units::thousands;
use std::io::{self, Write};

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

/// One row of wrk's Thread Stats table.
pub(super) fn write_row(
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
/// requests left at the end and Ctrl-C (each only when there is something to say),
/// then, for a run with request names, Locust's tables per name.
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
    write!(
        w,
        "  {} threads and {} connections",
        info.threads, info.connections
    )?;
    if info.protocol != "http/1.1" {
        write!(w, ", {} with {} streams each", info.protocol, info.streams)?;
    } else if info.streams > 1 {
        write!(w, ", {} requests pipelined on each", info.streams)?;
    }
    writeln!(w)?;

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
    if e.tls > 0 {
        writeln!(w, "  TLS errors: {}", e.tls)?;
    }
    if e.status > 0 {
        writeln!(w, "  Non-2xx or 3xx responses: {}", e.status)?;
    }
    if e.check > 0 {
        writeln!(w, "  Check failures: {}", e.check)?;
    }
    if e.grpc > 0 {
        writeln!(w, "  gRPC errors: {}", e.grpc)?;
    }
    write_grpc_status(w, &s.status_codes)?;

    if let Some(t) = &s.tls {
        write_tls(w, t)?;
    }
    if s.stream.responses > 0 {
        write_stream(w, &s.stream, s.duration.as_secs_f64(), s.info.goodput)?;
    }
    if !s.error_details.is_empty() || !s.check_details.is_empty() {
        writeln!(w, "  Error causes:")?;
        for (fault, count) in &s.error_details {
            writeln!(w, "    {count:>8}  {}", fault.label())?;
        }
        for (detail, count) in &s.check_details {
            match detail.starts_with(GRPC_DETAIL) {
                true => writeln!(w, "    {count:>8}  {detail}")?,
                false => writeln!(w, "    {count:>8}  check: {detail}")?,
            }
        }
    }
    write_checks(w, &s.checks)?;
    if s.in_flight_at_end > 0 {
        writeln!(w, "  In flight at end: {}", s.in_flight_at_end)?;
    }
    if s.not_sent_at_end > 0 {
        writeln!(w, "  Not sent at end: {}", s.not_sent_at_end)?;
    }
    write_skipped(w, s)?;
    if s.interrupted {
        writeln!(
            w,
            "  Interrupted by Ctrl-C or SIGTERM: report covers {}",
            format_time_us(duration_us)
        )?;
    }
    if let Some(line) = super::stages::broke_line(s) {
        writeln!(w, "  {line}")?;
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
    writeln!(w, "Transfer/sec: {:>10}B", format_binary(s.bytes_per_sec()))?;
    super::names::write_names_text(w, s)
}

/// k6's summary line per check: its pass share, passes and fails, with
/// dots out to a common column.
fn write_checks(w: &mut impl Write, checks: &[CheckSummary]) -> io::Result<()> {
    if checks.is_empty() {
        return Ok(());
    }
    let label = |c: &CheckSummary| match &c.name {
        Some(n) => format!("{n}: {}", c.check),
        None => c.check.clone(),
    };
    let width = checks
        .iter()
        .map(|c| label(c).chars().count())
        .max()
        .unwrap_or(0)
        + 3;
    writeln!(w, "  Checks:")?;
    for c in checks {
        let l = label(c);
        let mark = if c.fails == 0 { '✓' } else { '✗' };
        let dots = ".".repeat(width - l.chars().count());
        writeln!(
            w,
            "    {mark} {l} {dots} {:>6.2}%  ✓ {}  ✗ {}",
            c.pass_percent(),
            thousands(c.passes),
            thousands(c.fails)
        )?;
    }
    Ok(())
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

/// The configured test length for the header. wrk only takes whole seconds;
/// blast also takes e.g. `500ms`, which wrk's format would print as `0s`.
pub(super) fn test_length(secs: f64) -> String {
    if secs > 0.0 && secs < 1.0 {
        format!("{:.0}ms", secs * 1000.0)
    } else {
        format_time_s(secs)
    }
}

/// One line on TLS: what was negotiated, and the handshakes made.
fn write_tls(w: &mut impl Write, t: &TlsSummary) -> io::Result<()> {
    write!(w, "  TLS:")?;
    if let Some(i) = &t.info {
        write!(w, " {} {}", i.version, i.cipher)?;
        if let Some(alpn) = &i.alpn {
            write!(w, ", ALPN {alpn}")?;
        }
        write!(w, ",")?;
    }
    let h = &t.handshake;
    write!(w, " {} handshakes", h.len())?;
    if !h.is_empty() {
        write!(
            w,
            " ({} resumed), avg {}, p99 {}",
            t.resumed,
            format_time_us(h.mean()),
            format_time_us(quantile(h, 0.99) as f64)
        )?;
    }
    writeln!(w)
}

/// Two lines on streamed (Server-Sent Events) responses: tokens, and the
/// medians and p99 of TTFT, ITL and TPOT (vLLM's bench serve's metrics).
fn write_stream(w: &mut impl Write, st: &Streaming, secs: f64, goodput: bool) -> io::Result<()> {
    writeln!(
        w,
        "  Streaming: {} output tokens in {} responses (counted from {}), {:.2} tokens/s",
        st.tokens,
        st.responses,
        st.token_count_source(),
        st.tokens as f64 / secs.max(1e-9)
    )?;
    let pair = |h: &Histogram<u64>| {
        format!(
            "p50 {} p99 {}",
            format_time_us(quantile(h, 0.50) as f64),
            format_time_us(quantile(h, 0.99) as f64)
        )
    };
    writeln!(
        w,
        "    TTFT {}, ITL {}, TPOT {}",
        pair(&st.ttft),
        pair(&st.itl),
        pair(&st.tpot)
    )?;
    if goodput {
        writeln!(
            w,
            "    Goodput: {:.2} req/s ({} of {} streamed responses met every per-request --slo condition)",
            st.good as f64 / secs.max(1e-9),
            st.good,
            st.responses
        )?;
    }
    Ok(())
}

/// Sequence steps not sent since an earlier step of their run failed to
/// capture: not requests, so in no other count; shown only when some were.
fn write_skipped(w: &mut impl Write, s: &Summary) -> io::Result<()> {
    let total = s.skipped();
    if total == 0 {
        return Ok(());
    }
    write!(w, "  Skipped: {total} (a sequence step failed to capture:")?;
    let named = s.by_name.iter().filter(|n| n.skipped > 0);
    for (i, n) in named.enumerate() {
        let sep = if i == 0 { " " } else { ", " };
        write!(w, "{sep}{} {}", n.name, n.skipped)?;
    }
    writeln!(w, ")")
}

/// gRPC's status codes by name, as the status table counts them: codes
/// 0-16 (HTTP's start at 100). Nothing for a run without gRPC calls.
fn write_grpc_status(
    w: &mut impl Write,
    codes: &std::collections::BTreeMap<u16, u64>,
) -> io::Result<()> {
    let grpc: Vec<String> = codes
        .iter()
        .filter(|(c, _)| **c < 100)
        .map(|(c, n)| format!("{} {n}", crate::proto::grpc::code_name(*c)))
        .collect();
    if !grpc.is_empty() {
        writeln!(w, "  gRPC status: {}", grpc.join(", "))?;
    }
    Ok(())
}
