//! HdrHistogram interval logs and merging several load boxes.

use crate::support::{self, run, Scratch, TargetProcess};
use crate::{ok_server, u};
use std::time::{Duration, Instant};

#[test]
fn hlog_is_readable_with_the_hdrhistogram_crate() {
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    let s = ok_server();
    let dir = Scratch::new("hlog-it");
    let log = dir.join("run.hlog");
    let r = run(&[
        "-c",
        "2",
        "-t",
        "1",
        "-d",
        "2500ms",
        "--json",
        "--hlog",
        log.to_str().unwrap(),
        &s.url(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let text = std::fs::read(&log).unwrap();
    let (mut start, mut total, mut intervals) = (None, 0u64, 0);
    let mut merged = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
    let mut de = hdrhistogram::serialization::Deserializer::new();
    use base64::Engine as _;
    for e in IntervalLogIterator::new(&text) {
        match e.expect("a valid interval log") {
            LogEntry::StartTime(t) => start = Some(t),
            LogEntry::BaseTime(_) => {}
            LogEntry::Interval(h) => {
                intervals += 1;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(h.encoded_histogram())
                    .unwrap();
                let hist: hdrhistogram::Histogram<u64> =
                    de.deserialize(&mut std::io::Cursor::new(bytes)).unwrap();
                total += hist.len();
                merged.add(&hist).unwrap();
            }
        }
    }
    assert!(start.is_some(), "StartTime header");
    assert_eq!(
        intervals, 3,
        "one histogram per second (the last one partial)"
    );
    assert_eq!(total, u(&j, "requests"), "every response is in the log");
    assert_eq!(merged.value_at_quantile(0.99), u(&j, "latency_us.p99"));
    assert_eq!(merged.max(), u(&j, "latency_us.max"));
}

/// Network namespaces this test made, removed when it ends.
struct Netns(Vec<String>);

impl Drop for Netns {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", ns])
                .status();
        }
    }
}

fn ip(args: &[&str]) -> bool {
    std::process::Command::new("ip")
        .args(args)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn merge_of_three_boxes_in_network_namespaces_is_exact() {
    // Three load boxes, each in its own network namespace, against one
    // target in a fourth; every address belongs to namespaces made here.
    let tag = std::process::id() % 100_000;
    let server_ns = format!("bt{tag}s");
    if !support::have(
        "netns",
        ip(&["netns", "add", &server_ns]),
        "cannot create network namespaces here: needs root and iproute2",
    ) {
        return;
    }
    let mut guard = Netns(vec![server_ns.clone()]);
    assert!(ip(&["-n", &server_ns, "link", "set", "lo", "up"]));
    let mut urls = Vec::new();
    for i in 1..=3 {
        let ns = format!("bt{tag}c{i}");
        assert!(ip(&["netns", "add", &ns]));
        guard.0.push(ns.clone());
        let (a, b) = (format!("bv{tag}a{i}"), format!("bv{tag}b{i}"));
        assert!(ip(&[
            "link", "add", &a, "netns", &server_ns, "type", "veth", "peer", "name", &b, "netns",
            &ns
        ]));
        let (sa, ca) = (format!("10.213.{i}.1/30"), format!("10.213.{i}.2/30"));
        assert!(ip(&["-n", &server_ns, "addr", "add", &sa, "dev", &a]));
        assert!(ip(&["-n", &server_ns, "link", "set", &a, "up"]));
        assert!(ip(&["-n", &ns, "addr", "add", &ca, "dev", &b]));
        assert!(ip(&["-n", &ns, "link", "set", &b, "up"]));
        assert!(ip(&["-n", &ns, "link", "set", "lo", "up"]));
        urls.push((ns, format!("http://10.213.{i}.1:8080/")));
    }
    // The target, in its namespace (ip netns exec runs blast itself: its pid is ours to end).
    let mut cmd = std::process::Command::new("ip");
    cmd.args([
        "netns",
        "exec",
        &server_ns,
        support::bin(),
        "target",
        "--listen",
        "0.0.0.0:8080",
    ])
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let target = TargetProcess::spawn(cmd);

    let dir = Scratch::new("merge");
    let start_at = (std::time::SystemTime::now() + Duration::from_millis(1500))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        .to_string();
    let children: Vec<_> = urls
        .iter()
        .enumerate()
        .map(|(i, (ns, url))| {
            let log = dir
                .join(format!("box{i}.hlog"))
                .to_str()
                .unwrap()
                .to_string();
            let mut cmd = std::process::Command::new("ip");
            cmd.args([
                "netns",
                "exec",
                ns,
                support::bin(),
                "-n",
                "3000",
                "-c",
                "4",
                "-t",
                "1",
            ])
            .args(["--start-at", &start_at, "--hlog", &log, "--json", url])
            // Every box checks each response's size; box 0 alone also
            // asks for a text the target never sends, failing its 3000.
            .args(["--check", "size > 0"])
            .args(if i == 0 {
                &["--check", "body contains zzz"][..]
            } else {
                &[]
            })
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
            (cmd.spawn().unwrap(), log)
        })
        .collect();
    let boxes: Vec<_> = children
        .into_iter()
        .map(|(child, log)| {
            (
                support::wait_child(child, Instant::now(), Duration::from_secs(30)),
                log,
            )
        })
        .collect();
    let mut logs = Vec::new();
    let mut sum = 0;
    let mut starts = Vec::new();
    for (r, log) in &boxes {
        assert_eq!(r.code, 0, "{}", r.stderr);
        sum += u(&r.json(), "requests");
        let head = std::fs::read_to_string(log).unwrap();
        let t: f64 = head
            .lines()
            .find_map(|l| l.strip_prefix("#[StartTime: "))
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        starts.push(t);
        logs.push(log.as_str());
    }
    let served = target.served();

    let mut args = vec!["merge", "--json"];
    args.extend(logs.iter().copied());
    let m = run(&args);
    assert_eq!(m.code, 0, "{}", m.stderr);
    let j = m.json();
    assert_eq!(sum, 9000);
    assert_eq!(
        u(&j, "requests"),
        sum,
        "merged total is the sum of the boxes"
    );
    assert_eq!(served, sum, "and what the target served");
    assert_eq!(u(&j, "status_codes.200"), 9000);
    assert_eq!(u(&j, "config.connections"), 12);
    // Check failures merge exactly: box 0's 3000, by kind, by detail and
    // per check; the check every box ran sums its passes.
    assert_eq!(u(&j, "errors.check"), 3000, "{j}");
    let details = j["error_details"].as_array().unwrap();
    assert!(
        details.iter().any(|d| d["kind"] == "check"
            && d["cause"] == "body contains zzz"
            && d["count"] == 3000),
        "{j}"
    );
    let checks: Vec<(String, u64, u64)> = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_string(),
                u(c, "passes"),
                u(c, "fails"),
            )
        })
        .collect();
    let want = [("size > 0", 9000, 0), ("body contains zzz", 0, 3000)];
    assert_eq!(checks.len(), 2, "{checks:?}");
    for (check, passes, fails) in want {
        assert!(
            checks.contains(&(check.to_string(), passes, fails)),
            "{check}: {checks:?}"
        );
    }
    let spread = starts.iter().cloned().fold(f64::MIN, f64::max)
        - starts.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread < 0.1, "--start-at lined the boxes up to {spread} s");
}
