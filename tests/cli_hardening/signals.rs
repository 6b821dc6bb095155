//! SIGTERM (what Kubernetes and systemd send) ends a run as Ctrl-C does:
//! the report of what was measured is printed and the exit status is the
//! run's own (0 here). `blast serve` on SIGTERM is tested in `serve`
//! (`sigterm_records_the_run_going_on`).

use crate::ok_server;
use crate::support::{command_line, wait_child, wait_until, Scratch};
use std::time::{Duration, Instant};

fn terminate_a_run(flags: &str) -> (crate::support::Run, u64) {
    let s = ok_server();
    let child = command_line(&format!("-c 2 -t 1 -d 30s {flags}"), &s.url())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let start = Instant::now();
    wait_until(
        Duration::from_secs(10),
        "100 requests at the server",
        || s.requests() >= 100,
    );
    // Our own child, by its pid.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let r = wait_child(child, start, Duration::from_secs(20));
    assert!(r.elapsed < Duration::from_secs(15), "{:?}", r.elapsed);
    (r, s.requests())
}

#[test]
fn sigterm_prints_the_report_like_ctrl_c() {
    let dir = Scratch::new("sigterm-reports");
    let (csv, html) = (dir.path_str("run"), dir.path_str("run.html"));
    let (r, served) = terminate_a_run(&format!("--csv {csv} --html {html}"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("Interrupted by Ctrl-C or SIGTERM"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Requests/sec:"), "{}", r.stdout);
    assert!(served >= 100);
    // The files asked for are written too.
    let stats = std::fs::read_to_string(format!("{csv}_stats.csv")).unwrap();
    assert!(stats.lines().count() >= 2, "{stats}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg"), "no chart in the HTML report");
}

#[test]
fn sigterm_writes_the_json_report_and_its_count_is_the_servers() {
    let (r, served) = terminate_a_run("--json");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let requests = j["requests"].as_u64().unwrap();
    let in_flight = j["in_flight_at_end"].as_u64().unwrap();
    // Every request the server counted is answered in the report or was
    // in flight when the run stopped (one per connection at most).
    assert!(
        requests <= served && served <= requests + in_flight.max(2),
        "blast {requests} (+{in_flight} in flight), server {served}"
    );
    assert!(requests >= 100, "{j}");
}

/// A second signal, of either kind, exits at once with 130 (SPEC §4).
#[test]
fn a_second_signal_exits_at_once_with_130() {
    let s = ok_server();
    let child = command_line("-c 2 -t 1 -d 30s", &s.url()).spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let start = Instant::now();
    wait_until(Duration::from_secs(10), "a request at the server", || {
        s.requests() > 0
    });
    // Our own child, by its pid: both are pending before it can finish.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
        libc::kill(pid, libc::SIGINT);
    }
    let r = wait_child(child, start, Duration::from_secs(20));
    assert_eq!(r.code, 130, "{}", r.stdout);
    assert!(!r.stdout.contains("Requests/sec:"), "{}", r.stdout);
}
