//! The JSON report: SPEC's keys, plus blast's additions.

use super::stages;
use super::*;
use crate::stats::checks::GRPC_DETAIL;
use crate::stats::slo::Verdict;
use crate::stats::{
    CheckSummary, ErrorCounts, Fault, NamePoint, NameSummary, TimelinePoint, TlsSummary,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

pub fn slo_json(verdicts: &[Verdict]) -> Value {
    Value::Array(
        verdicts
            .iter()
            .map(|v| {
                let mut j = json!({
                    "condition": v.condition.text,
                    "measured": finite(v.measured),
                    "threshold": finite(v.condition.threshold),
                    "pass": v.pass,
                });
                if let Some(n) = &v.condition.name {
                    j["name"] = json!(n);
                }
                j
            })
            .collect(),
    )
}

fn latency_json(h: &Histogram<u64>) -> Value {
    let r = row_stats(h);
    let min = if h.is_empty() { 0 } else { h.min() };
    json!({
        "min": min,
        "mean": r.mean,
        "stdev": r.stdev,
        "max": r.max,
        "p50": quantile(h, 0.50),
        "p75": quantile(h, 0.75),
        "p90": quantile(h, 0.90),
        "p97": quantile(h, 0.97),
        "p99": quantile(h, 0.99),
        "p99_9": quantile(h, 0.999),
        "p99_99": quantile(h, 0.9999),
    })
}

/// The percentile spectrum as HdrHistogram's plotter draws it: latency at
/// percentiles closing in on 100% (5 ticks per halving of the remainder),
/// so saved reports can be compared and overlaid later.
fn spectrum_json(h: &Histogram<u64>) -> Value {
    if h.is_empty() {
        return Value::Array(Vec::new());
    }
    let mut points: Vec<Value> = h
        .iter_quantiles(5)
        .map(|v| json!({"percentile": finite(v.quantile_iterated_to() * 100.0), "value_us": v.value_iterated_to()}))
        .collect();
    points.push(json!({"percentile": 100.0, "value_us": h.max()}));
    Value::Array(points)
}

/// gRPC's codes of the status table (0-16) by name; null without any.
fn grpc_status_json(codes: &BTreeMap<u16, u64>) -> Value {
    let grpc: serde_json::Map<String, Value> = codes
        .iter()
        .filter(|(c, _)| **c < 100)
        .map(|(c, n)| (crate::proto::grpc::code_name(*c).to_string(), json!(n)))
        .collect();
    match grpc.is_empty() {
        true => Value::Null,
        false => Value::Object(grpc),
    }
}

fn status_codes_json(codes: &BTreeMap<u16, u64>) -> Value {
    Value::Object(
        codes
            .iter()
            .map(|(code, n)| (code.to_string(), json!(n)))
            .collect(),
    )
}

fn errors_json(e: &ErrorCounts) -> Value {
    json!({
        "connect": e.connect,
        "read": e.read,
        "write": e.write,
        "timeout": e.timeout,
        "status": e.status,
        "parse": e.parse,
        "tls": e.tls,
        "check": e.check,
        "grpc": e.grpc,
    })
}

/// The error details of a run or a name: transport faults, then `check`
/// failures by their detail, most frequent first.
fn error_details_json(faults: &[(Fault, u64)], checks: &[(String, u64)]) -> Value {
    let mut rows: Vec<(u64, Value)> = faults
        .iter()
        .map(|d| (d.1, error_detail_json(d)))
        .chain(
            checks
                .iter()
                .map(|(detail, n)| match detail.strip_prefix(GRPC_DETAIL) {
                    Some(cause) => (*n, json!({"kind": "grpc", "cause": cause, "count": n})),
                    None => (*n, json!({"kind": "check", "cause": detail, "count": n})),
                }),
        )
        .collect();
    // Stable: equal counts keep faults before checks.
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    Value::Array(rows.into_iter().map(|r| r.1).collect())
}

/// Each configured check with k6's counts: `{"check", "name", "passes",
/// "fails"}` (`name` is null for a run without request names).
fn checks_json(checks: &[CheckSummary]) -> Value {
    Value::Array(
        checks
            .iter()
            .map(
                |c| json!({"check": c.check, "name": c.name, "passes": c.passes, "fails": c.fails}),
            )
            .collect(),
    )
}

/// One request name: the run's keys for it, `latency_us` from its own
/// (2-digit) histogram. `by_name` is an object keyed by name (as the issue
/// and Locust's stats have it); serde_json writes its keys sorted by name,
/// which is also the order of Locust's stats rows.
fn name_json(n: &NameSummary, duration: Duration) -> Value {
    json!({
        "method": n.method,
        "requests": n.requests,
        "rps": finite(n.rps(duration)),
        "bytes_read": n.bytes_read,
        "skipped": n.skipped,
        "status_codes": status_codes_json(&n.status_codes),
        "grpc_status": grpc_status_json(&n.status_codes),
        "errors": errors_json(&n.errors),
        "error_details": error_details_json(&n.error_details, &n.check_details),
        "latency_us": latency_json(&n.latency),
    })
}

/// One timeline second, its keys common to the JSON report's `timeline`
/// and `blast serve`'s live `point` events (the report adds the per-name
/// points and the output tokens).
pub fn point_json(p: &TimelinePoint) -> Value {
    json!({
        "t_s": finite(p.t_s),
        "requests": p.requests,
        "rps": finite(p.rps),
        "p50_us": p.p50_us,
        "p90_us": p.quantiles_us[4],
        "p99_us": p.p99_us,
        "errors": p.errors,
        "bytes": p.bytes,
    })
}

/// One timeline second of one name.
fn name_point_json(p: &NamePoint) -> Value {
    json!({
        "requests": p.requests,
        "errors": p.errors,
        "p50_us": p.p50_us,
        "p99_us": p.p99_us,
    })
}

fn error_detail_json(&(fault, count): &(Fault, u64)) -> Value {
    json!({
        "kind": class_name(fault.class()),
        "cause": fault.label(),
        "count": count,
    })
}

/// Build the JSON document of SPEC §3 (plus blast's additions).
pub fn to_json(s: &Summary) -> Value {
    let info = &s.info;
    // Streaming keys are null unless some response was an event stream.
    let streamed = s.stream.responses > 0;
    let mut prev_t = 0.0;
    let timeline: Vec<Value> = s
        .timeline
        .iter()
        .map(|p| {
            let mut point = point_json(p);
            if let Some(t) = stages::target_of(info, p, prev_t) {
                point["target"] = json!(t);
            }
            prev_t = p.t_s;
            if streamed {
                point["output_tokens"] = json!(p.output_tokens);
            }
            if !p.by_name.is_empty() {
                let names = s.by_name.iter().map(|n| n.name.as_str());
                point["by_name"] = Value::Object(
                    p.by_name
                        .iter()
                        .zip(names)
                        .map(|(np, name)| (name.to_string(), name_point_json(np)))
                        .collect(),
                );
            }
            point
        })
        .collect();
    let secs = s.duration.as_secs_f64().max(1e-9);
    json!({
        "url": info.url,
        "config": {
            "connections": info.connections,
            "threads": info.threads,
            "duration_s": info.duration_s.map(finite),
            "requests_limit": info.requests_limit,
            "rate": info.rate.map(finite),
            "ramp_up_s": finite(info.ramp_up_s),
            "method": info.method,
            "timeout_s": finite(info.timeout_s),
            "engine": info.engine,
            "protocol": info.protocol,
            "streams": info.streams,
            "seed": info.seed,
            "stages": stages::stages_json(info),
        },
        "duration_s": s.duration.as_secs_f64(),
        "requests": s.requests,
        "rps": finite(s.rps()),
        "bytes_read": s.bytes_read,
        "skipped": s.skipped(),
        "status_codes": status_codes_json(&s.status_codes),
        "grpc_status": grpc_status_json(&s.status_codes),
        "errors": errors_json(&s.errors),
        "latency_us": latency_json(&s.latency),
        "service_time_us": latency_json(&s.service),
        "ttfb_us": latency_json(&s.ttfb),
        "ttft_us": streamed.then(|| latency_json(&s.stream.ttft)),
        "itl_us": streamed.then(|| latency_json(&s.stream.itl)),
        "tpot_us": streamed.then(|| latency_json(&s.stream.tpot)),
        "output_tokens": streamed.then_some(s.stream.tokens),
        "output_tokens_per_s": streamed.then(|| finite(s.stream.tokens as f64 / secs)),
        "streamed_responses": streamed.then_some(s.stream.responses),
        "token_count_source": streamed.then(|| s.stream.token_count_source()),
        "goodput_rps": (streamed && s.info.goodput).then(|| finite(s.stream.good as f64 / secs)),
        "latency_spectrum": spectrum_json(&s.latency),
        "connect_us": latency_json(&s.connect),
        "tls_handshake_us": s.tls.as_ref().map(|t| latency_json(&t.handshake)),
        "tls": s.tls.as_ref().map(tls_json),
        "offered_rps": offered_rps(s).map(finite),
        "timeline": timeline,
        "by_name": Value::Object(
            s.by_name
                .iter()
                .map(|n| (n.name.clone(), name_json(n, s.duration)))
                .collect(),
        ),
        "error_details": error_details_json(&s.error_details, &s.check_details),
        "checks": checks_json(&s.checks),
        "in_flight_at_end": s.in_flight_at_end,
        "not_sent_at_end": s.not_sent_at_end,
        "interrupted": s.interrupted,
        "aborted": stages::aborted_json(s),
    })
}

/// The JSON report: one pretty-printed document, ending with a newline.
pub fn write_json(w: &mut impl Write, s: &Summary) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &to_json(s))?;
    writeln!(w)
}

fn tls_json(t: &TlsSummary) -> Value {
    let i = t.info.as_ref();
    json!({
        "version": i.map(|i| i.version.as_str()),
        "cipher": i.map(|i| i.cipher.as_str()),
        "alpn": i.and_then(|i| i.alpn.as_deref()),
        "handshakes": t.handshake.len(),
        "resumed": t.resumed,
    })
}
