//! Writing the log: the headers and the run line when it is created, one
//! interval (blast's counts line, then the histograms) per second as the
//! aggregator closes it, and the run's totals once it has ended (errors by
//! kind, `check` included, each check's passes and fails, and the `check`
//! failures by detail, so that a merge of several boxes counts them exactly).

use super::{names, INTERVAL_TAG, RUN_TAG, SUMMARY_TAG};
use crate::stats::{IntervalSink, RunInfo, Summary, TimelinePoint};
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;
use serde_json::json;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    let checks: Vec<_> = s
        .checks
        .iter()
        .map(|c| json!({"check": c.check, "name": c.name, "passes": c.passes, "fails": c.fails}))
        .collect();
    let mut doc = json!({
        "requests": s.requests, "bytes_read": s.bytes_read, "duration_s": s.duration.as_secs_f64(),
        "status_codes": status,
        "errors": names::errors_json(&s.errors),
        "checks": checks, "check_details": names::details_json(&s.check_details),
        "in_flight_at_end": s.in_flight_at_end, "not_sent_at_end": s.not_sent_at_end,
    });
    if !s.by_name.is_empty() {
        doc["by_name"] = names::summary_json(s);
    }
    writeln!(f, "{SUMMARY_TAG}{doc}")
}
