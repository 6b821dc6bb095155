//! The API's parsing, caps and globs, without a server.

use super::*;

struct Accepted {
    cfg: Config,
}

fn parse_run(body: &[u8], limits: &Limits) -> Result<Accepted, Refusal> {
    match check(body, limits, Mode::Run)?.build(limits)? {
        Built::Run(cfg) => Ok(Accepted { cfg }),
        Built::Find(_) => panic!("a run body built a search"),
    }
}

struct AcceptedFind {
    cfg: FindConfig,
}

fn parse_find(body: &[u8], limits: &Limits) -> Result<AcceptedFind, Refusal> {
    match check(body, limits, Mode::Find)?.build(limits)? {
        Built::Find(cfg) => Ok(AcceptedFind { cfg }),
        Built::Run(_) => panic!("a find body built a run"),
    }
}

fn refusal(body: &str) -> Refusal {
    match parse_run(body.as_bytes(), &Limits::default()) {
        Ok(_) => panic!("{body} was accepted"),
        Err(r) => r,
    }
}

#[test]
fn seed_body_becomes_the_cli_run() {
    let body = r#"{"url": "http://127.0.0.1:9/x", "qps": 200, "duration": 3,
                   "num_workers": 10, "timeout": 2}"#;
    let a = parse_run(body.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(a.cfg.load.shape.rate, Some(200.0));
    assert_eq!(a.cfg.load.shape.duration, Some(Duration::from_secs(3)));
    assert_eq!(a.cfg.load.shape.connections, 10);
    assert_eq!(a.cfg.load.conn.timeout, Duration::from_secs(2));
    assert!(!a.cfg.load.progress);
}

#[test]
fn run_options_by_long_name() {
    let body = r#"{"url": "http://127.0.0.1:9/", "threads": 1, "method": "PUT",
                   "headers": {"X-A": "1"}, "body": "-x", "http2": false,
                   "connect_timeout": "500ms", "slo": "p99<250ms"}"#;
    let a = parse_run(body.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(a.cfg.method, "PUT");
    assert_eq!(a.cfg.load.shape.threads, 1);
    assert_eq!(a.cfg.load.conn.connect_timeout, Duration::from_millis(500));
    assert!(a.cfg.slo.is_some());
}

#[test]
fn refusals_name_the_field() {
    for (body, field) in [
        (r#"{"url": "http://127.0.0.1:9/", "bogus": 1}"#, "bogus"),
        (r#"{"url": "http://127.0.0.1:9/", "qps": "fast"}"#, "qps"),
        (
            r#"{"url": "http://127.0.0.1:9/", "duration": -1}"#,
            "duration",
        ),
        (
            r#"{"url": "http://127.0.0.1:9/", "duration": "-1s"}"#,
            "duration",
        ),
        (r#"{"url": "ftp://x/"}"#, "url"),
        (
            r#"{"url": "http://127.0.0.1:9/", "method": "GE T"}"#,
            "method",
        ),
        (r#"{"url": "http://127.0.0.1:9/", "slo": "p99<<"}"#, "slo"),
        (r#"{"url": "http://127.0.0.1:9/", "csv": "/tmp/x"}"#, "csv"),
        (
            r#"{"url": "http://127.0.0.1:9/", "prometheus_remote_write": "http://10.0.0.1/"}"#,
            "prometheus_remote_write",
        ),
        (
            r#"{"url": "http://127.0.0.1:9/", "metrics_listen": "0.0.0.0:9100"}"#,
            "metrics_listen",
        ),
        (
            r#"{"url": "http://127.0.0.1:9/", "qps": 1, "rate": 2}"#,
            "rate",
        ),
        (r#"{"qps": 1}"#, "url"),
    ] {
        let r = refusal(body);
        assert_eq!(r.status, 400, "{body}: {r:?}");
        assert_eq!(r.field.as_deref(), Some(field), "{body}: {r:?}");
    }
}

#[test]
fn caps_and_allowed_targets() {
    let limits = Limits {
        allow_target: AllowList::parse(&["*.svc.local".into(), "127.0.0.1".into()]).unwrap(),
        max_duration: Some(Duration::from_secs(5)),
        max_rate: Some(100.0),
        max_connections: Some(4),
    };
    let ok = r#"{"url": "http://127.0.0.1:9/", "qps": 50}"#;
    let a = parse_run(ok.as_bytes(), &limits).unwrap();
    assert_eq!(a.cfg.load.shape.duration, Some(Duration::from_secs(5)));
    assert_eq!(a.cfg.load.shape.connections, 4);
    for (body, status, field) in [
        (r#"{"url": "http://127.0.0.2:9/", "qps": 5}"#, 403, "url"),
        (r#"{"url": "http://127.0.0.1:9/"}"#, 400, "qps"),
        (r#"{"url": "http://127.0.0.1:9/", "qps": 500}"#, 400, "qps"),
        (
            r#"{"url": "http://127.0.0.1:9/", "qps": 5, "duration": 9}"#,
            400,
            "duration",
        ),
        (
            r#"{"url": "http://127.0.0.1:9/", "qps": 5, "num_workers": 9}"#,
            400,
            "num_workers",
        ),
    ] {
        let r = parse_run(body.as_bytes(), &limits).err().unwrap();
        assert_eq!(
            (r.status, r.field.as_deref()),
            (status, Some(field)),
            "{body}: {r:?}"
        );
    }
}

#[test]
fn find_takes_the_search_options_and_its_caps() {
    let body = r#"{"url": "http://127.0.0.1:9/", "slo": "p99<50ms", "start": 10,
                   "max": 100, "step_duration": 0.5, "precision": "10%", "num_workers": 2}"#;
    let f = parse_find(body.as_bytes(), &Limits::default()).unwrap().cfg;
    assert_eq!((f.start, f.max, f.precision), (10.0, 100.0, 0.1));
    assert_eq!(f.step, Duration::from_millis(500));
    assert_eq!(f.run.load.shape.connections, 2);
    let limits = Limits {
        max_rate: Some(50.0),
        max_duration: Some(Duration::from_secs(4)),
        ..Limits::default()
    };
    // Unasked, max is lowered to --max-rate.
    let short = r#"{"url": "http://127.0.0.1:9/", "slo": "p99<50ms", "start": 20,
                    "step_duration": 0.25, "precision": 0.5}"#;
    let f = parse_find(short.as_bytes(), &limits).unwrap().cfg;
    assert_eq!(f.max, 50.0);
    for (body, field) in [
        (
            r#"{"url": "http://127.0.0.1:9/", "slo": "p99<50ms", "max": 80}"#,
            "max",
        ),
        (
            r#"{"url": "http://127.0.0.1:9/", "slo": "p99<50ms", "start": 1, "step_duration": 1}"#,
            "step_duration",
        ),
        (
            r#"{"url": "http://127.0.0.1:9/", "slo": "p99<50ms", "qps": 5}"#,
            "qps",
        ),
        (
            r#"{"url": "http://127.0.0.1:9/", "slo": "p99<50ms", "duration": 5}"#,
            "duration",
        ),
        (r#"{"url": "http://127.0.0.1:9/"}"#, "slo"),
        // Found by Schemathesis: the step count overflowed (a panic here,
        // a wrapped count and no cap in a release build).
        (
            r#"{"url": "http://127.0.0.1:9/", "slo": "p99<50ms", "start": 10, "max": 20, "precision": 5e-324}"#,
            "step_duration",
        ),
        // And a start rate that made it overflow, or panicked in the run.
        (
            r#"{"url": "http://127.0.0.1:9/", "slo": "p99<50ms", "start": 5e-324}"#,
            "start",
        ),
    ] {
        let r = parse_find(body.as_bytes(), &limits).err().unwrap();
        assert_eq!(r.field.as_deref(), Some(field), "{body}: {r:?}");
    }
    let r = refusal(r#"{"url": "http://127.0.0.1:9/", "max": 5}"#);
    assert_eq!(r.field.as_deref(), Some("max"));
}

#[test]
fn allow_names_what_each_path_takes() {
    assert_eq!(allow_of("/"), Some("GET"));
    assert_eq!(allow_of("/benchmark"), Some("POST"));
    assert_eq!(allow_of("/find/"), Some("POST"));
    assert_eq!(allow_of("/benchmarks"), Some("GET"));
    assert_eq!(
        allow_of("/benchmarks/20261130-090512-123"),
        Some("GET, DELETE")
    );
    assert_eq!(allow_of("/benchmarks/x/stats.csv"), Some("GET"));
    assert_eq!(allow_of("/benchmarks/x/y/z"), None);
    assert_eq!(allow_of("/nope"), None);
}

#[test]
fn wait_is_true_false_or_refused() {
    for q in ["wait", "wait=true", "wait=1", "a=b&wait=true"] {
        assert_eq!(wait_of(q), Ok(true), "{q}");
    }
    for q in ["", "wait=false", "wait=0", "waiting=true"] {
        assert_eq!(wait_of(q), Ok(false), "{q}");
    }
    for q in ["wait=null", "wait=", "wait=yes", "wait=true&wait=true"] {
        let r = wait_of(q).unwrap_err();
        assert_eq!((r.status, r.field.as_deref()), (400, Some("wait")), "{q}");
    }
}
