//! What a test needs from the machine (io_uring, IPv6, a terminal through
//! `script`, Chromium, network namespaces). Where it is missing, the test
//! skips on a dev machine, saying so, and fails in CI (`CI=true`), so a CI
//! box that lost a capability cannot pass by testing less. A CI that truly
//! cannot have one (io_uring under Docker's default seccomp profile) names
//! it in `BLAST_TEST_WITHOUT` (comma-separated: `uring,ipv6`), which is a
//! decision written down rather than a silent skip.

/// True when `capability` is `available`; otherwise print why the test
/// skips and return false, or fail the test under `CI=true` unless
/// `BLAST_TEST_WITHOUT` names `capability`.
pub fn have(capability: &str, available: bool, why: &str) -> bool {
    if available {
        return true;
    }
    let excused = std::env::var("BLAST_TEST_WITHOUT")
        .is_ok_and(|v| v.split(',').any(|c| c.trim() == capability));
    assert!(
        std::env::var("CI").as_deref() != Ok("true") || excused,
        "{capability} is missing ({why}), and CI must run this test \
         (or name it in BLAST_TEST_WITHOUT)"
    );
    eprintln!("skipping: {capability} is missing ({why})");
    false
}

/// The engines a test should cover here: epoll always, io_uring where the
/// kernel allows it.
pub fn uring_available() -> bool {
    have(
        "uring",
        blast::engine::io::uring::probe().is_ok(),
        "io_uring is refused on this kernel/container",
    )
}

/// `epoll`, and `uring` where `uring_available`.
pub fn engines() -> Vec<&'static str> {
    let mut e = vec!["epoll"];
    if uring_available() {
        e.push("uring");
    }
    e
}

/// Headless Chromium, which renders the HTML reports and drives the web UI.
pub fn chromium_or_skip() -> bool {
    let found = std::process::Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    have("chromium", found, "not installed; .ci/run installs it")
}

/// Headless Chromium as every test starts it: no sandbox (root), and none of
/// the background connections this machine's closed network refuses; its
/// profile in `profile`.
pub fn chromium(profile: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new("chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]);
    cmd.arg(format!("--user-data-dir={}", profile.display()));
    cmd
}
