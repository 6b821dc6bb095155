//! The families as text: Prometheus' exposition format 0.0.4, or
//! OpenMetrics 1.0 when the scraper asks for it (`Accept:
//! application/openmetrics-text`). They differ in the family's name (a
//! counter's family is `blast_requests` in OpenMetrics, its samples
//! `blast_requests_total` in both), the info type, and the `# EOF` line.

use super::{Family, Kind};
use std::fmt::Write;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const OPENMETRICS_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether an `Accept` header asks for OpenMetrics.
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("application/openmetrics-text"))
}

pub fn render(fams: &[Family], openmetrics: bool) -> String {
    let mut out = String::new();
    for f in fams {
        let (family, kind) = match (f.kind, openmetrics) {
            (Kind::Counter, false) => (format!("{}_total", f.name), "counter"),
            (Kind::Counter, true) => (f.name.to_string(), "counter"),
            (Kind::Info, false) => (format!("{}_info", f.name), "gauge"),
            (Kind::Info, true) => (f.name.to_string(), "info"),
            (Kind::Gauge, _) => (f.name.to_string(), "gauge"),
            (Kind::Histogram, _) => (f.name.to_string(), "histogram"),
        };
        let _ = writeln!(out, "# HELP {family} {}", escape(f.help, false));
        let _ = writeln!(out, "# TYPE {family} {kind}");
        for s in &f.samples {
            out.push_str(f.name);
            out.push_str(s.suffix);
            if !s.labels.is_empty() {
                out.push('{');
                for (i, (k, v)) in s.labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{k}=\"{}\"", escape(v, true));
                }
                out.push('}');
            }
            let _ = writeln!(out, " {}", number(s.value));
        }
    }
    if openmetrics {
        out.push_str("# EOF\n");
    }
    out
}

/// A sample's value: integers without a fraction, others as Rust prints
/// them (never in exponent form).
fn number(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    format!("{v}")
}

/// Backslash and newline always; the double quote in label values.
fn escape(s: &str, quote: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}
