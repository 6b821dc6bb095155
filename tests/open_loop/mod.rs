//! Open loop (-R) without coordinated omission, SLOs, ramp-up and `blast find`.

use crate::support::{
    self, command_line, delay_server, run_cmd, run_line, wait_until, Behavior, Server,
};
use crate::{ok_server, u};
use serde_json::Value;
use std::time::{Duration, Instant};

fn f(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for k in path.split('.') {
        cur = &cur[k];
    }
    cur.as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number in {v}"))
}

#[test]
fn rate_is_exact_against_target() {
    let t = blast::target::start(blast::target::TargetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    })
    .unwrap();
    let url = format!("http://{}/", t.addr());
    let r = run_line("-R 2000 -d 5s -c 16 -t 2 --json", &url);
    let served = t.requests();
    t.stop();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let rps = f(&j, "rps");
    assert!((1960.0..=2040.0).contains(&rps), "achieved {rps} req/s");
    assert!((9800..=10200).contains(&served), "target served {served}");
    assert_eq!(f(&j, "offered_rps"), 2000.0);
    assert_eq!(f(&j, "config.rate"), 2000.0);
    // On a 2-core machine running the whole suite, a starved worker may miss
    // the last few due times; they must be reported, and few.
    assert!(u(&j, "not_sent_at_end") <= 50, "{j}");
    assert!(j["service_time_us"]["p50"].is_u64());
}

#[test]
fn low_rate_run_ends_on_time() {
    // At 2 req/s a connection waits 500 ms for its next due time; the run
    // must still end when its time is up, not when that wait does.
    let s = ok_server();
    let r = run_line("-R 2 -c 2 -t 1 -d 1200ms --json", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(u(&r.json(), "requests"), 3);
    // Without the early end, the 200 ms stop grace would be spent waiting.
    assert!(r.elapsed < Duration::from_millis(1390), "{:?}", r.elapsed);
}

#[test]
fn rate_below_thread_count_is_exact() {
    // wrk2 runs away when -R is below -t; blast interleaves the threads.
    let s = ok_server();
    let r = run_line("-R 3 -t 4 -c 4 -d 2s --json", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Due at 0, 1/3, 2/3, ... 5/3 s: six requests in 2 s.
    assert_eq!(s.requests(), 6);
    assert_eq!(u(&r.json(), "requests"), 6);
}

#[test]
fn coordinated_omission_is_not_hidden() {
    // The server stalls 1 s at the start of every 2 s.
    let stall = || Behavior::Stall {
        origin: Instant::now(),
        period: Duration::from_secs(2),
        stall: Duration::from_secs(1),
    };
    let open = Server::start(stall());
    let closed = Server::start(stall());
    let (o, c) = std::thread::scope(|sc| {
        let o = sc.spawn(|| run_line("-R 200 -c 50 -t 1 -d 6s --json", &open.url()));
        let c = sc.spawn(|| run_line("-c 4 -t 1 -d 6s --json", &closed.url()));
        (o.join().unwrap(), c.join().unwrap())
    });
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(c.code, 0, "{}", c.stderr);
    let (o, c) = (o.json(), c.json());
    // Open loop: requests due during a stall wait for it, and that wait is latency.
    assert!(
        u(&o, "latency_us.p99") >= 500_000,
        "open-loop p99 {}",
        o["latency_us"]
    );
    assert!(
        u(&o, "latency_us.p50") > u(&o, "service_time_us.p50"),
        "{}",
        o
    );
    // Closed loop: each connection waits out the stall once per stall, so
    // the stall shows only in the maximum.
    assert!(
        u(&c, "latency_us.max") >= 500_000,
        "closed max {}",
        c["latency_us"]
    );
    assert!(
        u(&c, "latency_us.p99") < 100_000,
        "closed p99 {}",
        c["latency_us"]
    );
}

#[test]
fn rate_shortfall_is_warned() {
    // 2 connections, 50 ms each: at most 40 req/s; 200 are offered.
    let s = delay_server(50);
    let r = run_line("-R 200 -c 2 -t 1 -d 1s", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("  Offered rate: 200.00 req/s, achieved "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("of the offered requests were never sent: increase -c"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("  Not sent at end: "), "{}", r.stdout);
}

#[test]
fn ramp_up_shows_in_timeline() {
    let s = ok_server();
    let r = run_line("-R 1000 --ramp-up 2s -d 3s -c 8 -t 1 --json", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let tl: Vec<f64> = j["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rps"].as_f64().unwrap())
        .collect();
    // Linear 0 -> 1000 over 2 s, then 1000: 250, 750, 1000 per second.
    assert!(tl.len() >= 3, "{tl:?}");
    for (got, want) in tl.iter().zip([250.0, 750.0, 1000.0]) {
        assert!((got - want).abs() <= want * 0.05 + 5.0, "timeline {tl:?}");
    }
    assert_eq!(s.requests(), 2000);
}

#[test]
fn closed_loop_ramp_opens_connections_gradually() {
    let s = delay_server(10);
    // Before the spawn, so blast's own start (and its ramp) comes after it.
    let start = Instant::now();
    let child = command_line("-c 4 -t 1 --ramp-up 1s -d 1500ms", &s.url())
        .spawn()
        .unwrap();
    // When the server had each connection, polled: a 1 s ramp opens the
    // four 250 ms apart from blast's start. A busy box only makes a poll
    // late, so the checks are bounds that lateness cannot break.
    let mut opened = Vec::new();
    wait_until(Duration::from_secs(10), "4 connections", || {
        let n = s.connections() as usize;
        while opened.len() < n {
            opened.push(Instant::now());
        }
        n >= 4
    });
    let r = support::wait_child(child, start, Duration::from_secs(10));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        opened[3] > opened[0],
        "all 4 connections at once: {opened:?}"
    );
    assert!(
        opened[3] - start >= Duration::from_millis(750),
        "the last connection {:?} after the spawn, before its ramp slot",
        opened[3] - start
    );
    assert_eq!(s.connections(), 4);
}

#[test]
fn slo_pass_and_fail_exit_codes() {
    let s = delay_server(20);
    let r = run_line("-c 2 -t 1 -d 1s --slo p99<500ms,errors<1%", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("SLO:\n"), "{}", r.stdout);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("p99<500ms") && l.ends_with("PASS")),
        "{}",
        r.stdout
    );

    let r = run_line("-c 2 -t 1 -d 1s --slo p99<5ms,errors<1% --json", &s.url());
    assert_eq!(r.code, 1, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["slo_pass"], false);
    let failed: Vec<&str> = j["slo"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["pass"] == false)
        .map(|v| v["condition"].as_str().unwrap())
        .collect();
    assert_eq!(failed, vec!["p99<5ms"]);
    assert!(f(&j["slo"][0], "measured") >= 20_000.0);

    let r = run_line("-d 1s --slo p99<fast", &s.url());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("'p99<fast'"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1);
}

#[test]
fn find_reports_the_known_capacity() {
    // One request at a time, 5 ms each: capacity 200 req/s.
    let s = Server::start(Behavior::Capacity {
        per_request: Duration::from_millis(5),
        lock: Default::default(),
    });
    let start = Instant::now();
    let r = run_cmd(
        command_line(
            "find --slo p99<50ms --start 50 --step-duration 1s -c 32 -t 1 --json",
            &s.url(),
        ),
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(start.elapsed() < Duration::from_secs(60));
    let j = r.json();
    let max = f(&j, "max_sustainable_rps");
    assert!(
        (170.0..=230.0).contains(&max),
        "found {max} req/s for a capacity of 200: {j}"
    );
    let steps = j["steps"].as_array().unwrap();
    assert!(steps.len() >= 4, "{j}");
    assert!(steps.iter().any(|s| s["pass"] == false));
    // Same connection pool for every step.
    assert!(s.connections() <= 32, "{} connections", s.connections());
}

#[test]
fn find_text_and_first_step_failure() {
    let s = delay_server(30);
    let r = run_line(
        "find --slo p99<10ms --start 20 --step-duration 500ms -c 4",
        &s.url(),
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("fail: p99<10ms"), "{}", r.stdout);
    assert!(
        r.stdout.contains("Maximum sustainable throughput: none"),
        "{}",
        r.stdout
    );

    let r = run_line("find -R 10 --slo p99<10ms", &s.url());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("unexpected argument '-R'"),
        "{}",
        r.stderr
    );
    let r = run_line("find", &s.url());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("needs --slo"), "{}", r.stderr);
    let r = run_line("find --slo p99<10ms --hlog x.hlog", &s.url());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("unexpected argument '--hlog'"),
        "{}",
        r.stderr
    );
}

#[test]
fn find_ctrl_c_prints_what_was_found() {
    let s = ok_server();
    let child = command_line(
        "find --slo p99<1s --start 50 --step-duration 500ms -c 4",
        &s.url(),
    )
    .spawn()
    .unwrap();
    let start = Instant::now();
    // Ctrl-C in the third step: the first two (50 and 100 req/s for 500 ms)
    // send 25 + 50 requests, each answered at once, so both pass.
    wait_until(Duration::from_secs(15), "the third step", || {
        s.requests() > 80
    });
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let r = support::wait_child(child, start, Duration::from_secs(10));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
    assert!(r.stdout.contains("Interrupted by Ctrl-C"), "{}", r.stdout);
    assert!(
        r.stdout.contains("Maximum sustainable throughput: "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.lines().filter(|l| l.ends_with("  pass")).count() >= 2,
        "{}",
        r.stdout
    );
}

#[test]
fn find_short_low_rate_steps_are_not_failed_by_in_flight_requests() {
    // 20 req/s for 500 ms with 80 ms responses: 10 due, the last (sent at
    // 450 ms) still in flight when the step ends, so only 90% are answered.
    // That request was sent; the step passes.
    let s = delay_server(80);
    let r = run_line(
        "find --slo p99<1s --start 20 --max 40 --step-duration 500ms -c 4 -t 1 --json",
        &s.url(),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(f(&j, "max_sustainable_rps"), 40.0, "{j}");
    assert!(
        j["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["pass"] == true),
        "{j}"
    );
}
