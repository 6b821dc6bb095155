//! `blast target` as a child process of the test, for what the in-process
//! `blast::target::start` cannot show: the CLI's own flags, a child's
//! resource limits or memory, a target in another network namespace, its
//! last line on SIGTERM. Started, it has printed `listening on URL`; one
//! that dies first, or says nothing within the deadline, fails the test with
//! its stderr. Dropped, it is killed (by its own handle).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long a target may take to print its first line (a busy 2-core box
/// builds and runs several at once).
const LISTEN_DEADLINE: Duration = Duration::from_secs(20);

pub struct TargetProcess {
    child: Child,
    /// The first line, `listening on URL[ (certificate: PATH)]`.
    pub line: String,
    /// The URL from that line, e.g. `http://127.0.0.1:PORT`.
    pub url: String,
    /// Everything on stderr, read by a thread so the child never blocks on
    /// a full pipe.
    stderr: Option<thread::JoinHandle<String>>,
}

impl TargetProcess {
    /// `blast target --listen 127.0.0.1:0` with `flags`.
    pub fn start(flags: &[&str]) -> TargetProcess {
        let mut args = vec!["target", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(flags);
        TargetProcess::spawn(super::command(&args))
    }

    /// Any command that ends in `blast target` (with limits set on it, or
    /// under `ip netns exec`); stdout and stderr must be piped.
    pub fn spawn(mut cmd: Command) -> TargetProcess {
        let mut child = cmd.spawn().expect("spawn blast target");
        let mut err = child.stderr.take().expect("stderr piped");
        let stderr = thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        // The first line through a channel, so the wait has a deadline; the
        // thread then drains stdout for the child's lifetime.
        let out = child.stdout.take().expect("stdout piped");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(out).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            for _ in lines {}
        });
        let mut t = TargetProcess {
            child,
            line: String::new(),
            url: String::new(),
            stderr: Some(stderr),
        };
        match rx.recv_timeout(LISTEN_DEADLINE) {
            Ok(line) => t.line = line,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // Stdout closed: it has exited, or is about to.
                let _ = t.child.kill();
                let status = t.child.wait();
                panic!(
                    "blast target exited ({status:?}) before listening; stderr:\n{}",
                    t.take_stderr()
                );
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = t.child.kill();
                let _ = t.child.wait();
                panic!(
                    "blast target printed nothing in {LISTEN_DEADLINE:?}; stderr:\n{}",
                    t.take_stderr()
                );
            }
        }
        t.url = t
            .line
            .strip_prefix("listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line: {:?}", t.line))
            .to_string();
        t
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `host:port` of the URL.
    pub fn addr(&self) -> &str {
        let rest = self.url.split_once("://").map_or(&*self.url, |(_, r)| r);
        rest.trim_end_matches('/')
    }

    /// End the target as a user would (SIGTERM), wait for it, and return
    /// its stderr.
    pub fn stop(mut self) -> String {
        // SAFETY: signalling our own child, which has not been waited on.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
        self.take_stderr()
    }

    /// `stop`, and the N of its last line `served N requests on M connections`.
    pub fn served(self) -> u64 {
        let err = self.stop();
        err.lines()
            .find_map(|l| l.strip_prefix("served "))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no 'served N' line; the target said: {err:?}"))
    }

    /// Everything the child wrote to stderr; call once it has exited.
    fn take_stderr(&mut self) -> String {
        self.stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for TargetProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The in-process `blast::target` on 127.0.0.1:0 with its defaults, for
/// the tests that only need something to count the requests that reach it.
pub fn local_target() -> blast::target::Target {
    blast::target::start(blast::target::TargetOptions {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        ..blast::target::TargetOptions::default()
    })
    .unwrap()
}
