//! Issue 18's defects 1 and 5 against a real `blast serve`: `--allow-target`
//! judged by where the traffic goes (a hosts-file name in a mount namespace
//! of its own, as the defect was found, with a real target counting what
//! reaches it), and a store that takes a run's id from its folder, never
//! from the `meta.json` inside (`store`).

mod store;

use crate::support::{self, have, Scratch};
use blast::target::{self, Target, TargetOptions};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The name the defect was found with: it looks like an address in
/// 10.0.0.0/8, and the hosts file points it at 127.0.0.1.
const REBOUND: &str = "10.0.0.1.attacker.test";

/// A `blast serve` child, killed by its pid when dropped.
pub struct Served {
    child: Child,
    pub addr: SocketAddr,
}

impl Served {
    /// Start `cmd` (a `blast serve --listen 127.0.0.1:0 ...`, maybe wrapped)
    /// and read its address from stdout's first line; stderr stays piped,
    /// for `stderr_after_stop`.
    pub fn spawn(mut cmd: Command) -> Served {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn blast serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(addr) = line.trim().strip_prefix("http://") else {
            let _ = child.kill();
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            let _ = child.wait();
            panic!("blast serve did not start: stdout {line:?}, stderr:\n{err}");
        };
        let addr = addr.parse().unwrap();
        Served { child, addr }
    }

    /// One call on its own connection; the status and the JSON answer.
    pub fn call(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let (head, rest) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
        let status = head[9..12].parse().unwrap();
        let json = serde_json::from_str(rest).unwrap_or(Value::Null);
        (status, json)
    }

    /// Stop it (SIGKILL) and return what it wrote on stderr.
    pub fn stderr_after_stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        err
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `blast serve` with `args`, on 127.0.0.1:0, history in `dir`.
pub fn serve_cmd(dir: &Scratch, args: &[&str]) -> Command {
    let mut all = vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let mut cmd = support::command(&all);
    cmd.env_remove("BLAST_TOKEN");
    cmd
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
    .stdin(Stdio::null());
    Served::spawn(cmd)
}

fn target() -> Target {
    target::start(TargetOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..TargetOptions::default()
    })
    .unwrap()
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
    let t = target();
    let port = t.addr().port();
    let body = |host: &str| format!(r#"{{"url": "http://{host}:{port}/", "requests": 20}}"#);

    let dir = Scratch::new("allow-glob");
    let s = serve_with_hosts(&dir, "10.0.0.*");
    let (status, j) = s.call("POST", "/benchmark?wait=true", &body(REBOUND));
    assert_eq!(status, 403, "{j}");
    assert_eq!(j["field"], "url", "{j}");
    let error = j["error"].as_str().unwrap();
    assert!(
        error.contains(REBOUND) && error.contains("127.0.0.1"),
        "{error}"
    );
    let (status, j) = s.call(
        "POST",
        "/benchmark?wait=true",
        &body("10.0.0.1.example.invalid"),
    );
    assert_eq!(status, 403, "{j}");
    assert!(j["error"].as_str().unwrap().contains("resolve"), "{j}");
    let (_, list) = s.call("GET", "/benchmarks", "");
    assert_eq!(list["benchmarks"], serde_json::json!([]), "{list}");
    // Give a run that should not have started the time to send.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(t.requests(), 0, "requests reached 127.0.0.1");
    drop(s);

    let dir = Scratch::new("allow-cidr");
    let s = serve_with_hosts(&dir, "127.0.0.0/8");
    let (status, j) = s.call("POST", "/benchmark?wait=true", &body(REBOUND));
    assert_eq!(status, 200, "{j}");
    assert_eq!(j["requests"], 20, "{j}");
    assert_eq!(t.requests(), 20);
    // A name glob passes the name the operator wrote, wherever it points.
    drop(s);
    let dir = Scratch::new("allow-name");
    let s = serve_with_hosts(&dir, "*.attacker.test");
    let (status, j) = s.call("POST", "/benchmark?wait=true", &body(REBOUND));
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
