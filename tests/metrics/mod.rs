//! Issue 20's live metrics against a real Prometheus (Debian's package,
//! started by each test with a config it writes, `prom`): what Prometheus
//! scraped from `blast --metrics-listen` and `blast serve`'s `/metrics`, or
//! received by remote write, compared with blast's own JSON report; the
//! endpoint's output through `promtool check metrics`; the Grafana
//! dashboard's PromQL against the names the endpoint exposes; and the
//! listener's and the pusher's refusals and failures.

mod prom;

use crate::support::nginx::free_port;
use crate::support::{command, run, run_cmd, wait_until, Run, Scratch, TargetProcess};
use prom::{get, have_prometheus, Prometheus, PROMTOOL};
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::{Duration, Instant};

/// The histograms' bucket bounds, seconds (docs/metrics.md states them).
const BOUNDS: [f64; 19] = [
    0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
    10.0, 20.0, 50.0, 60.0,
];

/// Two names, one failing its check: requests and errors per name.
const SCENARIO: &str = "[[request]]\nname = \"ok\"\npath = \"/\"\n\n\
    [[request]]\nname = \"bad\"\npath = \"/b\"\nchecks = [\"body contains nope\"]\n";

fn free_addr() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(Ipv4Addr::LOCALHOST)))
}

/// The bucket a value (seconds) falls in: the first bound at or above it.
fn bucket(v: f64) -> usize {
    BOUNDS
        .iter()
        .position(|&le| v <= le + 1e-12)
        .unwrap_or(BOUNDS.len())
}

fn u(v: &Value, path: &str) -> u64 {
    crate::u(v, path)
}

/// The report's numbers against what Prometheus holds of run `id` (the
/// last value of each series: a scrape after the end marks them stale).
fn compare(p: &Prometheus, id: &str, j: &Value, exact: bool) {
    let sel = format!("{{id=\"{id}\"}}");
    let last = |m: &str| format!("sum(max_over_time({m}{sel}[10m]))");
    let scraped = p
        .scalar(&last("blast_requests_total"))
        .expect("requests scraped");
    let requests = u(j, "requests") as f64;
    if exact {
        assert_eq!(scraped, requests, "{j}");
    } else {
        // Without linger the last scrape can miss the last second.
        let per_s = requests / j["duration_s"].as_f64().unwrap();
        assert!(
            scraped <= requests && requests - scraped <= per_s * 1.5 + 1.0,
            "scraped {scraped} of {requests} ({per_s}/s)"
        );
    }
    if exact {
        for kind in [
            "connect", "read", "write", "timeout", "status", "parse", "tls", "check",
        ] {
            let q = format!(
                "sum(max_over_time(blast_errors_total{{id=\"{id}\",kind=\"{kind}\"}}[10m]))"
            );
            assert_eq!(
                p.scalar(&q),
                Some(u(j, &format!("errors.{kind}")) as f64),
                "{kind}: {j}"
            );
        }
        let q = format!(
            "histogram_quantile(0.99, sum by (le) \
             (max_over_time(blast_request_duration_seconds_bucket{sel}[10m])))"
        );
        let est = p.scalar(&q).expect("quantile");
        let p99 = j["latency_us"]["p99"].as_f64().unwrap() / 1e6;
        let (a, b) = (bucket(est), bucket(p99));
        assert!(
            a.abs_diff(b) <= 1,
            "histogram_quantile {est}s, report p99 {p99}s"
        );
    }
}

/// The run id blast printed on stderr.
fn run_id(r: &Run) -> String {
    let at = r
        .stderr
        .find("(run ")
        .unwrap_or_else(|| panic!("{}", r.stderr));
    r.stderr[at + 5..].split(')').next().unwrap().to_string()
}

#[test]
fn prometheus_scrapes_a_cli_run() {
    if !have_prometheus() {
        return;
    }
    let target = TargetProcess::start(&[]);
    let dir = Scratch::new("metrics-cli");
    let scenario = dir.write("s.toml", SCENARIO);
    let listen = free_addr();
    let p = Prometheus::start(Some(listen), None, false);
    let l = listen.to_string();
    let mut runs = Vec::new();
    for linger in [None, Some("3s")] {
        let mut args = vec!["-c", "4", "-t", "1", "-d", "10s", "--json", "--quiet"];
        args.extend(["--scenario", &scenario, "--metrics-listen", &l]);
        if let Some(d) = linger {
            args.extend(["--metrics-linger", d]);
        }
        args.push(&target.url);
        let r = run_cmd(command(&args), Duration::from_secs(40));
        assert_eq!(r.code, 0, "{}", r.stderr);
        runs.push((run_id(&r), r.json(), linger.is_some()));
    }
    // The last scrapes land within a second.
    std::thread::sleep(Duration::from_millis(1500));
    for (id, j, exact) in &runs {
        compare(&p, id, j, *exact);
        let info = p.query(&format!(
            "max_over_time(blast_run_info{{id=\"{id}\"}}[10m])"
        ));
        assert_eq!(info.len(), 1, "{info:?}");
        assert!(u(j, "errors.check") > 0, "the scenario fails a check: {j}");
    }
}

#[test]
fn prometheus_scrapes_blast_serve() {
    if !have_prometheus() {
        return;
    }
    let target = TargetProcess::start(&[]);
    let dir = Scratch::new("metrics-serve");
    let mut cmd = crate::support::serve::serve_cmd(&dir, &["--token", "s3cret"]);
    cmd.stderr(std::process::Stdio::null());
    let served = crate::support::serve::Served::spawn(cmd);
    let p = Prometheus::start(Some(served.addr), Some("s3cret"), false);
    let body = format!(
        r#"{{"url": "{}", "duration": "5s", "connections": 4}}"#,
        target.url
    );
    let auth = "Authorization: Bearer s3cret";
    let reply = crate::support::serve::call(
        served.addr,
        "POST",
        "/benchmark?wait=true",
        &[auth, "Content-Type: application/json"],
        &body,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let j = reply.json();
    let id = j["id"].as_str().unwrap().to_string();
    // The finished run keeps its final values: wait for a scrape of them.
    let want = u(&j, "requests") as f64;
    let q = format!("sum(max_over_time(blast_requests_total{{id=\"{id}\"}}[10m]))");
    wait_until(Duration::from_secs(10), "the final values scraped", || {
        p.scalar(&q) == Some(want)
    });
    let samples = p.scalar(&format!(
        "count_over_time(blast_bytes_read_total{{id=\"{id}\"}}[10m])"
    ));
    assert!(
        samples.unwrap() >= 4.0,
        "scraped during the run: {samples:?}"
    );
    // errors_by_kind is the JSON report's errors object in a served result.
    let mut doc = j.clone();
    doc["errors"] = j["errors_by_kind"].clone();
    compare(&p, &id, &doc, true);
    drop(served);
}

#[test]
fn remote_write_reaches_prometheus_every_second() {
    if !have_prometheus() {
        return;
    }
    let target = TargetProcess::start(&[]);
    let p = Prometheus::start(None, None, true);
    let url = format!("http://{}/api/v1/write", p.addr);
    let r = run(&[
        "-c",
        "2",
        "-t",
        "1",
        "-d",
        "5s",
        "--json",
        "--quiet",
        "--prometheus-remote-write",
        &url,
        "--prometheus-header",
        "X-Scope-OrgID: blast",
        &target.url,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert!(j.get("warnings").is_none(), "{j}");
    // Every series, with its samples (a range vector: a matrix).
    let series = p.query("{__name__=~\"blast_.+\"}[10m]");
    assert!(series.len() > 20, "{series:?}");
    for s in &series {
        let n = s["values"].as_array().map_or(0, Vec::len);
        assert!(n >= 5, "{n} samples of {}", s["metric"]);
    }
    let last = p.scalar("sum(last_over_time(blast_requests_total[10m]))");
    assert_eq!(last, Some(u(&j, "requests") as f64), "{j}");
}

/// Run blast for `secs` with `flags` and `--metrics-listen`, and return
/// the exposition scraped after its end (during its linger).
fn scrape_after(flags: &[&str], url: &str, headers: &[&str]) -> String {
    let listen = free_addr();
    let l = listen.to_string();
    let mut args = vec!["-t", "1", "-d", "2s", "--quiet", "--metrics-listen", &l];
    args.extend_from_slice(flags);
    args.extend(["--metrics-linger", "5s", url]);
    let cmd = command(&args);
    let runner = std::thread::spawn(move || run_cmd(cmd, Duration::from_secs(30)));
    std::thread::sleep(Duration::from_millis(2800));
    let (status, text) = get(listen, "/metrics", headers).expect("scrape");
    assert_eq!(status, 200, "{text}");
    let r = runner.join().unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    text
}

#[test]
fn promtool_passes_the_endpoint_and_the_dashboard_names_exposed_series() {
    if !have_prometheus() {
        return;
    }
    let target = TargetProcess::start(&["--stream", "4"]);
    let text = scrape_after(&["-c", "2", "-R", "200"], &target.url, &[]);
    let dir = Scratch::new("metrics-promtool");
    let file = dir.write("metrics.txt", &text);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{PROMTOOL} check metrics < {file}"))
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}\n{text}"
    );
    // Every series name the endpoint exposes (samples, not comments).
    let exposed: BTreeSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    for must in [
        "blast_ttft_seconds_bucket",
        "blast_output_tokens_total",
        "blast_target_rate",
    ] {
        assert!(exposed.contains(must), "{must} missing: {exposed:?}");
    }
    let dash = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/grafana/blast.json"
    ))
    .unwrap();
    let dash: Value = serde_json::from_str(&dash).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    collect_exprs(&dash, &mut exprs);
    assert!(exprs.len() >= 7, "{exprs:?}");
    let name = regex::Regex::new(r"\bblast_[a-z_]+").unwrap();
    for e in &exprs {
        for m in name.find_iter(e) {
            assert!(
                exposed.contains(m.as_str()),
                "{} in {e} is not exposed",
                m.as_str()
            );
        }
    }
    let vars = dash["templating"]["list"].as_array().unwrap();
    assert!(vars.iter().any(|v| v["name"] == "run"), "a run variable");
}

/// Every `expr` and templating `query` string in a Grafana dashboard.
fn collect_exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("expr", Value::String(s)) => out.push(s.clone()),
                    ("query", Value::String(s)) if s.contains("blast_") => out.push(s.clone()),
                    ("definition", Value::String(s)) if s.contains("blast_") => out.push(s.clone()),
                    _ => collect_exprs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_exprs(x, out)),
        _ => {}
    }
}

#[test]
fn beyond_loopback_needs_a_token_and_a_scrape_needs_it() {
    let r = run(&[
        "--metrics-listen",
        "0.0.0.0:9100",
        "-d",
        "1s",
        "http://127.0.0.1:1/",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("--metrics-listen 0.0.0.0:9100"),
        "{}",
        r.stderr
    );
    for bad in [
        vec!["--prometheus-remote-write", "https://127.0.0.1:1/w"],
        vec![
            "--prometheus-remote-write",
            "http://127.0.0.1:1/w",
            "--prometheus-header",
            "nocolon",
        ],
        vec!["--metrics-linger", "3s"],
    ] {
        let mut args = bad.clone();
        args.extend(["-d", "1s", "http://127.0.0.1:1/"]);
        let r = run(&args);
        assert_eq!(r.code, 2, "{bad:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
    let target = crate::support::local_target();
    let url = format!("http://{}/", target.addr());
    let listen = free_addr();
    let l = listen.to_string();
    let cmd = command(&[
        "-c",
        "1",
        "-d",
        "3s",
        "--quiet",
        "--metrics-listen",
        &l,
        "--metrics-token",
        "tok",
        &url,
    ]);
    let runner = std::thread::spawn(move || run_cmd(cmd, Duration::from_secs(30)));
    let mut open = None;
    wait_until(Duration::from_secs(10), "the listener", || {
        open = get(listen, "/metrics", &[]);
        open.is_some()
    });
    let (status, _) = open.unwrap();
    assert_eq!(status, 401);
    let wrong = get(listen, "/metrics", &["Authorization: Bearer nope"]).unwrap();
    assert_eq!(wrong.0, 401);
    let (status, body) = get(listen, "/metrics", &["Authorization: Bearer tok"]).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("blast_run_info{"), "{body}");
    assert_eq!(
        get(listen, "/other", &["Authorization: Bearer tok"])
            .unwrap()
            .0,
        404
    );
    let om = get(
        listen,
        "/metrics",
        &[
            "Authorization: Bearer tok",
            "Accept: application/openmetrics-text; version=1.0.0",
        ],
    )
    .unwrap();
    assert!(om.1.ends_with("# EOF\n"), "{}", om.1);
    assert_eq!(runner.join().unwrap().code, 0);
}

#[test]
fn a_refusing_or_hanging_receiver_is_a_warning_not_a_failure() {
    let target = crate::support::local_target();
    let url = format!("http://{}/", target.addr());
    // Nothing listens on a port just freed; a listener never accepted
    // from hangs (the kernel completes the handshake, nobody answers).
    let refused = format!("http://{}/api/v1/write", free_addr());
    let hang = TcpListener::bind("127.0.0.1:0").unwrap();
    let hanging = format!("http://{}/api/v1/write", hang.local_addr().unwrap());
    for to in [&refused, &hanging] {
        let start = Instant::now();
        let r = run(&[
            "-c",
            "1",
            "-d",
            "2s",
            "--json",
            "--quiet",
            "--prometheus-remote-write",
            to,
            &url,
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let j = r.json();
        let w = j["warnings"][0].as_str().unwrap_or_else(|| panic!("{j}"));
        assert!(
            w.contains("pushes failed") && w.contains(to.as_str()),
            "{w}"
        );
        assert!(
            r.stderr.contains("warning: --prometheus-remote-write"),
            "{}",
            r.stderr
        );
        assert!(u(&j, "requests") > 0);
        // The run's 2 s, then at most one bounded final push.
        assert!(
            start.elapsed() < Duration::from_secs(9),
            "{:?}",
            start.elapsed()
        );
        let text = run(&["-c", "1", "-d", "1s", "--prometheus-remote-write", to, &url]);
        assert!(
            text.stdout.contains("Warning: --prometheus-remote-write"),
            "{}",
            text.stdout
        );
    }
    drop(hang);
}
