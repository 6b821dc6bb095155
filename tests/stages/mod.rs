//! Load stages (`--stages`, a scenario's `[[stage]]`) and stopping at the
//! breaking point (`--abort-on-slo`), against a Python server (`server.py`)
//! that notes when each request arrived, samples its open connections every
//! 250 ms and, in `degrade` mode, slows down and then fails as concurrency
//! rises: the server's own numbers are the truth blast's are held to.

use crate::support::python::PyServer;
use crate::support::{command, run, run_cmd, Scratch};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SERVER: &str = include_str!("server.py");

fn start(mode: &str) -> PyServer {
    let script = SERVER.replace("len(sys.argv) > 1 and sys.argv[1]", "MODE");
    PyServer::start(&format!("MODE = {mode:?}\n{script}"), [] as [&str; 0])
}

/// What the server saw: GET /__stats (not counted).
fn stats(port: u16) -> Value {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /__stats HTTP/1.0\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let body = out.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap()
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn blast_json(args: &[&str], limit: Duration) -> (i32, Value, String) {
    let r = run_cmd(command(args), limit);
    let v = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}\n{}", r.stdout, r.stderr));
    (r.code, v, r.stderr)
}

/// Open loop: 200/s for 10 s, a ramp to 600/s over 5 s, 600/s for 5 s.
/// Each second's arrivals at the server (counted from its first request,
/// which is due at the schedule's start) against the stages' area over
/// that second: within 2% in the flat stages, 5% in the ramp. The first
/// second is left out (its first request waits for a connect).
#[test]
fn open_loop_rate_follows_the_stages() {
    let srv = start("count");
    let url = format!("http://127.0.0.1:{}/", srv.port);
    let stages = "5s:200,5s:200,5s:600,5s:600";
    let (code, v, err) = blast_json(
        &[
            "--json", "-R", "200", "--stages", stages, "-c", "64", "-t", "2", &url,
        ],
        Duration::from_secs(45),
    );
    assert_eq!(code, 0, "{err}");
    let times: Vec<f64> = stats(srv.port)["times"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .collect();
    let t0 = times.iter().cloned().fold(f64::INFINITY, f64::min);
    let mut per_s = [0u64; 20];
    for t in &times {
        let k = (t - t0) as usize;
        if k < 20 {
            per_s[k] += 1;
        }
    }
    // The area under 200 for 10 s, then 200 -> 600 over 5 s, then 600.
    let want = |k: usize| -> f64 {
        match k {
            0..10 => 200.0,
            10..15 => 200.0 + 80.0 * (k as f64 - 10.0 + 0.5),
            _ => 600.0,
        }
    };
    let tol = |k: usize| if (10..15).contains(&k) { 0.05 } else { 0.02 };
    let within = |got: u64, w: f64, t: f64| (got as f64 - w).abs() <= w * t;
    let mut moved = 0;
    for (k, &got) in per_s.iter().enumerate().skip(1) {
        if within(got, want(k), tol(k)) {
            continue;
        }
        // A stall of the machine (the client or the server descheduled)
        // delivers requests late, across a second's boundary: then this
        // second and a neighbour together are on target. Not more than
        // twice in a run. Second 0 may be the neighbour: a stall while the
        // connections open sends its requests in second 1.
        let pair = |j: usize| {
            (0..20).contains(&j)
                && within(per_s[k] + per_s[j], want(k) + want(j), tol(k).max(tol(j)))
        };
        moved += 1;
        assert!(
            (pair(k - 1) || pair(k + 1)) && moved <= 2,
            "second {k}: the server got {got}, the stages say {} (±{}%): {per_s:?}",
            want(k),
            tol(k) * 100.0
        );
    }
    // 1000 + 1000 + 2000 + 3000, all answered; blast reports the shape.
    let total = times.len() as u64;
    let not_sent = v["not_sent_at_end"].as_u64().unwrap();
    assert!(
        (6990..=7000).contains(&(total + not_sent)),
        "{total}: {per_s:?}"
    );
    assert_eq!(
        v["requests"].as_u64().unwrap() + v["in_flight_at_end"].as_u64().unwrap(),
        total
    );
    assert_eq!(v["config"]["stages"][2]["target"], 600.0);
    assert_eq!(v["config"]["stages"][2]["duration_s"], 5.0);
    let tl = v["timeline"].as_array().unwrap();
    assert_eq!(tl[3]["target"], 200.0);
    assert_eq!(tl[12]["target"], 400.0);
    assert_eq!(tl[17]["target"], 600.0);
}

/// Closed loop: the users (open connections) follow the targets: a ramp to
/// 4 over 2 s, 4, a jump to 8, 8, a drop to 2, 2. Every server sample in
/// the middle of a flat stage (0.6 s after it begins to 0.1 s before it
/// ends, from when blast was started) is the target, ±1 (a sample may fall
/// between a close and the server's noticing it), and most are exact.
#[test]
fn closed_loop_connections_follow_the_users() {
    let srv = start("count");
    let url = format!("http://127.0.0.1:{}/", srv.port);
    let t0 = now_s();
    let (code, v, err) = blast_json(
        &[
            "--json",
            "--stages",
            "2s:4,2s:4,0s:8,2s:8,0s:2,2s:2",
            "-t",
            "1",
            &url,
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        v["config"]["connections"], 8,
        "-c defaults to the most users"
    );
    let samples = stats(srv.port)["samples"].as_array().unwrap().clone();
    for (from, to, users) in [(2.6, 3.9, 4), (4.6, 5.9, 8), (6.6, 7.9, 2)] {
        let seen: Vec<i64> = samples
            .iter()
            .filter(|s| (from..to).contains(&(s[0].as_f64().unwrap() - t0)))
            .map(|s| s[1].as_i64().unwrap())
            .collect();
        assert!(seen.len() >= 4, "{seen:?}");
        let exact = seen.iter().filter(|&&n| n == users).count();
        assert!(
            seen.iter().all(|n| (n - users).abs() <= 1) && exact * 2 > seen.len(),
            "{from}..{to} s: the server saw {seen:?} open, the stage has {users} users"
        );
    }
    let tl = v["timeline"].as_array().unwrap();
    assert_eq!(
        tl[1]["target"], 3.0,
        "the ramp's mean over its second second"
    );
    assert_eq!(tl[5]["target"], 8.0);
}

/// The breaking-point run: users stepped up every 2 s against a server
/// whose latency and errors rise with concurrency (500s past 12 at once):
/// at 16 users it fails, and `--abort-on-slo 2s` stops the run within
/// GRACE + 1 s of the first failing second, exit 1, saying where it broke.
/// The server's count of requests is blast's, plus what was in flight.
/// The p99 bound is 250 ms, not 40: on a loaded 2-core box the Python
/// server stalls past 100 ms now and then, and the test is about errors.
#[test]
fn abort_on_slo_stops_at_the_breaking_point() {
    let srv = start("degrade");
    let url = format!("http://127.0.0.1:{}/", srv.port);
    let (code, v, err) = blast_json(
        &[
            "--json",
            "--stages",
            "0s:2,2s:2,0s:4,2s:4,0s:8,2s:8,0s:16,4s:16,0s:32,4s:32",
            "--slo",
            "p99<250ms,errors<1%",
            "--abort-on-slo",
            "2s",
            "-t",
            "1",
            &url,
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, 1, "{err}");
    let a = &v["aborted"];
    // The first second that failed a condition, from blast's own timeline.
    let tl = v["timeline"].as_array().unwrap();
    let mut start = 0.0;
    let mut first_failing = None;
    for p in tl {
        let (req, errs) = (
            p["requests"].as_f64().unwrap(),
            p["errors"].as_f64().unwrap(),
        );
        if p["p99_us"].as_u64().unwrap() >= 250_000 || errs * 100.0 > req.max(1.0) {
            first_failing = Some(start);
            break;
        }
        start = p["t_s"].as_f64().unwrap();
    }
    let first = first_failing.unwrap_or_else(|| panic!("no failing second: {tl:?}"));
    assert_eq!(a["at_s"].as_f64().unwrap(), first, "{a}");
    assert!(
        first >= 4.0,
        "8 users (16 ms each) pass: it broke at {first} s: {a}"
    );
    let d = v["duration_s"].as_f64().unwrap();
    assert!(
        d <= first + 2.0 + 1.0,
        "stopped at {d} s, first failing second {first}"
    );
    assert_eq!(a["users"], 16, "{a}");
    assert_eq!(a["stage"]["index"], 8, "{a}");
    assert_eq!(a["stage"]["target"], 16.0, "{a}");
    assert_eq!(a["condition"], "errors<1%", "{a}");
    assert!(a["value"].as_f64().unwrap() > 1.0, "{a}");
    assert!(a["rate"].as_f64().unwrap() > 0.0, "{a}");
    let srv_requests = stats(srv.port)["requests"].as_u64().unwrap();
    let transport = v["errors"]["connect"].as_u64().unwrap()
        + v["errors"]["read"].as_u64().unwrap()
        + v["errors"]["write"].as_u64().unwrap()
        + v["errors"]["timeout"].as_u64().unwrap();
    assert_eq!(
        srv_requests,
        v["requests"].as_u64().unwrap() + transport + v["in_flight_at_end"].as_u64().unwrap(),
        "{v}"
    );
}

/// Bad input: exit 2, one line naming the flag (or the file, line and
/// field), before anything is sent.
#[test]
fn bad_stage_input_is_exit_2_naming_the_flag() {
    let dir = Scratch::new("stages-bad");
    let no_target = dir.write(
        "s.toml",
        "[[request]]\npath = \"/\"\n\n[[stage]]\nduration = \"10s\"\ntarget = 5\n\n[[stage]]\nduration = \"5s\"\n",
    );
    let url = "http://127.0.0.1:9/";
    for (args, needle) in [
        (
            vec!["--stages", "30x:100", url],
            "--stages: \"30x:100\": bad duration",
        ),
        (vec!["--stages", "", url], "--stages: empty"),
        (
            vec!["-d", "10s", "--stages", "5s:10", url],
            "-d: not with --stages",
        ),
        (
            vec!["-n", "100", "--stages", "5s:10", url],
            "-n: not with --stages",
        ),
        (
            vec!["-c", "4", "--stages", "5s:10", url],
            "-c 4: below the 10 users",
        ),
        (vec!["--stages", "5s:0", url], "every target is 0"),
        (
            vec!["--abort-on-slo", "--stages", "5s:10", url],
            "--abort-on-slo: needs --slo",
        ),
        (
            vec!["--slo", "p99<1s", "--abort-on-slo", "bad", url],
            "--abort-on-slo",
        ),
        (
            vec!["--slo", "p99<1s", "--abort-on-slo", "0s", url],
            "1s or more",
        ),
        (
            vec!["--scenario", &no_target, url],
            "line 8: missing field `target`",
        ),
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
        assert!(
            lines.len() == 1 || needle == "--abort-on-slo",
            "{args:?}: one line: {}",
            r.stderr
        );
    }
}

/// A scenario's `[[stage]]`s shape the run as `--stages` does: the run
/// lasts their sum, and `-c` defaults to their most users.
#[test]
fn scenario_stages_shape_the_run() {
    let srv = start("count");
    let dir = Scratch::new("stages-scenario");
    let file = dir.write(
        "s.toml",
        "[[request]]\npath = \"/\"\n\n[[stage]]\nduration = \"0s\"\ntarget = 3\n\n[[stage]]\nduration = \"2s\"\ntarget = 3\n",
    );
    let url = format!("http://127.0.0.1:{}", srv.port);
    let (code, v, err) = blast_json(
        &["--json", "--scenario", &file, "-t", "1", &url],
        Duration::from_secs(20),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["config"]["connections"], 3);
    assert_eq!(v["config"]["stages"][1]["duration_s"], 2.0);
    let d = v["duration_s"].as_f64().unwrap();
    assert!((1.9..2.5).contains(&d), "{d}");
    let served = stats(srv.port)["requests"].as_u64().unwrap();
    assert_eq!(
        served,
        v["requests"].as_u64().unwrap() + v["in_flight_at_end"].as_u64().unwrap()
    );
}
