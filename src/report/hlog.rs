//! HdrHistogram interval logs: `--hlog FILE` writes one, `blast merge`
//! reads several (one per load box) into one report.
//!
//! The log is the standard one (V2 compressed histograms, base64, with
//! StartTime/BaseTime headers), so HdrHistogram's own HistogramLogProcessor
//! reads it. Values are microseconds. blast adds comment lines that other
//! readers skip: per interval the request, error and byte counts, and at the
//! end the run's totals (status codes, errors by kind), so a merge sums those
//! exactly instead of guessing them from histogram counts.
//!
//! A run with request names adds, per interval, one tagged histogram per
//! name (`Tag=predict,...`, HdrHistogram's tag syntax, so its readers keep
//! reading the log), with the tag → name mapping in a `# blast names` line;
//! a merge gives the report per-name statistics from them (`names`).
//!
//! Merging aligns intervals by wall-clock time: each log's BaseTime plus the
//! interval's offset, bucketed to whole seconds from the earliest start.
//! Several boxes started with `--start-at` line up to the millisecond.

mod names;
#[cfg(test)]
mod names_tests;

pub use names::{tags, LoggedName};

use crate::stats::IntervalSink;
use crate::stats::{self, Cumulative, ErrorCounts, RunInfo, Summary, TimelinePoint};
use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const INTERVAL_TAG: &str = "# blast interval ";
const SUMMARY_TAG: &str = "# blast summary ";
const RUN_TAG: &str = "# blast run ";

/// Writes one interval per second as the aggregator closes it.
pub struct HlogWriter {
    path: String,
    out: BufWriter<File>,
    serializer: V2DeflateSerializer,
    failed: bool,
    /// One per request name, in the mix's order; empty without names.
    tags: Vec<String>,
}

fn epoch_s(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl HlogWriter {
    /// Create the log; `start` is the wall-clock time of the measured start,
    /// `names` the run's (name, method)s in the mix's order (empty for one request).
    pub fn create(
        path: &str,
        start: SystemTime,
        info: &RunInfo,
        names: &[(&str, &str)],
    ) -> io::Result<HlogWriter> {
        let mut out = BufWriter::new(File::create(path)?);
        let t = epoch_s(start);
        writeln!(out, "#[Histogram log format version 1.3]")?;
        writeln!(out, "#[StartTime: {t:.3} (seconds since epoch)]")?;
        writeln!(out, "#[BaseTime: {t:.3} (seconds since epoch)]")?;
        let run = json!({
            "url": info.url, "connections": info.connections, "threads": info.threads,
            "rate": info.rate, "method": info.method, "engine": info.engine,
            "protocol": info.protocol, "streams": info.streams,
            "version": env!("CARGO_PKG_VERSION"), "unit": "us",
        });
        writeln!(out, "{RUN_TAG}{run}")?;
        let tags = names::tags(names);
        if !names.is_empty() {
            writeln!(out, "{}", names::header(&tags, names))?;
        }
        writeln!(
            out,
            "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
        )?;
        out.flush()?;
        Ok(HlogWriter {
            path: path.to_string(),
            out,
            serializer: V2DeflateSerializer::new(),
            failed: false,
            tags,
        })
    }

    fn write(
        &mut self,
        start: Duration,
        len: Duration,
        h: &Histogram<u64>,
        p: &TimelinePoint,
        by_name: &[Histogram<u64>],
    ) -> io::Result<()> {
        let mut line = json!({"start_s": start.as_secs_f64(), "requests": p.requests, "errors": p.errors, "bytes": p.bytes});
        if !p.by_name.is_empty() {
            line["names"] = names::interval_counts(&p.by_name);
        }
        writeln!(self.out, "{INTERVAL_TAG}{line}")?;
        let err = |e: hdrhistogram::serialization::interval_log::IntervalLogWriterError<_>| {
            io::Error::other(e.to_string())
        };
        let mut w =
            IntervalLogWriterBuilder::new().begin_log_with(&mut self.out, &mut self.serializer)?;
        w.write_histogram(h, start, len, None).map_err(err)?;
        for (tag, nh) in self.tags.iter().zip(by_name) {
            w.write_histogram(nh, start, len, Tag::new(tag))
                .map_err(err)?;
        }
        self.out.flush()
    }
}

impl IntervalSink for HlogWriter {
    fn interval(
        &mut self,
        start: Duration,
        len: Duration,
        h: &Histogram<u64>,
        p: &TimelinePoint,
        by_name: &[Histogram<u64>],
    ) {
        if let Err(e) = self.write(start, len, h, p, by_name) {
            if !self.failed {
                self.failed = true;
                eprintln!("blast: --hlog '{}': {e}", self.path);
            }
        }
    }
}

/// Append the run's totals, which the intervals alone do not carry.
pub fn append_summary(path: &str, s: &Summary) -> io::Result<()> {
    let mut f = std::fs::OpenOptions::new().append(true).open(path)?;
    let status: BTreeMap<String, u64> = s
        .status_codes
        .iter()
        .map(|(c, n)| (c.to_string(), *n))
        .collect();
    let e = &s.errors;
    let mut doc = json!({
        "requests": s.requests, "bytes_read": s.bytes_read, "duration_s": s.duration.as_secs_f64(),
        "status_codes": status,
        "errors": {"connect": e.connect, "read": e.read, "write": e.write,
                   "timeout": e.timeout, "status": e.status, "parse": e.parse, "tls": e.tls},
        "in_flight_at_end": s.in_flight_at_end, "not_sent_at_end": s.not_sent_at_end,
    });
    if !s.by_name.is_empty() {
        doc["by_name"] = names::summary_json(s);
    }
    writeln!(f, "{SUMMARY_TAG}{doc}")
}

/// One interval read back: absolute start (unix seconds), length, histogram,
/// and blast's counts for it when the log has them.
pub struct LoggedInterval {
    pub start_s: f64,
    pub len_s: f64,
    pub latency: Histogram<u64>,
    pub counts: Option<(u64, u64, u64)>,
}

pub struct Log {
    pub start_s: f64,
    pub run: Option<Value>,
    pub summary: Option<Value>,
    /// The untagged (total) intervals.
    pub intervals: Vec<LoggedInterval>,
    /// Tagged intervals (per request name) with their tag; `counts` holds
    /// (requests, errors, 0) from blast's interval line.
    pub tagged: Vec<(String, LoggedInterval)>,
    /// The `# blast names` mapping; empty when the log has none.
    pub names: Vec<LoggedName>,
}

/// Read an interval log (blast's or any HdrHistogram V2 log).
pub fn read(text: &[u8]) -> Result<Log, String> {
    let mut start: Option<f64> = None;
    let mut base: Option<f64> = None;
    type Raw = (Option<String>, usize, f64, f64, String);
    let mut raw: Vec<Raw> = Vec::new();
    let mut untagged = 0;
    for entry in IntervalLogIterator::new(text) {
        match entry.map_err(|e| format!("not an HdrHistogram interval log ({e:?})"))? {
            LogEntry::StartTime(d) => start = Some(d.as_secs_f64()),
            LogEntry::BaseTime(d) => base = Some(d.as_secs_f64()),
            LogEntry::Interval(h) => {
                let tag = h.tag().map(|t| t.as_str().to_string());
                // Untagged intervals so far: a tagged one follows the last.
                let after = untagged;
                untagged += usize::from(tag.is_none());
                raw.push((
                    tag,
                    after,
                    h.start_timestamp().as_secs_f64(),
                    h.duration().as_secs_f64(),
                    h.encoded_histogram().to_string(),
                ))
            }
        }
    }
    // blast's own comment lines, in order: one interval line before each histogram.
    let text = String::from_utf8_lossy(text);
    let parse = |l: &str, tag: &str| {
        l.strip_prefix(tag)
            .and_then(|j| serde_json::from_str::<Value>(j).ok())
    };
    let mut counts = Vec::new();
    let mut name_counts = Vec::new();
    let mut logged_names = Vec::new();
    let (mut run, mut summary) = (None, None);
    for line in text.lines() {
        if let Some(v) = parse(line, INTERVAL_TAG) {
            let n = |k: &str| v[k].as_u64().unwrap_or(0);
            counts.push((n("requests"), n("errors"), n("bytes")));
            name_counts.push(names::parse_interval_counts(&v));
        } else if let Some(n) = names::parse_header(line) {
            logged_names = n;
        } else if let Some(v) = parse(line, SUMMARY_TAG) {
            summary = Some(v);
        } else if let Some(v) = parse(line, RUN_TAG) {
            run = Some(v);
        }
    }
    let origin = base.or(start).unwrap_or(0.0);
    let mut deserializer = Deserializer::new();
    let mut intervals = Vec::with_capacity(raw.len());
    let mut tagged = Vec::new();
    for (i, (tag, after, ts, len, enc)) in raw.into_iter().enumerate() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(enc.trim())
            .map_err(|e| format!("interval {}: bad base64: {e}", i + 1))?;
        let h: Histogram<u64> = deserializer
            .deserialize(&mut io::Cursor::new(bytes))
            .map_err(|e| format!("interval {}: bad histogram: {e:?}", i + 1))?;
        // Timestamps are offsets from BaseTime (or StartTime), unless absolute.
        let start_s = if ts > 1e9 { ts } else { origin + ts };
        let Some(tag) = tag else {
            intervals.push(LoggedInterval {
                start_s,
                len_s: len,
                latency: h,
                counts: counts.get(after).copied(),
            });
            continue;
        };
        // Counts of the interval line before the untagged one this follows.
        let counts = logged_names
            .iter()
            .position(|n: &LoggedName| n.tag == tag)
            .zip(after.checked_sub(1))
            .and_then(|(j, k)| name_counts.get(k)?.get(j).copied())
            .map(|(req, err)| (req, err, 0));
        let latency = h;
        tagged.push((
            tag,
            LoggedInterval {
                start_s,
                len_s: len,
                latency,
                counts,
            },
        ));
    }
    Ok(Log {
        start_s: start.or(base).unwrap_or(0.0),
        run,
        summary,
        intervals,
        tagged,
        names: logged_names,
    })
}

/// Merge logs into one summary: exact percentiles (histograms added), counts
/// summed, intervals aligned by wall-clock second.
pub fn merge(logs: &[Log]) -> Summary {
    let origin = logs
        .iter()
        .flat_map(|l| l.intervals.iter().map(|i| i.start_s))
        .fold(f64::INFINITY, f64::min);
    let origin = if origin.is_finite() { origin } else { 0.0 };
    let mut latency = stats::latency_histogram();
    let mut end = 0.0f64;
    // Per whole second since the origin: histogram, requests, errors, bytes.
    let mut buckets: BTreeMap<u64, (Histogram<u64>, u64, u64, u64, f64)> = BTreeMap::new();
    for l in logs {
        for iv in &l.intervals {
            let _ = latency.add(&iv.latency);
            let rel = iv.start_s - origin;
            end = end.max(rel + iv.len_s);
            let b = buckets
                .entry((rel + 0.5).max(0.0) as u64)
                .or_insert_with(|| (stats::latency_histogram(), 0, 0, 0, 0.0));
            let _ = b.0.add(&iv.latency);
            let (req, err, bytes) = iv.counts.unwrap_or((iv.latency.len(), 0, 0));
            b.1 += req;
            b.2 += err;
            b.3 += bytes;
            b.4 = b.4.max(rel + iv.len_s);
        }
    }
    let (by_name, mut name_points) = merge_names(logs, origin);
    let mut cumulative = stats::latency_histogram();
    let mut total = Cumulative::default();
    let mut prev_end = 0.0;
    let mut timeline = Vec::new();
    for (key, (h, req, err, bytes, t_end)) in buckets {
        let _ = cumulative.add(&h);
        total.requests += req;
        total.errors += err;
        total.bytes += bytes;
        if !cumulative.is_empty() {
            total.p50_us = cumulative.value_at_quantile(0.5);
            total.mean_us = cumulative.mean();
            total.min_us = cumulative.min();
            total.max_us = cumulative.max();
        }
        let len = t_end - prev_end;
        timeline.push(TimelinePoint {
            output_tokens: 0,
            t_s: t_end,
            requests: req,
            rps: if len > 0.0 { req as f64 / len } else { 0.0 },
            p50_us: h.value_at_quantile(0.5),
            p99_us: h.value_at_quantile(0.99),
            errors: err,
            bytes,
            quantiles_us: stats::LOCUST_QUANTILES.map(|q| h.value_at_quantile(q)),
            by_name: name_points
                .remove(&key)
                .unwrap_or_else(|| vec![stats::NamePoint::default(); by_name.len()]),
            total: total.clone(),
        });
        prev_end = t_end;
    }

    // Totals: blast's summary lines where every log has one, else histogram counts.
    let summaries: Option<Vec<&Value>> = logs.iter().map(|l| l.summary.as_ref()).collect();
    let mut status_codes = BTreeMap::new();
    let mut errors = ErrorCounts::default();
    let (mut requests, mut bytes, mut in_flight, mut not_sent) = (latency.len(), 0, 0, 0);
    if let Some(sums) = summaries.filter(|s| !s.is_empty()) {
        requests = 0;
        for s in sums {
            let n = |v: &Value| v.as_u64().unwrap_or(0);
            requests += n(&s["requests"]);
            bytes += n(&s["bytes_read"]);
            in_flight += n(&s["in_flight_at_end"]);
            not_sent += n(&s["not_sent_at_end"]);
            if let Some(m) = s["status_codes"].as_object() {
                for (code, c) in m {
                    if let Ok(code) = code.parse::<u16>() {
                        *status_codes.entry(code).or_insert(0) += n(c);
                    }
                }
            }
            let e = &s["errors"];
            errors.connect += n(&e["connect"]);
            errors.read += n(&e["read"]);
            errors.write += n(&e["write"]);
            errors.timeout += n(&e["timeout"]);
            errors.status += n(&e["status"]);
            errors.parse += n(&e["parse"]);
            errors.tls += n(&e["tls"]);
        }
    }
    let run = logs.iter().find_map(|l| l.run.as_ref());
    let sum_of = |k: &str| {
        logs.iter()
            .filter_map(|l| l.run.as_ref()?[k].as_u64())
            .sum::<u64>()
    };
    let info = RunInfo {
        url: run
            .and_then(|r| r["url"].as_str())
            .unwrap_or("(merged logs)")
            .to_string(),
        connections: sum_of("connections"),
        threads: sum_of("threads"),
        duration_s: None,
        requests_limit: None,
        rate: None,
        ramp_up_s: 0.0,
        method: run
            .and_then(|r| r["method"].as_str())
            .unwrap_or("GET")
            .to_string(),
        timeout_s: 0.0,
        engine: format!("merged from {} logs", logs.len()),
        protocol: run
            .and_then(|r| r["protocol"].as_str())
            .unwrap_or("http/1.1")
            .to_string(),
        streams: run.and_then(|r| r["streams"].as_u64()).unwrap_or(1),
        goodput: false,
        seed: 0,
    };
    let mut info = info;
    info.duration_s = Some(end);
    Summary {
        by_name,
        info,
        duration: Duration::from_secs_f64(end.max(0.0)),
        requests,
        bytes_read: bytes,
        status_codes,
        errors,
        error_details: Vec::new(),
        latency,
        service: stats::latency_histogram(),
        ttfb: stats::latency_histogram(),
        stream: stats::Streaming::new(),
        connect: stats::latency_histogram(),
        tls: None,
        rate: stats::rate_histogram(),
        timeline,
        in_flight_at_end: in_flight,
        not_sent_at_end: not_sent,
        interrupted: false,
    }
}

/// The tagged intervals of every log, by the name its tag maps to (the tag
/// itself in a log without blast's mapping).
fn merge_names(
    logs: &[Log],
    origin: f64,
) -> (
    Vec<stats::NameSummary>,
    BTreeMap<u64, Vec<stats::NamePoint>>,
) {
    let per_log: Vec<names::LogNames> = logs
        .iter()
        .map(|l| names::LogNames {
            tagged: l
                .tagged
                .iter()
                .map(|(tag, iv)| {
                    let n = l.names.iter().find(|n| &n.tag == tag);
                    names::Tagged {
                        name: n.map_or(tag.as_str(), |n| n.name.as_str()),
                        method: n.map_or("", |n| n.method.as_str()),
                        interval: iv,
                    }
                })
                .collect(),
            summary: l.summary.as_ref(),
        })
        .collect();
    names::merge(&per_log, |start_s| (start_s - origin + 0.5).max(0.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> RunInfo {
        RunInfo {
            url: "http://127.0.0.1:1/".into(),
            connections: 4,
            threads: 1,
            duration_s: Some(3.0),
            requests_limit: None,
            rate: None,
            ramp_up_s: 0.0,
            method: "GET".into(),
            timeout_s: 2.0,
            engine: "epoll".into(),
            protocol: "http/1.1".into(),
            streams: 1,
            goodput: false,
            seed: 0,
        }
    }

    fn point(requests: u64) -> TimelinePoint {
        TimelinePoint {
            output_tokens: 0,
            by_name: Vec::new(),
            t_s: 0.0,
            requests,
            rps: 0.0,
            p50_us: 0,
            p99_us: 0,
            errors: 1,
            bytes: 10 * requests,
            quantiles_us: [0; 11],
            total: Cumulative::default(),
        }
    }

    /// Three "boxes" log synthetic samples; the merge equals one histogram
    /// holding every sample, exactly.
    #[test]
    fn merged_percentiles_equal_one_histogram() {
        let dir = std::env::temp_dir().join(format!("blast-hlog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut all = stats::latency_histogram();
        let mut logs = Vec::new();
        for b in 0..3u64 {
            let path = dir.join(format!("box{b}.hlog"));
            let path = path.to_str().unwrap();
            // Box b starts b*10 ms late, as boxes started with --start-at do.
            let mut w =
                HlogWriter::create(path, t0 + Duration::from_millis(b * 10), &info(), &[]).unwrap();
            for sec in 0..3u64 {
                let mut h = stats::latency_histogram();
                for i in 0..1000u64 {
                    let v = 1 + (i * 7919 + b * 104_729 + sec * 31) % 200_000;
                    h.record(v).unwrap();
                    all.record(v).unwrap();
                }
                w.interval(
                    Duration::from_secs(sec),
                    Duration::from_secs(1),
                    &h,
                    &point(1000),
                    &[],
                );
            }
            drop(w);
            logs.push(read(&std::fs::read(path).unwrap()).unwrap());
        }
        let m = merge(&logs);
        assert_eq!(m.latency.len(), all.len());
        for q in [0.0, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1.0] {
            assert_eq!(
                m.latency.value_at_quantile(q),
                all.value_at_quantile(q),
                "q={q}"
            );
        }
        assert_eq!(m.timeline.len(), 3, "aligned to the same three seconds");
        assert_eq!(m.timeline[0].requests, 3000);
        assert_eq!(m.timeline[2].total.requests, 9000);
        assert_eq!(m.timeline[2].total.errors, 9);
        assert_eq!(
            m.requests, 9000,
            "no summary lines: counts from the histograms"
        );
        assert_eq!(m.info.connections, 12);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn garbage_is_not_a_log() {
        assert!(read(b"hello\nworld,1,2,3\n").is_err());
    }
}
