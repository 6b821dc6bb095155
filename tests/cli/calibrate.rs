//! `blast calibrate`: the built-in target in-process and blast against it,
//! in plain HTTP and over TLS.

use crate::support::run;
use crate::u;

#[test]
fn calibrate_measures_this_box() {
    // README's first command: the built-in target in-process, blast against it.
    let r = run(&["calibrate", "-d", "1s", "-c", "8"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("Running 1s test @ http://127.0.0.1:"),
        "{}",
        r.stdout
    );
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("Calibration: this box generates "))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    let rps: f64 = line.split_whitespace().nth(4).unwrap().parse().unwrap();
    assert!(rps > 1000.0, "{line}");
}

#[test]
fn calibrate_over_tls_counts_handshakes() {
    // `calibrate --tls --no-keepalive`: every request is a fresh TLS
    // connection to the built-in HTTPS target; resumption is on by default.
    let r = run(&[
        "calibrate",
        "--tls",
        "--no-keepalive",
        "-d",
        "1s",
        "-c",
        "4",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert!(
        j["url"].as_str().unwrap().starts_with("https://127.0.0.1:"),
        "{j}"
    );
    let requests = u(&j, "requests");
    let handshakes = j["tls"]["handshakes"].as_u64().unwrap();
    let resumed = j["tls"]["resumed"].as_u64().unwrap();
    assert!(requests > 50, "{j}");
    assert_eq!(j["tls"]["version"], "TLSv1.3", "{j}");
    let errors: u64 = j["errors"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(errors, 0, "{j}");
    // One handshake per request, plus those of requests still in flight.
    assert!(
        handshakes >= requests && handshakes <= requests + 4,
        "{handshakes} handshakes for {requests} requests: {j}"
    );
    assert!(resumed > 0 && resumed < handshakes, "{j}");
}
