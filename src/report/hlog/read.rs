//! Reading a log back (blast's or any HdrHistogram V2 log): the
//! histograms through HdrHistogram's own iterator, then blast's comment
//! lines, matched to the histograms by their order.

use super::names::{self, LoggedName};
use super::{LoggedInterval, INTERVAL_TAG, RUN_TAG, SUMMARY_TAG};
use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use serde_json::Value;
use std::io;

/// One log as read: its start, blast's lines (absent from other logs) and
/// the intervals.
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
