//! Process-wide settings: memory behaviour, Ctrl-C and SIGTERM, and the
//! open-file limit (each connection is an open file).

use crate::engine::{io, Settings, INTERRUPT};
use crate::error::{self, Error};
use crate::units::thousands;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Opt this process out of transparent huge pages. mimalloc asks for them,
/// and a 2 MiB page backing a few touched bytes made an idle blast 18 MB
/// resident (5.6 MB without); measured throughput did not change.
pub fn limit_memory() {
    // SAFETY: prctl with integer arguments only; failure leaves THP as it was.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// First Ctrl-C or SIGTERM (what Kubernetes and systemd send to stop a
/// process) ends the run as if its time were up (the report is still
/// printed); a second of either exits at once with 130.
pub fn install_ctrl_c() {
    on_stop_signals(&INTERRUPT);
}

/// Set `stop` at the first SIGINT or SIGTERM; a second one, finding it
/// set, exits at once with 130, from the handler itself, so it works
/// however the first is being handled. signal-hook's own handlers: no
/// unsafe code here, no thread, no file. Where they cannot be installed
/// the signals keep their default action, which still stops the process.
pub fn on_stop_signals(stop: &Arc<AtomicBool>) {
    for sig in [SIGINT, SIGTERM] {
        // In this order: the exit runs before the flag is set, so only a
        // second signal finds it set.
        let _ = flag::register_conditional_shutdown(sig, 130, Arc::clone(stop));
        let _ = flag::register(sig, Arc::clone(stop));
    }
}

/// Open files (sockets included) besides the connections and the workers'
/// runtimes: a report file, the transient files read at start-up, and
/// slack for a socket closed and reopened in the same instant.
const FILES_SLACK: u64 = 16;

/// The open-file limit (`ulimit -n`) after raising it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileLimit {
    pub soft: u64,
    pub hard: u64,
}

/// Raise the soft open-file limit to the hard one: the default soft limit
/// (often 1,024) is a guard for programs that use `select`, which blast
/// does not, and the hard limit is what the administrator allows.
pub fn raise_open_files() -> FileLimit {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: get/setrlimit with a valid, initialised struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return FileLimit {
                soft: u64::MAX,
                hard: u64::MAX,
            };
        }
        let want = if lim.rlim_max == libc::RLIM_INFINITY {
            nr_open().unwrap_or(lim.rlim_cur)
        } else {
            lim.rlim_max
        };
        if want > lim.rlim_cur {
            let raised = libc::rlimit {
                rlim_cur: want,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = want;
            }
        }
    }
    FileLimit {
        soft: lim.rlim_cur,
        hard: lim.rlim_max,
    }
}

/// The kernel's ceiling for any process's open-file limit.
fn nr_open() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Files this process has open now (stdio, and whatever it inherited).
fn open_now() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(16, |d| d.count() as u64)
}

/// Open files a run of `cfg` needs: its connections, each worker's
/// runtime, what is open already, and some slack.
pub fn files_needed(cfg: &Settings) -> u64 {
    // With -n below -c, connections that get no request never open.
    let shape = &cfg.shape;
    shape
        .connections
        .min(shape.requests.unwrap_or(u64::MAX))
        .saturating_add(shape.threads * io::FILES_PER_WORKER)
        .saturating_add(open_now() + FILES_SLACK)
}

/// Raise the open-file limit and check that `-c` fits under it, before any
/// connection is tried: past the limit every connect fails with EMFILE.
pub fn fit_open_files(cfg: &Settings) -> Result<(), Error> {
    let lim = raise_open_files();
    let need = files_needed(cfg);
    if need <= lim.soft {
        return Ok(());
    }
    Err(error::usage(too_few_files(
        cfg.shape.connections,
        need,
        lim,
        nr_open(),
    )))
}

/// The one line that says `-c` does not fit, and what to type.
fn too_few_files(connections: u64, need: u64, lim: FileLimit, nr_open: Option<u64>) -> String {
    let raise = need.div_ceil(1000) * 1000;
    let how = match nr_open {
        Some(max) if raise > max => format!(
            "that is above the kernel's fs.nr_open ({}): raise it first \
             (sysctl fs.nr_open={raise}), or spread the load over several processes",
            thousands(max)
        ),
        _ => format!("raise it with ulimit -n {raise}"),
    };
    format!(
        "-c {connections} needs about {} open files but ulimit -n allows {} \
         (hard limit {}): {how}",
        thousands(need),
        limit(lim.soft),
        limit(lim.hard),
    )
}

fn limit(n: u64) -> String {
    if n == libc::RLIM_INFINITY {
        "unlimited".into()
    } else {
        thousands(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_few_files_names_ulimit_and_the_numbers() {
        let lim = FileLimit {
            soft: 20_000,
            hard: 20_000,
        };
        assert_eq!(
            too_few_files(25_000, 25_040, lim, Some(1 << 20)),
            "-c 25000 needs about 25,040 open files but ulimit -n allows 20,000 \
             (hard limit 20,000): raise it with ulimit -n 26000"
        );
        let m = too_few_files(2_000_000, 2_000_040, lim, Some(1 << 20));
        assert!(m.contains("fs.nr_open (1,048,576)"), "{m}");
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let lim = raise_open_files();
        assert_eq!(lim.soft, lim.hard.min(nr_open().unwrap_or(lim.hard)));
    }
}
