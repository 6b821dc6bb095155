//! Per-name lines of the interval log: one tagged histogram per request
//! name per interval (`Tag=predict,0.000,1.000,...`, HdrHistogram's own tag
//! syntax), the tag → name/method mapping in a `# blast names` header line,
//! per-name counts in blast's interval and summary comment lines, and their
//! merge into `Summary.by_name` and the timeline's per-name points.

use super::LoggedInterval;
use crate::stats::names::name_histogram;
use crate::stats::{ErrorCounts, NamePoint, NameSummary, Summary};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

pub(super) const NAMES_TAG: &str = "# blast names ";

/// A request name as the log records it.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedName {
    pub tag: String,
    pub name: String,
    pub method: String,
}

/// Tags for `names` ((name, method) in the mix's order): the name with
/// every character but ASCII letters, digits and `-._/` replaced by `_`
/// (a tag may hold no comma or whitespace), made unique with `~N`.
pub fn tags(names: &[(&str, &str)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for (name, _) in names {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-._/".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let safe = if safe.is_empty() { "_".into() } else { safe };
        let mut tag = safe.clone();
        let mut n = 2;
        while out.contains(&tag) {
            tag = format!("{safe}~{n}");
            n += 1;
        }
        out.push(tag);
    }
    out
}

/// The header line mapping tags to names and methods.
pub fn header(tags: &[String], names: &[(&str, &str)]) -> String {
    let v: Vec<Value> = tags
        .iter()
        .zip(names)
        .map(|(t, (n, m))| json!({"tag": t, "name": n, "method": m}))
        .collect();
    format!("{NAMES_TAG}{}", Value::Array(v))
}

pub fn parse_header(line: &str) -> Option<Vec<LoggedName>> {
    let v: Value = serde_json::from_str(line.strip_prefix(NAMES_TAG)?).ok()?;
    let s = |x: &Value, k: &str| x[k].as_str().unwrap_or("").to_string();
    Some(
        v.as_array()?
            .iter()
            .map(|x| LoggedName {
                tag: s(x, "tag"),
                name: s(x, "name"),
                method: s(x, "method"),
            })
            .collect(),
    )
}

/// The interval line's per-name counts, in the mix's order.
pub fn interval_counts(p: &[NamePoint]) -> Value {
    p.iter()
        .map(|n| json!({"requests": n.requests, "errors": n.errors}))
        .collect()
}

pub fn parse_interval_counts(v: &Value) -> Vec<(u64, u64)> {
    let n = |x: &Value, k: &str| x[k].as_u64().unwrap_or(0);
    v["names"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| (n(x, "requests"), n(x, "errors")))
                .collect()
        })
        .unwrap_or_default()
}

pub fn errors_json(e: &ErrorCounts) -> Value {
    json!({"connect": e.connect, "read": e.read, "write": e.write,
           "timeout": e.timeout, "status": e.status, "parse": e.parse, "tls": e.tls,
           "check": e.check, "grpc": e.grpc})
}

/// `check` failures by detail, as `[[detail, count], ...]`.
pub fn details_json(d: &[(String, u64)]) -> Value {
    d.iter().map(|(k, n)| json!([k, n])).collect()
}

/// Add a summary line's `[[detail, count], ...]` into `acc`.
pub fn add_details(acc: &mut BTreeMap<String, u64>, v: &Value) {
    for e in v.as_array().into_iter().flatten() {
        if let (Some(d), Some(n)) = (e[0].as_str(), e[1].as_u64()) {
            *acc.entry(d.to_string()).or_default() += n;
        }
    }
}

/// Details summed over logs, most frequent first (as a run orders them).
pub fn sorted_details(acc: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = acc.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

pub fn status_json(codes: &BTreeMap<u16, u64>) -> Value {
    codes
        .iter()
        .map(|(c, n)| (c.to_string(), json!(n)))
        .collect()
}

/// The summary line's per-name totals.
pub fn summary_json(s: &Summary) -> Value {
    s.by_name
        .iter()
        .map(|n| {
            json!({"name": n.name, "method": n.method, "requests": n.requests,
                   "bytes_read": n.bytes_read, "status_codes": status_json(&n.status_codes),
                   "errors": errors_json(&n.errors),
                   "check_details": details_json(&n.check_details)})
        })
        .collect()
}

/// Add a summary line's `errors` object into `acc` (a log from before
/// checks has no `check`, one from before gRPC no `grpc`: none failed).
pub fn add_errors(acc: &mut ErrorCounts, e: &Value) {
    let n = |k: &str| e[k].as_u64().unwrap_or(0);
    acc.connect += n("connect");
    acc.read += n("read");
    acc.write += n("write");
    acc.timeout += n("timeout");
    acc.status += n("status");
    acc.parse += n("parse");
    acc.tls += n("tls");
    acc.check += n("check");
    acc.grpc += n("grpc");
}

/// One log's tagged intervals, by name.
pub struct Tagged<'a> {
    pub name: &'a str,
    pub method: &'a str,
    pub interval: &'a LoggedInterval,
}

/// One name's intervals in one log, with that log's summary for it.
pub struct LogNames<'a> {
    pub tagged: Vec<Tagged<'a>>,
    pub summary: Option<&'a Value>,
}

/// Per name (in order of first appearance): the run's totals, and per
/// whole second (the same buckets as the totals' timeline) a point.
pub fn merge<'a>(
    logs: &[LogNames<'a>],
    bucket: impl Fn(f64) -> u64,
) -> (Vec<NameSummary>, BTreeMap<u64, Vec<NamePoint>>) {
    let mut out: Vec<NameSummary> = Vec::new();
    let mut details: Vec<BTreeMap<String, u64>> = Vec::new();
    let mut known: HashMap<&str, usize> = HashMap::new();
    let mut index = |out: &mut Vec<NameSummary>, name: &'a str, method: &str| {
        *known.entry(name).or_insert_with(|| {
            out.push(NameSummary::new(name, method));
            out.len() - 1
        })
    };
    // Per second, per name: histogram, requests, errors.
    type Bucket = Vec<Option<(Histogram<u64>, u64, u64)>>;
    let mut seconds: BTreeMap<u64, Bucket> = BTreeMap::new();
    for log in logs {
        // Histogram counts per name in this log, for when it has no summary.
        let mut counted: BTreeMap<usize, u64> = BTreeMap::new();
        for t in &log.tagged {
            let i = index(&mut out, t.name, t.method);
            let iv = t.interval;
            let _ = out[i].latency.add(&iv.latency);
            *counted.entry(i).or_default() += iv.latency.len();
            let b = seconds.entry(bucket(iv.start_s)).or_default();
            if b.len() <= i {
                b.resize_with(i + 1, || None);
            }
            let slot = b[i].get_or_insert_with(|| (name_histogram(), 0, 0));
            let _ = slot.0.add(&iv.latency);
            let (req, err, _) = iv.counts.unwrap_or((iv.latency.len(), 0, 0));
            slot.1 += req;
            slot.2 += err;
        }
        let summed: Vec<&Value> = log
            .summary
            .and_then(|s| s["by_name"].as_array())
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        for (i, n) in counted {
            let name = out[i].name.clone();
            let Some(v) = summed.iter().find(|v| v["name"].as_str() == Some(&name)) else {
                out[i].requests += n;
                continue;
            };
            let u = |k: &str| v[k].as_u64().unwrap_or(0);
            let o = &mut out[i];
            o.requests += u("requests");
            o.bytes_read += u("bytes_read");
            if let Some(m) = v["status_codes"].as_object() {
                for (code, c) in m {
                    if let Ok(code) = code.parse::<u16>() {
                        *o.status_codes.entry(code).or_insert(0) += c.as_u64().unwrap_or(0);
                    }
                }
            }
            add_errors(&mut o.errors, &v["errors"]);
            details.resize_with(details.len().max(i + 1), BTreeMap::new);
            add_details(&mut details[i], &v["check_details"]);
        }
    }
    for (o, d) in out.iter_mut().zip(details) {
        o.check_details = sorted_details(d);
    }
    let n = out.len();
    let points = seconds
        .into_iter()
        .map(|(k, b)| {
            let mut pts = vec![NamePoint::default(); n];
            for (p, slot) in pts.iter_mut().zip(b) {
                if let Some((h, requests, errors)) = slot {
                    *p = NamePoint {
                        requests,
                        errors,
                        p50_us: h.value_at_quantile(0.5),
                        p99_us: h.value_at_quantile(0.99),
                    };
                }
            }
            (k, pts)
        })
        .collect();
    (out, points)
}
