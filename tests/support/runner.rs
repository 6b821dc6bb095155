//! The blast binary as a child process: run it to completion (with a
//! watchdog and its own rusage), and the two checks nearly every test makes
//! of what it left.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// What a finished blast process left.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// Peak resident set of the blast process, KiB.
    pub max_rss_kb: i64,
    /// User + system CPU seconds of the blast process.
    pub cpu_s: f64,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_blast")
}

pub fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env_remove("BLAST_URL")
        .env_remove("BLAST_PAYLOAD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Run blast to completion (killed after `limit`), with its own rusage.
pub fn run_cmd(mut cmd: Command, limit: Duration) -> Run {
    let start = Instant::now();
    let child = cmd.spawn().expect("spawn blast");
    wait_child(child, start, limit)
}

pub fn run(args: &[&str]) -> Run {
    run_cmd(command(args), Duration::from_secs(30))
}

/// `run` with the flags written as one line (no argument holds a space),
/// then a last argument (usually the URL) that may.
pub fn run_line(flags: &str, url: &str) -> Run {
    run_cmd(command_line(flags, url), Duration::from_secs(30))
}

/// `command` with the flags written as one line, then a last argument.
pub fn command_line(flags: &str, url: &str) -> Command {
    let mut args: Vec<&str> = flags.split_whitespace().collect();
    args.push(url);
    command(&args)
}

pub fn wait_child(mut child: Child, start: Instant, limit: Duration) -> Run {
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    // Watchdog: kill our own child (by pid) if it overruns.
    // It also reads the child's peak RSS (VmHWM) as it runs: the rusage
    // of `wait4` is no use for that when the test process is large, since
    // Linux carries the parent's high-water mark into a spawned child's
    // `ru_maxrss` at exec (plain `cargo test` runs every test in one
    // process, which grows). VmHWM belongs to the new address space only.
    let done = Arc::new(AtomicBool::new(false));
    let hwm = Arc::new(AtomicU64::new(0));
    let (d2, h2) = (done.clone(), hwm.clone());
    let watchdog = thread::spawn(move || {
        while start.elapsed() < limit {
            if d2.load(Ordering::SeqCst) {
                return;
            }
            if let Some(kb) = vm_hwm_kb(pid) {
                h2.fetch_max(kb, Ordering::SeqCst);
            }
            thread::sleep(Duration::from_millis(20));
        }
        if !d2.load(Ordering::SeqCst) {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let mut status = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child; the Child handle is not waited on elsewhere.
    unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    done.store(true, Ordering::SeqCst);
    let _ = watchdog.join();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    std::mem::forget(child);
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Run {
        code,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
        elapsed: start.elapsed(),
        max_rss_kb: match hwm.load(Ordering::SeqCst) {
            0 => ru.ru_maxrss,
            kb => kb as i64,
        },
        cpu_s: tv(ru.ru_utime) + tv(ru.ru_stime),
    }
}

impl Run {
    /// Expect exit 0 and return the JSON report on stdout.
    pub fn ok_json(&self) -> serde_json::Value {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        self.json()
    }
}

/// Run blast with `args`, expect exit 0, and return its stdout.
pub fn ok(args: &[&str]) -> String {
    let r = run(args);
    assert_eq!(r.code, 0, "blast {args:?}\nstderr: {}", r.stderr);
    r.stdout
}

/// Rows of a CSV file (blast's CSV quotes nothing the tests read: paths
/// and names are plain).
pub fn csv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path:?}: {e}"))
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// A CSV cell as a number.
pub fn num(v: &str) -> f64 {
    v.parse()
        .unwrap_or_else(|_| panic!("'{v}' is not a number"))
}

/// The peak resident set of a running process, KiB (None once it is gone).
fn vm_hwm_kb(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
