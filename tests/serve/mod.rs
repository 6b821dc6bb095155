//! `blast serve`: the HTTP API against a real `blast target`, over real
//! sockets on 127.0.0.1, with the target's own count as the truth.

mod calls;
mod cdp;
pub(crate) mod client;
mod scenario;
mod ui;

use crate::support::{local_target, wait_until};
use blast::target::{self, Target, TargetOptions};
use client::{data_dir, next_event, Serve};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn target() -> Target {
    local_target()
}

fn url(t: &Target) -> String {
    format!("http://{}/", t.addr())
}

/// Acceptance 1: the seed service's body, byte for byte, with ?wait=true.
#[test]
fn seed_body_answers_the_seed_keys() {
    let t = target();
    let dir = data_dir("seed");
    let s = Serve::start(&dir, &[]);
    let body = format!(
        r#"{{"url": "{}", "qps": 200, "duration": 3, "num_workers": 10, "timeout": 2}}"#,
        url(&t)
    );
    let started = Instant::now();
    let r = s.post("/benchmark?wait=true", &body);
    let took = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("access-control-allow-origin").is_none());
    let j = r.json();
    for k in ["p50", "p90", "p97", "p99", "mean", "std"] {
        let v = j[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {j}"));
        assert!((0.0..2000.0).contains(&v), "{k} = {v} ms");
    }
    assert!(j["p50"].as_f64() <= j["p99"].as_f64());
    // Milliseconds, from the same histogram as the JSON report's µs.
    let p99_us = j["latency_us"]["p99"].as_f64().unwrap();
    assert_eq!(j["p99"].as_f64().unwrap(), p99_us / 1000.0);
    assert_eq!(j["errors"], 0, "{j}");
    assert_eq!(j["errors_status"], serde_json::json!({}));
    assert!(j["errors_by_kind"]["timeout"].is_u64());
    assert_eq!(j["config"]["connections"], 10);
    assert_eq!(j["config"]["rate"], 200.0);
    let counted = t.requests();
    eprintln!(
        "seed body: target counted {counted}, blast {} in {took:?}",
        j["requests"]
    );
    assert!((588..=612).contains(&counted), "target counted {counted}");
    assert_eq!(j["requests"].as_u64().unwrap(), counted);
    t.stop();
}

/// Non-2xx/3xx answers: `errors` counts them all, `errors_status` by code.
#[test]
fn errors_and_errors_status_count_failed_answers() {
    let t = target::start(TargetOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        status: 503,
        ..TargetOptions::default()
    })
    .unwrap();
    let dir = data_dir("errors");
    let s = Serve::start(&dir, &[]);
    let body = format!(
        r#"{{"url": "{}", "qps": 50, "duration": 1, "num_workers": 2}}"#,
        url(&t)
    );
    let j = s.run_waiting(&body);
    let n = t.requests();
    assert!(n >= 45, "{n}");
    assert_eq!(j["requests"].as_u64(), Some(n), "{j}");
    assert_eq!(j["errors"].as_u64(), Some(n), "{j}");
    assert_eq!(j["errors_status"], serde_json::json!({ "503": n }));
    assert_eq!(j["errors_by_kind"]["status"].as_u64(), Some(n));
    assert_eq!(j["errors_by_kind"]["check"].as_u64(), Some(0), "{j}");
    // Checks over the API: a status check makes the 503s successes, and a
    // body check that fails every answer makes them `check` failures,
    // counted in `errors`, by kind, by detail and per check.
    let body = format!(
        r#"{{"url": "{}", "requests": 40, "num_workers": 2,
             "checks": ["status == 503", "body contains zzz"]}}"#,
        url(&t)
    );
    let j = s.run_waiting(&body);
    assert_eq!(j["requests"].as_u64(), Some(40), "{j}");
    assert_eq!(j["errors"].as_u64(), Some(40), "{j}");
    assert_eq!(j["errors_by_kind"]["status"].as_u64(), Some(0), "{j}");
    assert_eq!(j["errors_by_kind"]["check"].as_u64(), Some(40), "{j}");
    assert_eq!(j["errors_status"], serde_json::json!({}), "{j}");
    let detail = &j["error_details"][0];
    assert_eq!(
        (&detail["kind"], &detail["cause"], &detail["count"]),
        (&"check".into(), &"body contains zzz".into(), &40.into()),
        "{j}"
    );
    assert_eq!(
        j["checks"],
        serde_json::json!([
            {"check": "status == 503", "name": null, "passes": 40, "fails": 0},
            {"check": "body contains zzz", "name": null, "passes": 0, "fails": 40},
        ]),
        "{j}"
    );
    // Nothing measured at all (connection refused): 502, kept as failed.
    let r = s.post(
        "/benchmark?wait=true",
        r#"{"url": "http://127.0.0.1:1/", "duration": 1}"#,
    );
    assert_eq!(r.status, 502, "{}", r.body);
    let e = r.json();
    assert!(e["error"].as_str().unwrap().contains("connect"), "{e}");
    let list = s.get("/benchmarks").json();
    assert_eq!(list["benchmarks"][0]["status"], "failed", "{list}");
    t.stop();
}

/// Acceptance 2: start, watch /events live, 409 for a second start, DELETE
/// within 1 s, and the history and report after a restart.
#[test]
fn async_run_streams_stops_and_survives_a_restart() {
    let t = target();
    let dir = data_dir("async");
    let s = Serve::start(&dir, &[]);
    let start = format!(r#"{{"url": "{}", "qps": 100, "duration": 30}}"#, url(&t));
    let r = s.post("/benchmark", &start);
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["status_url"], format!("/benchmarks/{id}"));

    let mut events = s.stream(&format!("/benchmarks/{id}/events"));
    let mut points = Vec::new();
    while points.len() < 3 {
        let (name, data) = next_event(&mut events).expect("the stream ended early");
        assert_eq!(name, "point", "{data}");
        points.push(data);
    }
    assert!(points[2]["t_s"].as_f64().unwrap() >= 2.9, "{points:?}");
    assert!(
        points.iter().all(|p| p["requests"].as_u64() > Some(50)),
        "{points:?}"
    );

    let second = s.post("/benchmark", &start);
    assert_eq!(second.status, 409, "{}", second.body);
    assert_eq!(second.json()["id"], id.as_str());

    // Concurrent calls while the run goes on all get an answer.
    let addr = s.addr;
    let callers: Vec<_> = (0..100)
        .map(|i| {
            let id = id.clone();
            std::thread::spawn(move || match i % 4 {
                0 => client::call(addr, None, "GET", "/benchmarks", None).status,
                1 => client::call(addr, None, "GET", &format!("/benchmarks/{id}"), None).status,
                2 => client::call(addr, None, "POST", "/benchmark", Some("{\"qps\": 1}")).status,
                _ => client::call(addr, None, "GET", "/nowhere", None).status,
            })
        })
        .collect();
    let statuses: Vec<u16> = callers.into_iter().map(|c| c.join().unwrap()).collect();
    for (i, st) in statuses.iter().enumerate() {
        assert_eq!(*st, [200, 200, 400, 404][i % 4], "call {i}");
    }

    let asked = Instant::now();
    let stop = s.call("DELETE", &format!("/benchmarks/{id}"), None);
    let took = asked.elapsed();
    assert_eq!(stop.status, 200, "{}", stop.body);
    assert!(took < Duration::from_secs(1), "DELETE took {took:?}");
    let j = stop.json();
    assert_eq!(j["status"], "stopped");
    assert_eq!(j["result"]["interrupted"], true);
    let ran = j["result"]["requests"].as_u64().unwrap();
    let counted = t.requests();
    eprintln!("stopped after {took:?}: blast {ran}, target {counted}");
    assert!((300..3000).contains(&ran), "{ran}");
    // The calls above did not disturb the schedule.
    let rps = j["result"]["rps"].as_f64().unwrap();
    assert!((rps - 100.0).abs() < 5.0, "rps {rps} with qps 100");
    assert!(
        counted.abs_diff(ran) <= 10,
        "target {counted}, report {ran}"
    );
    // The stream ends with the result.
    let (name, data) = loop {
        let (name, data) = next_event(&mut events).expect("no result event");
        if name != "point" {
            break (name, data);
        }
    };
    assert_eq!(name, "result");
    assert_eq!(data["requests"].as_u64(), Some(ran));

    drop(s);
    let s = Serve::start(&dir, &[]);
    let list = s.get("/benchmarks").json();
    assert_eq!(list["benchmarks"][0]["id"], id.as_str(), "{list}");
    assert_eq!(list["benchmarks"][0]["status"], "stopped");
    let again = s.get(&format!("/benchmarks/{id}")).json();
    assert_eq!(again["result"]["requests"].as_u64(), Some(ran));
    let html = s.get(&format!("/benchmarks/{id}/report.html"));
    assert_eq!(html.status, 200);
    assert!(html.body.starts_with("<!DOCTYPE html>"));
    let csv = s.get(&format!("/benchmarks/{id}/stats.csv"));
    assert_eq!(csv.status, 200);
    assert!(
        csv.body.contains(&format!("Aggregated,{ran},")),
        "{}",
        csv.body
    );
    let hlog = s.get(&format!("/benchmarks/{id}/run.hlog"));
    assert!(hlog.body.starts_with("#[Histogram log format"));
    let replay = s.get(&format!("/benchmarks/{id}/events"));
    assert!(replay.body.ends_with("\n\n") && replay.body.contains("event: result"));
    t.stop();
}

/// SIGTERM stops the run going on and records it before the server exits.
#[test]
fn sigterm_records_the_run_going_on() {
    let t = target();
    let dir = data_dir("sigterm");
    let mut s = Serve::start(&dir, &[]);
    let r = s.post(
        "/benchmark",
        &format!(r#"{{"url": "{}", "qps": 50, "duration": 30}}"#, url(&t)),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    // SIGTERM once the run has sent enough to tell it was recorded.
    wait_until(Duration::from_secs(15), "50 requests at the target", || {
        t.requests() >= 50
    });
    assert_eq!(
        s.terminate(),
        Some(0),
        "blast serve did not exit 0 on SIGTERM"
    );
    let s = Serve::start(&dir, &[]);
    let j = s.get(&format!("/benchmarks/{id}")).json();
    assert_eq!(j["status"], "stopped", "{j}");
    let ran = j["result"]["requests"].as_u64().unwrap();
    assert!(
        ran >= 40 && t.requests().abs_diff(ran) <= 5,
        "{ran} vs {}",
        t.requests()
    );
    t.stop();
}

/// Acceptance 3: each malformed body gets 400 naming its field, and no run
/// starts (none in the history, no request at the target).
#[test]
fn malformed_bodies_name_their_field_and_start_nothing() {
    let t = target();
    let dir = data_dir("malformed");
    let s = Serve::start(&dir, &[]);
    let u = url(&t);
    let big = "x".repeat((1 << 20) + 1);
    let cases: Vec<(String, &str)> = vec![
        (format!(r#"{{"url": "{u}", "bogus": 1}}"#), "bogus"),
        (format!(r#"{{"url": "{u}", "qps": "fast"}}"#), "qps"),
        (format!(r#"{{"url": "{u}", "qps": true}}"#), "qps"),
        (format!(r#"{{"url": "{u}", "qps": -5}}"#), "qps"),
        (format!(r#"{{"url": "{u}", "duration": -3}}"#), "duration"),
        (
            format!(r#"{{"url": "{u}", "duration": "3 fortnights"}}"#),
            "duration",
        ),
        (r#"{"url": "not a url"}"#.to_string(), "url"),
        (r#"{"url": "ftp://example/"}"#.to_string(), "url"),
        (r#"{"url": 42}"#.to_string(), "url"),
        (r#"{"qps": 10, "duration": 1}"#.to_string(), "url"),
        (
            format!(r#"{{"url": "{u}", "num_workers": 0}}"#),
            "num_workers",
        ),
        (
            format!(r#"{{"url": "{u}", "num_workers": 2.5}}"#),
            "num_workers",
        ),
        (format!(r#"{{"url": "{u}", "timeout": 0}}"#), "timeout"),
        // More connections than any open-file limit allows.
        (
            format!(r#"{{"url": "{u}", "num_workers": 5000000000}}"#),
            "num_workers",
        ),
        (format!(r#"{{"url": "{u}", "method": "GE T"}}"#), "method"),
        (format!(r#"{{"url": "{u}", "headers": 5}}"#), "headers"),
        (
            format!(r#"{{"url": "{u}", "headers": ["no colon"]}}"#),
            "headers",
        ),
        (format!(r#"{{"url": "{u}", "slo": "p99<<"}}"#), "slo"),
        (format!(r#"{{"url": "{u}", "body": "{big}"}}"#), "body"),
        (
            format!(r#"{{"url": "{u}", "html": "/tmp/x.html"}}"#),
            "html",
        ),
        (
            format!(r#"{{"url": "{u}", "body_file": "/etc/passwd"}}"#),
            "body_file",
        ),
        (format!(r#"{{"url": "{u}", "http2": "yes"}}"#), "http2"),
        (format!(r#"{{"url": "{u}", "threads": -1}}"#), "threads"),
        (format!(r#"{{"url": "{u}", "qps": 1, "rate": 2}}"#), "rate"),
    ];
    assert!(cases.len() >= 12);
    for (body, field) in &cases {
        let r = s.post("/benchmark?wait=true", body);
        let shown = &body[..body.len().min(80)];
        assert_eq!(r.status, 400, "{shown}: {}", r.body);
        let j = r.json();
        assert_eq!(j["field"], *field, "{shown}: {j}");
        assert!(j["error"].as_str().is_some_and(|e| !e.is_empty()), "{j}");
    }
    // Not JSON, or not an object: 400 with no field to name.
    for body in ["{\"url\": ", "[1, 2]", ""] {
        let r = s.post("/benchmark", body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.json()["field"].is_null());
    }
    assert_eq!(
        s.get("/benchmarks").json()["benchmarks"],
        serde_json::json!([])
    );
    assert_eq!(t.requests(), 0);
    t.stop();
}

/// Acceptance 4: no token beyond loopback, 401 without the token, 403
/// outside --allow-target, and 400 naming each cap.
#[test]
fn security_token_allowed_targets_and_caps() {
    let dir = data_dir("security");
    let mut cmd = crate::support::command(&[
        "serve",
        "--listen",
        "0.0.0.0:0",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    cmd.env_remove("BLAST_TOKEN");
    let r = crate::support::run_cmd(cmd, Duration::from_secs(10));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("--token"), "{}", r.stderr);

    let t = target();
    let mut s = Serve::start(
        &dir,
        &[
            "--token",
            "s3cret-token",
            "--allow-target",
            "*.svc.local,localhost",
            "--max-duration",
            "2s",
            "--max-rate",
            "100",
            "--max-connections",
            "5",
        ],
    );
    let ok = format!(r#"{{"url": "{}", "qps": 50, "duration": 1}}"#, url(&t));
    for token in [
        None,
        Some("wrong"),
        Some("s3cret-tokeN"),
        Some("s3cret-token2"),
    ] {
        s.token = token.map(str::to_string);
        for (method, path, body) in [
            ("GET", "/benchmarks", None),
            ("POST", "/benchmark", Some(ok.as_str())),
        ] {
            let r = s.call(method, path, body);
            assert_eq!(r.status, 401, "{token:?} {method} {path}: {}", r.body);
            assert_eq!(r.header("www-authenticate"), Some("Bearer"));
            assert!(r.json()["error"].is_string());
        }
    }
    s.token = Some("s3cret-token".into());
    assert_eq!(s.get("/benchmarks").status, 200);
    let lower = client::raw(
        s.addr,
        "GET /benchmarks HTTP/1.1\r\nAuthorization: bearer s3cret-token\r\n",
    );
    assert_eq!(lower.status, 200, "the scheme's case does not matter");

    // 127.0.0.1 is not in --allow-target.
    let r = s.post("/benchmark", &ok);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.json()["error"].as_str().unwrap().contains("127.0.0.1"),
        "{}",
        r.body
    );
    assert_eq!(t.requests(), 0);

    // localhost is: the caps apply, each named.
    let local = format!("http://localhost:{}/", t.addr().port());
    for (extra, field, cap) in [
        (r#""qps": 50, "duration": 5"#, "duration", "--max-duration"),
        (
            r#""qps": 50, "duration": 1, "warmup": 2"#,
            "warmup",
            "--max-duration",
        ),
        (r#""qps": 500, "duration": 1"#, "qps", "--max-rate"),
        (r#""duration": 1"#, "qps", "--max-rate"),
        (
            r#""qps": 50, "duration": 1, "num_workers": 6"#,
            "num_workers",
            "--max-connections",
        ),
    ] {
        let body = format!(r#"{{"url": "{local}", {extra}}}"#);
        let r = s.post("/benchmark", &body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        let j = r.json();
        assert_eq!(j["field"], field, "{body}: {j}");
        assert!(j["error"].as_str().unwrap().contains(cap), "{body}: {j}");
    }
    assert_eq!(t.requests(), 0);
    // Within the caps it runs.
    let body = format!(r#"{{"url": "{local}", "qps": 50, "duration": 1}}"#);
    let j: Value = s.run_waiting(&body);
    assert_eq!(
        j["config"]["connections"], 5,
        "defaults are lowered to the cap"
    );
    assert!(t.requests() >= 45, "{}", t.requests());
    t.stop();
    drop(s);
}

/// `POST /find` runs `blast find` the same way, and keeps its report.
#[test]
fn find_searches_through_the_api() {
    let t = target();
    let dir = data_dir("find");
    let s = Serve::start(&dir, &[]);
    let body = format!(
        r#"{{"url": "{}", "slo": "p99<500ms", "start": 50, "max": 200,
             "step_duration": 0.3, "precision": "50%", "num_workers": 2}}"#,
        url(&t)
    );
    let r = s.post("/find", &body);
    assert_eq!(r.status, 202, "{}", r.body);
    // The live feed has each step as it ends, then the result.
    let id = r.json()["id"].as_str().unwrap().to_string();
    let mut events = s.stream(&format!("/benchmarks/{id}/events"));
    let mut fed = Vec::new();
    let j = loop {
        let (name, data) = next_event(&mut events).expect("an event");
        if name != "point" {
            assert_eq!(name, "result", "{data}");
            break data;
        }
        fed.push(data["offered_rps"].as_f64().unwrap());
    };
    assert_eq!(fed, [50.0, 100.0, 200.0], "one point per step");
    assert_eq!(j["max_sustainable_rps"], 200.0, "{j}");
    // After the search, /events replays the steps, then the result.
    let mut replay = s.stream(&format!("/benchmarks/{id}/events"));
    let mut again = Vec::new();
    while let Some(("point", data)) = next_event(&mut replay)
        .as_ref()
        .map(|(n, d)| (n.as_str(), d.clone()))
    {
        again.push(data["offered_rps"].as_f64().unwrap());
    }
    assert_eq!(again, fed);
    let steps = j["steps"].as_array().unwrap();
    let offered: Vec<f64> = steps
        .iter()
        .map(|s| s["offered_rps"].as_f64().unwrap())
        .collect();
    assert_eq!(offered, [50.0, 100.0, 200.0]);
    let sent: u64 = steps.iter().map(|s| s["requests"].as_u64().unwrap()).sum();
    let counted = t.requests();
    assert!(
        counted >= sent && counted <= sent + 10,
        "target {counted}, steps {sent}"
    );
    let id = j["id"].as_str().unwrap();
    let list = s.get("/benchmarks").json();
    assert_eq!(list["benchmarks"][0]["kind"], "find");
    assert_eq!(
        list["benchmarks"][0]["summary"]["max_sustainable_rps"],
        200.0
    );
    let html = s.get(&format!("/benchmarks/{id}/report.html"));
    assert_eq!(html.status, 200);
    assert!(html.body.starts_with("<!DOCTYPE html>"));
    t.stop();
}
