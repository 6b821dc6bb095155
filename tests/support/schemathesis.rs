//! Schemathesis (from PyPI), which tests `blast serve` against its own
//! OpenAPI description (tests/serve_schema): a virtual environment at
//! `target/schemathesis`, made once by .ci/run or, when missing, by the
//! first test that needs it (under a file lock, since nextest runs tests as
//! separate processes), and reused after. The version is pinned, since its
//! checks and report format change between releases. Where it cannot be
//! made (no network to PyPI, no `venv` module), the test skips saying how to
//! make it, and fails under `CI=true` (`capability::have`).

use super::{have, venv};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The pinned release; .ci/run installs the same.
pub const VERSION: &str = "4.32.5";

/// The virtual environment's folder; `.ci/run` makes the same one.
pub fn venv() -> PathBuf {
    venv::dir("schemathesis")
}

/// The `st` command of the venv, made now if missing (or of another
/// version); None (after `have` said why) where it cannot be had.
pub fn st_or_skip() -> Option<PathBuf> {
    let dir = venv();
    let exe = dir.join("bin/st");
    let made = venv::ensure(&dir, &format!("schemathesis=={VERSION}"), || pinned(&exe));
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
