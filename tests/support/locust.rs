//! Locust (from PyPI), the tool blast's checks are compared with side by
//! side: a virtual environment at `target/locust`, made once by .ci/run or,
//! when missing, by the first test that needs it (under a file lock, since
//! nextest runs tests as separate processes), and reused after. Where it
//! cannot be made (no network to PyPI, no `venv` module), the test skips
//! saying how to make it, and fails under `CI=true` (`capability::have`).

use super::have;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The virtual environment's folder; `.ci/run` makes the same one.
pub fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/locust")
}

/// The `locust` command of the venv, made now if missing; None (after
/// `have` said why) where it cannot be had.
pub fn locust_or_skip() -> Option<PathBuf> {
    let dir = venv();
    let exe = dir.join("bin/locust");
    let made = exe.exists() || make(&dir).is_ok_and(|()| exe.exists());
    let how = format!(
        "no Locust in {}; make it with `python3 -m venv {0} && {0}/bin/pip install locust` \
         (.ci/run does)",
        dir.display()
    );
    have("locust", made, &how).then_some(exe)
}

/// `python3 -m venv` and `pip install locust`, once: a second process that
/// gets here waits on the lock and then finds the venv made.
fn make(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir.parent().unwrap()).map_err(|e| e.to_string())?;
    let lock = File::create(dir.with_extension("lock")).map_err(|e| e.to_string())?;
    // SAFETY: flock on a descriptor we own; released when `lock` drops.
    unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    if dir.join("bin/locust").exists() {
        return Ok(());
    }
    let quiet = |c: &mut Command| -> Result<Output, String> {
        c.stdin(Stdio::null()).output().map_err(|e| e.to_string())
    };
    let venv = quiet(Command::new("python3").args(["-m", "venv"]).arg(dir))?;
    if !venv.status.success() {
        return Err(String::from_utf8_lossy(&venv.stderr).into_owned());
    }
    let pip = quiet(
        Command::new(dir.join("bin/pip"))
            .args(["install", "-q", "locust"])
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
    )?;
    if !pip.status.success() {
        // Leave no half-made venv for the next test to trust.
        let _ = std::fs::remove_dir_all(dir);
        return Err(String::from_utf8_lossy(&pip.stderr).into_owned());
    }
    Ok(())
}
