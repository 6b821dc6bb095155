//! A Python virtual environment under `target/` holding one package from
//! PyPI (Locust, Schemathesis): made once by .ci/run or, when missing, by
//! the first test that needs it, under a file lock since nextest runs tests
//! as separate processes, and reused after.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `target/NAME`; `.ci/run` makes the same folders.
pub fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(name)
}

/// Whether the venv at `dir` is `ready`, after making it (`python3 -m
/// venv`, `pip install REQUIREMENT`, several separated by spaces) where
/// it was not.
pub fn ensure(dir: &Path, requirement: &str, ready: impl Fn() -> bool) -> bool {
    ready() || make(dir, requirement, &ready).is_ok_and(|()| ready())
}

/// Make it once: a second process that gets here waits on the lock and
/// then finds it ready.
fn make(dir: &Path, requirement: &str, ready: &impl Fn() -> bool) -> Result<(), String> {
    std::fs::create_dir_all(dir.parent().unwrap()).map_err(|e| e.to_string())?;
    let lock = File::create(dir.with_extension("lock")).map_err(|e| e.to_string())?;
    // SAFETY: flock on a descriptor we own; released when `lock` drops.
    unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    if ready() {
        return Ok(());
    }
    // Whatever is there (half made, another version) is not what we want.
    let _ = std::fs::remove_dir_all(dir);
    let quiet = |c: &mut Command| -> Result<Output, String> {
        c.stdin(Stdio::null()).output().map_err(|e| e.to_string())
    };
    let venv = quiet(Command::new("python3").args(["-m", "venv"]).arg(dir))?;
    if !venv.status.success() {
        return Err(String::from_utf8_lossy(&venv.stderr).into_owned());
    }
    let pip = quiet(
        Command::new(dir.join("bin/pip"))
            .args(["install", "-q"])
            .args(requirement.split_whitespace())
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
    )?;
    if !pip.status.success() {
        // Leave no half-made venv for the next test to trust.
        let _ = std::fs::remove_dir_all(dir);
        return Err(String::from_utf8_lossy(&pip.stderr).into_owned());
    }
    Ok(())
}
