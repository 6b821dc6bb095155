//! `--csv PREFIX`: Locust's two CSV files, from the same Summary as `--json`.
//!
//! The layout is Locust's (`PREFIX_stats.csv`, `PREFIX_stats_history.csv`),
//! so notebooks written for Locust read blast's files unchanged. Two
//! deliberate differences: times are exact milliseconds (the JSON's integer
//! microseconds divided by 1000, never rounded), and every number is the
//! one the JSON report gives for the same run: the same histogram, the same
//! quantile calls, and the mean taken from the JSON document itself.

use crate::report;
use crate::stats::{Summary, LOCUST_QUANTILES};
use hdrhistogram::Histogram;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::{SystemTime, UNIX_EPOCH};

const PERCENTILE_COLUMNS: &str = "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";

/// Write `PREFIX_stats.csv` and `PREFIX_stats_history.csv`.
pub fn write(prefix: &str, s: &Summary) -> io::Result<()> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let start = now - s.duration.as_secs_f64();
    let mut stats = BufWriter::new(File::create(format!("{prefix}_stats.csv"))?);
    write_stats(&mut stats, s)?;
    stats.flush()?;
    let mut history = BufWriter::new(File::create(format!("{prefix}_stats_history.csv"))?);
    write_history(&mut history, s, start)?;
    history.flush()
}

/// `PREFIX_stats.csv`: one row for the request (method, path) and Locust's
/// `Aggregated` row, which are the same numbers since blast sends one request.
pub fn write_stats(w: &mut impl Write, s: &Summary) -> io::Result<()> {
    writeln!(
        w,
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
         Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,\
         {PERCENTILE_COLUMNS}"
    )?;
    let h = &s.latency;
    let failures = failures(s);
    let secs = s.duration.as_secs_f64();
    let failures_per_s = if secs > 0.0 {
        failures as f64 / secs
    } else {
        0.0
    };
    let mean_us = report::to_json(s)["latency_us"]["mean"]
        .as_f64()
        .unwrap_or(0.0);
    let mut numbers = vec![
        s.requests.to_string(),
        failures.to_string(),
        ms(quantile(h, 0.5)),
        float(mean_us / 1000.0),
        ms(min(h)),
        ms(max(h)),
        float(per(s.bytes_read, s.requests)),
        float(s.rps()),
        float(failures_per_s),
    ];
    numbers.extend(LOCUST_QUANTILES.iter().map(|&q| ms(quantile(h, q))));
    let numbers = numbers.join(",");
    let method = field(&s.info.method);
    let name = field(&url_path(&s.info.url));
    writeln!(w, "{method},{name},{numbers}")?;
    writeln!(w, ",Aggregated,{numbers}")
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
    let mut prev_t = 0.0;
    for p in &s.timeline {
        let dt = p.t_s - prev_t;
        prev_t = p.t_s;
        let failures_per_s = if dt > 0.0 { p.errors as f64 / dt } else { 0.0 };
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

/// Locust's failures: requests that did not succeed, here transport errors
/// and non-2xx/3xx responses.
fn failures(s: &Summary) -> u64 {
    s.errors.transport() + s.errors.status
}

fn quantile(h: &Histogram<u64>, q: f64) -> u64 {
    if h.is_empty() {
        0
    } else {
        h.value_at_quantile(q)
    }
}

fn min(h: &Histogram<u64>) -> u64 {
    if h.is_empty() {
        0
    } else {
        h.min()
    }
}

fn max(h: &Histogram<u64>) -> u64 {
    if h.is_empty() {
        0
    } else {
        h.max()
    }
}

fn per(total: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        total as f64 / n as f64
    }
}

/// Integer microseconds as exact milliseconds: 250 -> `0.25`, 1000 -> `1`.
pub fn ms(us: u64) -> String {
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

/// Quote a CSV field when it needs it (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
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
mod tests {
    use super::*;
    use crate::stats::{
        latency_histogram, rate_histogram, Cumulative, ErrorCounts, RunInfo, TimelinePoint,
    };
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn summary() -> Summary {
        let mut latency = latency_histogram();
        for (v, n) in [(250, 5), (1000, 4), (12_345, 1)] {
            latency.record_n(v, n).unwrap();
        }
        Summary {
            by_name: Vec::new(),
            info: RunInfo {
                url: "http://127.0.0.1:8080/api/x?q=1,2".into(),
                connections: 4,
                threads: 1,
                duration_s: Some(2.0),
                requests_limit: None,
                rate: None,
                ramp_up_s: 0.0,
                method: "POST".into(),
                timeout_s: 2.0,
                engine: "epoll".into(),
                protocol: "http/1.1".into(),
                streams: 1,
                goodput: false,
                seed: 0,
            },
            duration: Duration::from_secs(2),
            requests: 10,
            bytes_read: 1000,
            status_codes: BTreeMap::from([(200, 9), (500, 1)]),
            errors: ErrorCounts {
                read: 2,
                status: 1,
                ..Default::default()
            },
            error_details: vec![],
            latency,
            service: latency_histogram(),
            ttfb: latency_histogram(),
            stream: crate::stats::Streaming::new(),
            connect: latency_histogram(),
            tls: None,
            rate: rate_histogram(),
            timeline: vec![
                TimelinePoint {
                    by_name: Vec::new(),
                    t_s: 1.0,
                    requests: 6,
                    rps: 6.0,
                    p50_us: 250,
                    p99_us: 1000,
                    errors: 1,
                    bytes: 600,
                    quantiles_us: [250; 11],
                    total: Cumulative {
                        requests: 6,
                        errors: 1,
                        bytes: 600,
                        p50_us: 250,
                        mean_us: 500.5,
                        min_us: 250,
                        max_us: 1000,
                    },
                },
                TimelinePoint {
                    by_name: Vec::new(),
                    t_s: 1.5,
                    requests: 4,
                    rps: 8.0,
                    p50_us: 1000,
                    p99_us: 12_345,
                    errors: 2,
                    bytes: 400,
                    quantiles_us: [1000; 11],
                    total: Cumulative {
                        requests: 10,
                        errors: 3,
                        bytes: 1000,
                        p50_us: 250,
                        mean_us: 1759.0,
                        min_us: 250,
                        max_us: 12_345,
                    },
                },
            ],
            in_flight_at_end: 0,
            not_sent_at_end: 0,
            interrupted: false,
        }
    }

    #[test]
    fn milliseconds_are_exact() {
        assert_eq!(ms(0), "0");
        assert_eq!(ms(250), "0.25");
        assert_eq!(ms(1000), "1");
        assert_eq!(ms(12_345), "12.345");
        assert_eq!(ms(1_000_001), "1000.001");
        assert_eq!(float(2.5), "2.5");
        assert_eq!(float(3.0), "3.0");
        assert_eq!(float(f64::NAN), "0.0");
    }

    #[test]
    fn names_are_paths() {
        assert_eq!(url_path("http://h:80/a/b?c=d"), "/a/b?c=d");
        assert_eq!(url_path("http://h"), "/");
        assert_eq!(url_path("http://h?x"), "/?x");
        assert_eq!(field("/a?b=1,2"), "\"/a?b=1,2\"");
        assert_eq!(field("say \"hi\","), "\"say \"\"hi\"\",\"");
    }

    #[test]
    fn stats_golden() {
        let mut out = Vec::new();
        write_stats(&mut out, &summary()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("Type,Name,Request Count,Failure Count,"));
        assert!(lines[0].ends_with(",99.9%,99.99%,100%"));
        // 12,345 µs falls in an 8 µs bucket: the histogram reports 12,351
        // (its highest equivalent), as the JSON does; the mean uses the
        // buckets' midpoints, 12,348.
        let want = "10,3,0.25,1.7598,0.25,12.351,100.0,5.0,1.5,0.25,1,1,1,1,\
                    12.351,12.351,12.351,12.351,12.351,12.351";
        assert_eq!(lines[1], format!("POST,\"/api/x?q=1,2\",{want}"));
        assert_eq!(lines[2], format!(",Aggregated,{want}"));
    }

    #[test]
    fn history_golden() {
        let mut out = Vec::new();
        write_history(&mut out, &summary(), 1_700_000_000.0).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].split(',').count(), 24);
        assert_eq!(
            lines[1],
            "1700000001,4,,Aggregated,6.0,1.0,0.25,0.25,0.25,0.25,0.25,0.25,0.25,0.25,0.25,0.25,0.25,\
             6,1,0.25,0.5005,0.25,1,100.0"
        );
        // A half-second last interval: 2 errors in 0.5 s.
        assert_eq!(
            lines[2],
            "1700000001,4,,Aggregated,8.0,4.0,1,1,1,1,1,1,1,1,1,1,1,10,3,0.25,1.759,0.25,12.345,100.0"
        );
    }
}
