//! Locust (from PyPI), the tool blast's checks are compared with side by
//! side: a virtual environment at `target/locust`, made once by .ci/run or,
//! when missing, by the first test that needs it (under a file lock, since
//! nextest runs tests as separate processes), and reused after. Where it
//! cannot be made (no network to PyPI, no `venv` module), the test skips
//! saying how to make it, and fails under `CI=true` (`capability::have`).

use super::{have, venv};
use std::path::PathBuf;

/// The virtual environment's folder; `.ci/run` makes the same one.
pub fn venv() -> PathBuf {
    venv::dir("locust")
}

/// The `locust` command of the venv, made now if missing; None (after
/// `have` said why) where it cannot be had.
pub fn locust_or_skip() -> Option<PathBuf> {
    let dir = venv();
    let exe = dir.join("bin/locust");
    let made = venv::ensure(&dir, "locust", || exe.exists());
    let how = format!(
        "no Locust in {}; make it with `python3 -m venv {0} && {0}/bin/pip install locust` \
         (.ci/run does)",
        dir.display()
    );
    have("locust", made, &how).then_some(exe)
}
