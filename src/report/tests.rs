use super::json::*;
use super::text::*;
use super::*;
use crate::stats::fixture::run_info;
use crate::stats::Fault;
use crate::stats::{latency_histogram, rate_histogram, ErrorCounts, RunInfo, TimelinePoint};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

pub(super) fn hist(mut h: Histogram<u64>, values: &[(u64, u64)]) -> Histogram<u64> {
    for &(v, n) in values {
        h.record_n(v, n).unwrap();
    }
    h
}

/// A clean 30 s run: no errors.
pub(super) fn clean() -> Summary {
    Summary {
        info: RunInfo {
            connections: 400,
            threads: 12,
            duration_s: Some(30.0),
            engine: "uring".into(),
            ..run_info()
        },
        duration: Duration::from_secs(30),
        requests: 39000,
        bytes_read: 18_622_710,
        status_codes: BTreeMap::from([(200, 39000)]),
        errors: ErrorCounts::default(),
        // mean 370, sample stdev 541.705.., 9 of 10 within one stdev.
        latency: hist(
            latency_histogram(),
            &[(100, 2), (200, 5), (300, 2), (1900, 1)],
        ),
        connect: hist(latency_histogram(), &[(50, 1), (150, 1)]),
        // mean 1300, sample stdev 258.198.., 2 of 4 within one stdev.
        rate: hist(
            rate_histogram(),
            &[(1000, 1), (1200, 1), (1400, 1), (1600, 1)],
        ),
        timeline: vec![TimelinePoint {
            output_tokens: 0,
            by_name: Vec::new(),
            t_s: 1.0,
            requests: 1300,
            rps: 1300.0,
            p50_us: 200,
            p99_us: 1900,
            errors: 0,
            bytes: 620_000,
            quantiles_us: [200, 200, 300, 300, 300, 1900, 1900, 1900, 1900, 1900, 1900],
            total: crate::stats::Cumulative {
                requests: 1300,
                errors: 0,
                bytes: 620_000,
                p50_us: 200,
                mean_us: 370.0,
                min_us: 100,
                max_us: 1900,
            },
        }],
        ..Summary::empty(run_info())
    }
}

/// The same run with every error line present, stopped by Ctrl-C at 12.5 s.
fn faulty() -> Summary {
    let mut s = clean();
    s.duration = Duration::from_millis(12_500);
    s.status_codes = BTreeMap::from([(200, 38995), (503, 5)]);
    s.errors = ErrorCounts {
        connect: 2,
        read: 3,
        write: 0,
        timeout: 1,
        status: 5,
        parse: 4,
        tls: 0,
        check: 0,
        grpc: 0,
    };
    s.error_details = vec![
        (Fault::ParseChunk, 4),
        (Fault::ReadReset, 3),
        (Fault::ConnectRefused, 2),
        (Fault::Timeout, 1),
    ];
    s.in_flight_at_end = 7;
    s.not_sent_at_end = 11;
    s.interrupted = true;
    s
}

fn text(s: &Summary, latency: bool) -> String {
    let mut out = Vec::new();
    write_text(&mut out, s, latency).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn units() {
    assert_eq!(format_time_us(635.91), "635.91us");
    assert_eq!(format_time_us(890.2), "0.89ms");
    assert_eq!(format_time_us(849.0), "849.00us");
    assert_eq!(format_time_us(12920.0), "12.92ms");
    assert_eq!(format_time_us(1.5e6), "1.50s");
    assert_eq!(format_time_us(2.5e6), "2.50s");
    assert_eq!(format_time_us(30e6), "30.00s");
    // 51 s is 0.85 of a minute: wrk switches unit there.
    assert_eq!(format_time_us(51e6), "0.85m");
    // wrk never reaches the last unit of a table: hours print as minutes.
    assert_eq!(format_time_us(7200e6), "120.00m");
    assert_eq!(format_time_us(0.0), "0.00us");
    assert_eq!(format_time_s(30.0), "30s");
    assert_eq!(format_time_s(120.0), "2m");
    assert_eq!(format_time_s(3600.0), "60m");
    assert_eq!(format_metric(56200.0), "56.20k");
    assert_eq!(format_metric(8070.0), "8.07k");
    assert_eq!(format_metric(258.2), "258.20");
    assert_eq!(format_metric(2.5e6), "2.50M");
    assert_eq!(format_binary(1024.0 * 1024.0 * 17.76), "17.76M");
    assert_eq!(format_binary(17.76 * 1024.0 * 1024.0 * 1024.0), "17.76G");
    assert_eq!(format_binary(2.2 * 1024.0 * 1024.0 * 1024.0), "2.20G");
    assert_eq!(format_binary(100.0), "100.00");
    assert_eq!(format_binary(f64::NAN), "0.00");
}

#[test]
fn rows_align_like_wrk() {
    let mut out = Vec::new();
    let lat = RowStats {
        mean: 635.91,
        stdev: 890.2,
        max: 12920,
        within_stdev: 93.69,
    };
    let rate = RowStats {
        mean: 56200.0,
        stdev: 8070.0,
        max: 62000,
        within_stdev: 86.54,
    };
    write_row(&mut out, "Latency", &lat, format_time_us).unwrap();
    write_row(&mut out, "Req/Sec", &rate, format_metric).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "    Latency   635.91us    0.89ms  12.92ms   93.69%\n\
         \x20   Req/Sec    56.20k     8.07k   62.00k    86.54%\n"
    );
}

#[test]
fn text_clean_run() {
    assert_eq!(
        text(&clean(), false),
        "Running 30s test @ http://127.0.0.1:8080/\n\
         \x20 12 threads and 400 connections\n\
         \x20 Thread Stats   Avg      Stdev     Max   +/- Stdev\n\
         \x20   Latency   370.00us  541.71us   1.90ms   90.00%\n\
         \x20   Req/Sec     1.30k   258.20     1.60k    50.00%\n\
         \x20 39000 requests in 30.00s, 17.76MB read\n\
         Requests/sec:   1300.00\n\
         Transfer/sec:    606.21KB\n"
    );
}

#[test]
fn text_with_latency_distribution() {
    assert_eq!(
        text(&clean(), true),
        "Running 30s test @ http://127.0.0.1:8080/\n\
         \x20 12 threads and 400 connections\n\
         \x20 Thread Stats   Avg      Stdev     Max   +/- Stdev\n\
         \x20   Latency   370.00us  541.71us   1.90ms   90.00%\n\
         \x20   Req/Sec     1.30k   258.20     1.60k    50.00%\n\
         \x20 Latency Distribution\n\
         \x20    50%  200.00us\n\
         \x20    75%  300.00us\n\
         \x20    90%  300.00us\n\
         \x20    99%    1.90ms\n\
         \x20  99.9%    1.90ms\n\
         \x20 39000 requests in 30.00s, 17.76MB read\n\
         Requests/sec:   1300.00\n\
         Transfer/sec:    606.21KB\n"
    );
}

#[test]
fn text_with_rate_and_slo() {
    let mut s = clean();
    s.info.rate = Some(1400.0);
    // 3,000 of the 42,000 offered in 30 s were never sent: 7.1%.
    s.not_sent_at_end = 3000;
    s.service = hist(latency_histogram(), &[(100, 10)]);
    let mut out = Vec::new();
    write_text(&mut out, &s, true).unwrap();
    let slo = crate::stats::slo::Slo::parse("p99<1ms,rps>1000").unwrap();
    write_slo_text(&mut out, &slo.check(&s)).unwrap();
    let text = String::from_utf8(out).unwrap();
    let tail: Vec<&str> = text.lines().skip(11).collect();
    assert_eq!(
        tail,
        [
            "  Service Time Distribution (from the actual write)",
            "     50%  100.00us",
            "     75%  100.00us",
            "     90%  100.00us",
            "     99%  100.00us",
            "   99.9%  100.00us",
            "  39000 requests in 30.00s, 17.76MB read",
            "  Not sent at end: 3000",
            "  Offered rate: 1400.00 req/s, achieved 1300.00 req/s",
            "  Warning: 7.1% of the offered requests were never sent: increase -c \
             (every connection was busy) or check the errors above",
            "Requests/sec:   1300.00",
            "Transfer/sec:    606.21KB",
            "SLO:",
            "  p99<1ms                  1.90ms  FAIL",
            "  rps>1000                  1.30k  PASS",
        ]
    );
}

#[test]
fn text_with_errors() {
    assert_eq!(
        text(&faulty(), false),
        "Running 30s test @ http://127.0.0.1:8080/\n\
         \x20 12 threads and 400 connections\n\
         \x20 Thread Stats   Avg      Stdev     Max   +/- Stdev\n\
         \x20   Latency   370.00us  541.71us   1.90ms   90.00%\n\
         \x20   Req/Sec     1.30k   258.20     1.60k    50.00%\n\
         \x20 39000 requests in 12.50s, 17.76MB read\n\
         \x20 Socket errors: connect 2, read 3, write 0, timeout 1\n\
         \x20 Parse errors: 4\n\
         \x20 Non-2xx or 3xx responses: 5\n\
         \x20 Error causes:\n\
         \x20          4  parse: invalid chunked body\n\
         \x20          3  read: connection reset\n\
         \x20          2  connect: refused\n\
         \x20          1  timeout: no response within --timeout\n\
         \x20 In flight at end: 7\n\
         \x20 Not sent at end: 11\n\
         \x20 Interrupted by Ctrl-C or SIGTERM: report covers 12.50s\n\
         Requests/sec:   3120.00\n\
         Transfer/sec:      1.42MB\n"
    );
}

#[test]
fn text_requests_header_and_seconds_latency() {
    let mut s = clean();
    s.info.duration_s = None;
    s.info.requests_limit = Some(5000);
    s.latency = hist(latency_histogram(), &[(1_500_000, 1)]);
    s.rate = rate_histogram();
    let t = text(&s, true);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(
        lines[0],
        "Running 5000 requests test @ http://127.0.0.1:8080/"
    );
    // One sample: stdev 0, the sample lies within it. "1.50s" takes one
    // pad space, so the line keeps wrk's trailing space.
    assert_eq!(
        lines[3],
        "    Latency     1.50s     0.00us   1.50s   100.00%"
    );
    // Empty histogram: zeros, no NaN.
    assert_eq!(
        lines[4],
        "    Req/Sec     0.00      0.00     0.00      0.00%"
    );
    assert_eq!(lines[6], "     50%    1.50s ");
    assert_eq!(test_length(0.5), "500ms");
}

#[test]
fn empty_summary_has_no_nan() {
    let mut s = clean();
    s.duration = Duration::ZERO;
    s.requests = 0;
    s.bytes_read = 0;
    s.latency = latency_histogram();
    s.connect = latency_histogram();
    s.rate = rate_histogram();
    let t = text(&s, true);
    assert!(!t.to_lowercase().contains("nan"), "{t}");
    assert!(t.contains("Requests/sec:      0.00\n"), "{t}");
    let mut out = Vec::new();
    write_json(&mut out, &s).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["latency_us"]["mean"], 0.0);
    assert_eq!(v["latency_us"]["stdev"], 0.0);
    assert_eq!(v["latency_us"]["max"], 0);
    assert_eq!(v["latency_us"]["min"], 0);
    assert_eq!(v["latency_us"]["p99"], 0);
    assert_eq!(v["rps"], 0.0);
}

#[test]
fn json_has_every_key() {
    let mut out = Vec::new();
    write_json(&mut out, &faulty()).unwrap();
    assert_eq!(out.last(), Some(&b'\n'));
    let v: Value = serde_json::from_slice(&out).unwrap();

    assert_eq!(v["url"], "http://127.0.0.1:8080/");
    assert_eq!(
        v["config"],
        json!({
            "connections": 400, "threads": 12, "duration_s": 30.0,
            "requests_limit": null, "rate": null,
            "ramp_up_s": 0.0, "method": "GET",
            "timeout_s": 2.0, "engine": "uring",
            "protocol": "http/1.1", "streams": 1, "seed": 0,
            "stages": null
        })
    );
    assert_eq!(v["duration_s"], 12.5);
    assert_eq!(v["requests"], 39000);
    assert_eq!(v["rps"], 3120.0);
    assert_eq!(v["bytes_read"], 18_622_710);
    assert_eq!(v["status_codes"], json!({"200": 38995, "503": 5}));
    assert_eq!(
        v["errors"],
        json!({"connect": 2, "read": 3, "write": 0, "timeout": 1, "status": 5, "parse": 4, "tls": 0, "check": 0, "grpc": 0})
    );
    // No gRPC call, no gRPC status table.
    assert!(v["grpc_status"].is_null());

    let lat = &v["latency_us"];
    assert_eq!(lat["min"], 100);
    assert_eq!(lat["mean"], 370.0);
    let sd = lat["stdev"].as_f64().unwrap();
    assert!((sd - (2_641_000.0_f64 / 9.0).sqrt()).abs() < 1e-9, "{sd}");
    assert_eq!(lat["max"], 1900);
    assert_eq!(lat["p50"], 200);
    assert_eq!(lat["p75"], 300);
    assert_eq!(lat["p90"], 300);
    assert_eq!(lat["p97"], 1900);
    assert_eq!(lat["p99"], 1900);
    assert_eq!(lat["p99_9"], 1900);
    assert_eq!(lat["p99_99"], 1900);
    assert_eq!(lat.as_object().unwrap().len(), 11);

    let con = &v["connect_us"];
    assert_eq!(con["min"], 50);
    assert_eq!(con["mean"], 100.0);
    assert_eq!(con["max"], 150);
    assert_eq!(con["p50"], 50);
    assert_eq!(con["p99"], 150);
    assert_eq!(con.as_object().unwrap().len(), 11);

    assert_eq!(
        v["timeline"],
        json!([{"t_s": 1.0, "requests": 1300, "rps": 1300.0, "p50_us": 200,
                "p90_us": 300, "p99_us": 1900, "errors": 0, "bytes": 620_000}])
    );
    assert_eq!(
        v["error_details"],
        json!([
            {"kind": "parse", "cause": "parse: invalid chunked body", "count": 4},
            {"kind": "read", "cause": "read: connection reset", "count": 3},
            {"kind": "connect", "cause": "connect: refused", "count": 2},
            {"kind": "timeout", "cause": "timeout: no response within --timeout", "count": 1},
        ])
    );
    assert_eq!(v["in_flight_at_end"], 7);
    assert_eq!(v["not_sent_at_end"], 11);
    assert_eq!(v["interrupted"], true);
    assert!(v["aborted"].is_null());
    assert_eq!(v["offered_rps"], Value::Null, "closed loop offers no rate");
    assert!(v["service_time_us"]["p99"].is_u64());
    let spectrum = v["latency_spectrum"].as_array().unwrap();
    assert_eq!(spectrum[0]["value_us"], 100);
    assert_eq!(
        spectrum.last().unwrap(),
        &json!({"percentile": 100.0, "value_us": 1900})
    );
    assert_eq!(v["tls"], Value::Null, "plain http has no TLS section");
    assert_eq!(v["tls_handshake_us"], Value::Null);
    assert!(v["ttfb_us"]["p99"].is_u64());
    for k in [
        "ttft_us",
        "itl_us",
        "tpot_us",
        "output_tokens",
        "output_tokens_per_s",
        "streamed_responses",
        "token_count_source",
        "goodput_rps",
    ] {
        assert_eq!(v[k], Value::Null, "{k}: no response was streamed");
    }
    // 30 keys (`aborted` among them), `by_name` (empty for a run without
    // request names), `checks` (empty without --check), `skipped` (0
    // without captures) and `grpc_status` (null without gRPC calls).
    assert_eq!(v.as_object().unwrap().len(), 34);
    assert_eq!(v["skipped"], 0);
    assert_eq!(v["by_name"], json!({}));
    assert_eq!(v["checks"], json!([]));
}

#[test]
fn tls_in_json_and_text() {
    let mut s = clean();
    s.tls = Some(crate::stats::TlsSummary {
        info: Some(crate::stats::TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TLS13_AES_128_GCM_SHA256".into(),
            alpn: Some("http/1.1".into()),
        }),
        handshake: hist(latency_histogram(), &[(900, 3), (1500, 1)]),
        resumed: 3,
    });
    let v = to_json(&s);
    assert_eq!(
        v["tls"],
        json!({"version": "TLSv1.3", "cipher": "TLS13_AES_128_GCM_SHA256",
               "alpn": "http/1.1", "handshakes": 4, "resumed": 3})
    );
    assert_eq!(v["tls_handshake_us"]["max"], 1500);
    assert_eq!(v["tls_handshake_us"]["p50"], 900);
    let t = text(&s, false);
    assert!(
        t.contains(
            "  TLS: TLSv1.3 TLS13_AES_128_GCM_SHA256, ALPN http/1.1, 4 handshakes (3 resumed), \
             avg 1.05ms, p99 1.50ms\n"
        ),
        "{t}"
    );
}

#[test]
fn json_requests_limit_and_rate() {
    let mut s = clean();
    s.info.duration_s = None;
    s.info.requests_limit = Some(5000);
    s.info.rate = Some(2000.0);
    let v = to_json(&s);
    assert_eq!(v["config"]["duration_s"], Value::Null);
    assert_eq!(v["config"]["requests_limit"], 5000);
    assert_eq!(v["config"]["rate"], 2000.0);
    assert_eq!(v["interrupted"], false);
    assert_eq!(v["error_details"], json!([]));
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
fn json_checks_and_check_errors() {
    use crate::stats::CheckSummary;
    let mut s = faulty();
    s.errors.check = 80;
    s.checks = vec![CheckSummary {
        name: None,
        check: "json /predictions exists".into(),
        passes: 9_920,
        fails: 80,
    }];
    s.check_details = vec![("json /predictions exists".into(), 80)];
    let v = to_json(&s);
    assert_eq!(v["errors"]["check"], 80);
    assert_eq!(
        v["checks"],
        json!([{"check": "json /predictions exists", "name": null, "passes": 9920, "fails": 80}])
    );
    assert_eq!(
        v["error_details"][0],
        json!({"kind": "check", "cause": "json /predictions exists", "count": 80})
    );
}
