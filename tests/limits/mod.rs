//! Connection limits: the open-file limit (`ulimit -n`, set on the child
//! only, with setrlimit before exec), `--source` addresses, and errno-named
//! causes; and a kernel that refuses io_uring (a seccomp filter on the
//! child). The server's side is the truth: `blast target`'s own counts and
//! limits, and the peer addresses a test server accepted.

use crate::support::{self, command, command_line, wait_child, Run, TargetProcess};
use crate::{json_run, ok_server, u};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

both_engines!(
    lowered_soft_limit_is_raised,
    source_addresses_share_connections_evenly,
    emfile_mid_run_is_named,
);

/// Give the child `soft`/`hard` open-file limits, leaving ours alone.
fn nofile(cmd: &mut Command, soft: u64, hard: u64) {
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between
    // fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let l = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &l) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// `blast target` as a child process with the given open-file limits.
struct Target(TargetProcess);

impl Target {
    fn start(soft: u64, hard: u64) -> Target {
        let mut cmd = command(&["target", "--listen", "127.0.0.1:0"]);
        nofile(&mut cmd, soft, hard);
        Target(TargetProcess::spawn(cmd))
    }

    /// `GET /__blast/stats`: the target's own counts.
    fn stats(&self) -> Value {
        let host = self.0.addr();
        let mut s = TcpStream::connect(host).expect("connect to the target");
        write!(
            s,
            "GET /__blast/stats HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let body = resp.split("\r\n\r\n").nth(1).unwrap_or("");
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {resp}"))
    }

    /// The soft open-file limit the target runs with, from /proc.
    fn soft_limit(&self) -> u64 {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", self.0.pid())).unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap();
        line.split_whitespace().nth(3).unwrap().parse().unwrap()
    }
}

fn run_limited(flags: &str, url: &str, soft: u64, hard: u64) -> Run {
    let mut cmd = command_line(flags, url);
    nofile(&mut cmd, soft, hard);
    support::run_cmd(cmd, Duration::from_secs(60))
}

/// A soft limit below -c with a hard limit above it: blast and its target
/// both raise the soft limit, and every connection opens.
fn lowered_soft_limit_is_raised(engine: &str) {
    let t = Target::start(512, 4096);
    assert_eq!(t.soft_limit(), 4096, "blast target raises its soft limit");
    let flags = format!(
        "-c 1000 -n 2000 -t 2 --connect-timeout 20s --timeout 20s --json --engine {engine}"
    );
    let r = run_limited(&flags, &t.0.url, 512, 4096);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(u(&j, "requests"), 2000, "{}", j["error_details"]);
    for kind in ["connect", "read", "write", "timeout", "parse", "status"] {
        assert_eq!(
            u(&j, &format!("errors.{kind}")),
            0,
            "{}",
            j["error_details"]
        );
    }
    let stats = t.stats();
    assert_eq!(stats["requests"], 2000, "the target answered exactly -n");
    assert!(
        stats["connections"].as_u64().unwrap() >= 1000,
        "all 1000 connections opened: {stats}"
    );
}

/// Soft and hard limit both below -c: exit 2 at once, one line that says
/// what to type.
#[test]
fn connections_over_the_hard_limit_exit_2_at_once() {
    let s = ok_server();
    for flags in ["-c 1000 -d 1s", "find --slo p99<1s -c 1000"] {
        let r = run_limited(flags, &s.url(), 512, 512);
        assert_eq!(r.code, 2, "{flags}: {}", r.stderr);
        let line = r.stderr.trim();
        assert_eq!(line.lines().count(), 1, "{line}");
        for needle in [
            "-c 1000 needs about 1,0",
            "ulimit -n allows 512",
            "hard limit 512",
            "ulimit -n 2000",
        ] {
            assert!(line.contains(needle), "{line} lacks {needle}");
        }
        assert!(r.elapsed < Duration::from_secs(5), "took {:?}", r.elapsed);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
    }
    assert_eq!(s.connections(), 0, "no connection was tried");
}

/// Connections split over the source addresses: each appears at the
/// server, with an even share (±1).
fn source_addresses_share_connections_evenly(engine: &str) {
    for (source, conns, want) in [
        (
            "127.0.0.2,127.0.0.3,127.0.0.4",
            31,
            ["127.0.0.2", "127.0.0.3", "127.0.0.4"],
        ),
        (
            "127.0.0.5-127.0.0.7",
            30,
            ["127.0.0.5", "127.0.0.6", "127.0.0.7"],
        ),
    ] {
        let s = ok_server();
        let j = json_run(
            engine,
            &format!("-c {conns} -t 2 -d 300ms --source {source}"),
            &s.url(),
        );
        assert!(u(&j, "requests") > 0);
        assert_eq!(u(&j, "errors.connect"), 0, "{}", j["error_details"]);
        let peers = s.peers();
        let want: Vec<IpAddr> = want.iter().map(|a| a.parse().unwrap()).collect();
        assert_eq!(peers.keys().copied().collect::<Vec<_>>(), want, "{peers:?}");
        assert_eq!(peers.values().sum::<u64>(), conns, "{peers:?}");
        let (lo, hi) = (peers.values().min().unwrap(), peers.values().max().unwrap());
        assert!(hi - lo <= 1, "uneven split {peers:?}");
    }
}

/// `--source` of the wrong family, or not on this machine: exit 2, one line.
#[test]
fn bad_source_exits_2_in_one_line() {
    let s = ok_server();
    for (source, needle) in [
        ("::1", "--source ::1 is IPv6 but the target 127.0.0.1"),
        ("127.0.0.2,::1", "--source ::1 is IPv6"),
        (
            "192.0.2.1",
            "--source 192.0.2.1: not an address of this machine",
        ),
        ("127.0.0.9-127.0.0.2", "ends before it starts"),
    ] {
        let r = support::run(&["-c", "2", "-d", "1s", "--source", source, &s.url()]);
        assert_eq!(r.code, 2, "{source}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains(needle), "{} lacks {needle}", r.stderr);
    }
    assert_eq!(s.connections(), 0);
}

/// Open files run out mid-run (the limit is lowered from outside once
/// every connection is open, as another tool or a leak elsewhere would
/// leave it): every reconnect then fails in socket() with EMFILE, and the
/// report names it rather than `connect: other`.
fn emfile_mid_run_is_named(engine: &str) {
    let s = ok_server();
    let flags = format!("-c 4 -t 1 -d 2s --no-keepalive --json --engine {engine}");
    let start = Instant::now();
    let child = command_line(&flags, &s.url()).spawn().expect("spawn blast");
    let pid = child.id() as libc::pid_t;
    while s.connections() < 8 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    // Below the lowest free descriptor: no new file can open. The hard
    // limit stays as it was.
    let low = libc::rlimit {
        rlim_cur: 3,
        rlim_max: hard_limit(),
    };
    // SAFETY: our own child; valid struct pointers.
    let rc = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &low, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
    let r = wait_child(child, start, Duration::from_secs(30));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert!(u(&j, "requests") > 0);
    assert!(u(&j, "errors.connect") > 0, "{}", j["error_details"]);
    let details = j["error_details"].as_array().unwrap();
    let emfile = details
        .iter()
        .find(|d| d["cause"] == "connect: too many open files (EMFILE, ulimit -n)")
        .unwrap_or_else(|| panic!("no EMFILE cause in {details:?}"));
    assert_eq!(emfile["kind"], "connect");
    assert_eq!(u(emfile, "count"), u(&j, "errors.connect"), "{details:?}");
}

/// This process's hard open-file limit (the child inherits it).
fn hard_limit() -> u64 {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid struct pointer.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) };
    l.rlim_max
}

/// More connections from one address than it has local ports can never
/// all connect: exit 2 before trying, pointing at --source.
#[test]
fn more_connections_than_local_ports_exit_2() {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let mut it = range.split_whitespace().map(|n| n.parse::<u64>().unwrap());
    let (lo, hi) = (it.next().unwrap(), it.next().unwrap());
    let s = ok_server();
    let c = (hi - lo + 2).to_string();
    let r = support::run(&["-c", &c, "-d", "1s", &s.url()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let line = r.stderr.trim();
    assert_eq!(line.lines().count(), 1, "{line}");
    for needle in [
        format!("-c {c} to {}", s.addr),
        format!("ip_local_port_range {lo}-{hi}"),
        "2 or more addresses with --source".to_string(),
    ] {
        assert!(line.contains(&needle), "{line} lacks {needle}");
    }
    assert_eq!(s.connections(), 0, "no connection was tried");
}

/// Make the kernel refuse io_uring to the child, as a container's seccomp
/// profile does: io_uring_setup fails with EPERM, everything else runs.
fn refuse_io_uring(cmd: &mut Command) {
    // Classic BPF over struct seccomp_data: load the syscall number, and
    // return EPERM for io_uring_setup, allow anything else.
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const RET_ERRNO: u32 = 0x0005_0000; // SECCOMP_RET_ERRNO
    const RET_ALLOW: u32 = 0x7fff_0000; // SECCOMP_RET_ALLOW
    let prog = [
        libc::sock_filter {
            code: LD_W_ABS,
            jt: 0,
            jf: 0,
            k: 0,
        },
        libc::sock_filter {
            code: JEQ_K,
            jt: 0,
            jf: 1,
            k: libc::SYS_io_uring_setup as u32,
        },
        libc::sock_filter {
            code: RET_K,
            jt: 0,
            jf: 0,
            k: RET_ERRNO | libc::EPERM as u32,
        },
        libc::sock_filter {
            code: RET_K,
            jt: 0,
            jf: 0,
            k: RET_ALLOW,
        },
    ];
    // SAFETY: prctl is async-signal-safe; the filter is moved into the
    // closure and outlives the call that installs it.
    unsafe {
        cmd.pre_exec(move || {
            let fprog = libc::sock_fprog {
                len: prog.len() as u16,
                filter: prog.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &fprog as *const libc::sock_fprog,
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// blast with `flags` against `url` where the kernel refuses io_uring.
fn run_refused(flags: &str, url: &str) -> Run {
    let mut cmd = command_line(flags, url);
    refuse_io_uring(&mut cmd);
    let child = cmd.spawn().unwrap();
    wait_child(child, Instant::now(), Duration::from_secs(30))
}

/// `--engine auto` where the kernel refuses io_uring: one line on stderr,
/// the epoll engine, and every request answered; `--engine uring` there is
/// exit 3 naming why.
#[test]
fn auto_falls_back_to_epoll_where_io_uring_is_refused() {
    let server = ok_server();
    let r = run_refused("-n 500 -c 4 -t 1 --engine auto --json", &server.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let notice =
        "io_uring is unavailable (Operation not permitted (os error 1)): using the epoll engine";
    assert!(r.stderr.contains(notice), "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["config"]["engine"], "epoll", "{v}");
    assert_eq!(u(&v, "requests"), 500);
    assert_eq!(server.requests(), 500);

    let r = run_refused("-n 10 --engine uring", &server.url());
    assert_eq!(r.code, 3, "{}", r.stderr);
    let why = "--engine uring: io_uring is unavailable here";
    assert!(r.stderr.contains(why), "{}", r.stderr);
    assert_eq!(server.requests(), 500, "nothing sent without an engine");
}
