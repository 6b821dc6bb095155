//! Issue 18's defects 1 and 5 against a real `blast serve`: `--allow-target`
//! judged by where the traffic goes (a hosts-file name in a mount namespace
//! of its own, as the defect was found, with a real target counting what
//! reaches it), and a store that takes a run's id from its folder, never
//! from the `meta.json` inside (`store`).

mod store;

use crate::support::serve::{self, serve_cmd, Served};
use crate::support::{self, have, local_target, Scratch};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The name the defect was found with: it looks like an address in
/// 10.0.0.0/8, and the hosts file points it at 127.0.0.1.
const REBOUND: &str = "10.0.0.1.attacker.test";

/// One call on its own connection; the status and the JSON answer (null
/// where the body is not JSON).
pub fn call(s: &Served, method: &str, path: &str, body: &str) -> (u16, Value) {
    let headers = ["Content-Type: application/json"];
    let r = serve::call(s.addr, method, path, &headers, body);
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

/// Whether this process may make a mount namespace and bind-mount over
/// /etc/hosts in it (root with util-linux's unshare; CI is).
fn mount_namespaces() -> bool {
    let ok = Command::new("unshare")
        .args(["-m", "sh", "-c", "mount --bind /etc/hosts /etc/hosts"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    have(
        "unshare",
        ok,
        "`unshare -m` with `mount --bind` (root and util-linux) puts a test's own hosts file in place",
    )
}

/// `blast serve ... --allow-target ALLOW` in a mount namespace whose
/// /etc/hosts is this machine's plus `127.0.0.1 REBOUND`.
fn serve_with_hosts(dir: &Scratch, allow: &str) -> Served {
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let hosts = dir.write("hosts", &format!("{hosts}\n127.0.0.1 {REBOUND}\n"));
    let blast = serve_cmd(dir, &["--allow-target", allow]);
    let mut cmd = Command::new("unshare");
    cmd.args([
        "-m",
        "sh",
        "-c",
        r#"mount --bind "$0" /etc/hosts && exec "$@""#,
    ])
    .arg(&hosts)
    .arg(blast.get_program())
    .args(blast.get_args())
    .env_remove("BLAST_TOKEN")
    .env_remove("BLAST_URL")
    .env_remove("BLAST_PAYLOAD")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    Served::spawn(cmd)
}

/// Defect 1 as it was found: with `--allow-target "10.0.0.*"`, a name that
/// merely starts like 10.0.0.1 and resolves to 127.0.0.1 is refused (403)
/// and no request reaches 127.0.0.1; a name that does not resolve is 403
/// too (only an address entry could have passed it); with 127.0.0.0/8 the
/// same name is allowed, since every address it resolves to is inside.
#[test]
fn address_entries_judge_every_resolved_address_not_the_name() {
    if !mount_namespaces() {
        return;
    }
    let t = local_target();
    let port = t.addr().port();
    let body = |host: &str| format!(r#"{{"url": "http://{host}:{port}/", "requests": 20}}"#);

    let dir = Scratch::new("allow-glob");
    let s = serve_with_hosts(&dir, "10.0.0.*");
    let (status, j) = call(&s, "POST", "/benchmark?wait=true", &body(REBOUND));
    assert_eq!(status, 403, "{j}");
    assert_eq!(j["field"], "url", "{j}");
    let error = j["error"].as_str().unwrap();
    assert!(
        error.contains(REBOUND) && error.contains("127.0.0.1"),
        "{error}"
    );
    let (status, j) = call(
        &s,
        "POST",
        "/benchmark?wait=true",
        &body("10.0.0.1.example.invalid"),
    );
    assert_eq!(status, 403, "{j}");
    assert!(j["error"].as_str().unwrap().contains("resolve"), "{j}");
    let (_, list) = call(&s, "GET", "/benchmarks", "");
    assert_eq!(list["benchmarks"], serde_json::json!([]), "{list}");
    // Give a run that should not have started the time to send.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(t.requests(), 0, "requests reached 127.0.0.1");
    drop(s);

    let dir = Scratch::new("allow-cidr");
    let s = serve_with_hosts(&dir, "127.0.0.0/8");
    let (status, j) = call(&s, "POST", "/benchmark?wait=true", &body(REBOUND));
    assert_eq!(status, 200, "{j}");
    assert_eq!(j["requests"], 20, "{j}");
    assert_eq!(t.requests(), 20);
    // A name glob passes the name the operator wrote, wherever it points.
    drop(s);
    let dir = Scratch::new("allow-name");
    let s = serve_with_hosts(&dir, "*.attacker.test");
    let (status, j) = call(&s, "POST", "/benchmark?wait=true", &body(REBOUND));
    assert_eq!(status, 200, "{j}");
    assert_eq!(t.requests(), 40);
    t.stop();
}

/// A malformed entry stops `blast serve` at start: exit 2, one line that
/// names the entry and why.
#[test]
fn malformed_entries_are_refused_at_start() {
    for (entry, why) in [
        ("10.0.0.0/33", "32"),
        ("fd00::/129", "128"),
        ("10.0.0.0/", "prefix"),
        ("10.0.0.0/+8", "prefix"),
        ("300.0.0.*", "255"),
        ("10.0.0.1.*.*", "four"),
        ("fd00::*", "CIDR"),
        ("bad host", "name"),
    ] {
        let dir = Scratch::new("allow-bad");
        let cmd = serve_cmd(&dir, &["--allow-target", &format!("localhost,{entry}")]);
        let r = support::run_cmd(cmd, Duration::from_secs(10));
        assert_eq!(r.code, 2, "{entry}: {}{}", r.stdout, r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{entry}: {}", r.stderr);
        assert!(
            r.stderr.contains("--allow-target")
                && r.stderr.contains(&format!("'{entry}'"))
                && r.stderr.contains(why),
            "{entry}: {}",
            r.stderr
        );
    }
}
