//! A scratch directory per test: unique (process id and a counter, so
//! tests running side by side, or one test made twice, never share one),
//! and removed on drop, except when the test is failing: then it is kept,
//! and its path printed, for the files a failure wants read. It reads as the path
//! it holds (`Deref<Target = Path>`), so `dir.join(..)` and `&dir` work as
//! they did with a plain `PathBuf`.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Scratch(PathBuf);

impl Scratch {
    /// A new, empty directory whose name starts `blast-{tag}-`.
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("blast-{tag}-{}-{n}", std::process::id()));
        // A previous process with the same id may have been killed before
        // its drop ran.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        Scratch(dir)
    }

    /// Write `text` to `name` in the directory and return its path as text
    /// (the form a command line takes).
    pub fn write(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        p.to_str().expect("utf-8 temp path").to_string()
    }

    /// `name` in the directory, as text.
    pub fn path_str(&self, name: &str) -> String {
        self.0
            .join(name)
            .to_str()
            .expect("utf-8 temp path")
            .to_string()
    }
}

impl Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept for the failure: {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
