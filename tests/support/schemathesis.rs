//! Schemathesis (from PyPI), which tests `blast serve` against its own
//! OpenAPI description (tests/serve_schema): a virtual environment at
//! `target/schemathesis`, made once by .ci/run or, when missing, by the
//! first test that needs it (under a file lock, since nextest runs tests as
//! separate processes), and reused after. The version is pinned, since its
//! checks and report format change between releases. Where it cannot be
//! made (no network to PyPI, no `venv` module), the test skips saying how to
//! make it, and fails under `CI=true` (`capability::have`).

use super::have;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The pinned release; .ci/run installs the same.
pub const VERSION: &str = "4.32.5";

/// The virtual environment's folder; `.ci/run` makes the same one.
pub fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/schemathesis")
}

/// The `st` command of the venv, made now if missing (or of another
/// version); None (after `have` said why) where it cannot be had.
pub fn st_or_skip() -> Option<PathBuf> {
    let dir = venv();
    let exe = dir.join("bin/st");
    let made = pinned(&exe) || make(&dir).is_ok_and(|()| pinned(&exe));
    let how = format!(
        "no Schemathesis {VERSION} in {}; make it with `python3 -m venv {0} && \
         {0}/bin/pip install schemathesis=={VERSION}` (.ci/run does)",
        dir.display()
    );
    have("schemathesis", made, &how).then_some(exe)
}

/// Whether `st --version` names the pinned release.
fn pinned(exe: &Path) -> bool {
    Command::new(exe)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(VERSION))
}

/// `python3 -m venv` and `pip install schemathesis==VERSION`, once: a
/// second process that gets here waits on the lock and then finds it made.
fn make(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir.parent().unwrap()).map_err(|e| e.to_string())?;
    let lock = File::create(dir.with_extension("lock")).map_err(|e| e.to_string())?;
    // SAFETY: flock on a descriptor we own; released when `lock` drops.
    unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    if pinned(&dir.join("bin/st")) {
        return Ok(());
    }
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
            .args(["install", "-q", &format!("schemathesis=={VERSION}")])
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
    )?;
    if !pip.status.success() {
        // Leave no half-made venv for the next test to trust.
        let _ = std::fs::remove_dir_all(dir);
        return Err(String::from_utf8_lossy(&pip.stderr).into_owned());
    }
    Ok(())
}
