//! `--arrival poisson` / `--burstiness` / `--seed`: the gaps a server
//! actually sees between requests, and the flags' bad combinations.

use crate::support::{run_line, Run};
use crate::u;
use blast::engine::pace::{Arrival, Rate, Schedule};
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A server that answers every request at once and notes when each arrived.
/// The time is the kernel's (SO_TIMESTAMPNS): when the request's bytes
/// reached the socket, which on loopback is when blast's send ran. So the
/// recorder's own wake-ups, late on a busy 2-core box, do not add to the
/// gaps; only blast's sending does.
struct Recorder {
    addr: SocketAddr,
    times: Arc<Mutex<Vec<i128>>>,
    /// Reads that came back without a kernel timestamp (timed by the clock
    /// after the read instead).
    untimed: Arc<AtomicUsize>,
}

/// Read into `buf`, with the kernel's receive time of the data in ns of
/// CLOCK_REALTIME where it gave one.
fn read_stamped(stream: &TcpStream, buf: &mut [u8]) -> std::io::Result<(usize, Option<i128>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = [0u64; 16];
    // SAFETY: msghdr is plain data; every pointer set below outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: the fd is the stream's, open for the call; msg is valid.
    let n = unsafe { libc::recvmsg(stream.as_raw_fd(), &mut msg, 0) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut stamp = None;
    // SAFETY: walking the control buffer the kernel filled, by its macros.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                stamp = Some(ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n as usize, stamp))
}

fn wall_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i128
}

impl Recorder {
    fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let times = Arc::new(Mutex::new(Vec::with_capacity(1 << 16)));
        let untimed = Arc::new(AtomicUsize::new(0));
        let (t, un) = (times.clone(), untimed.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (t, un) = (t.clone(), un.clone());
                thread::spawn(move || {
                    let _ = stream.set_nodelay(true);
                    let on: libc::c_int = 1;
                    // SAFETY: a valid fd and a c_int option of its size.
                    unsafe {
                        libc::setsockopt(
                            stream.as_raw_fd(),
                            libc::SOL_SOCKET,
                            libc::SO_TIMESTAMPNS,
                            (&on as *const libc::c_int).cast(),
                            std::mem::size_of::<libc::c_int>() as _,
                        );
                    }
                    let mut buf = [0u8; 4096];
                    let mut pending = Vec::new();
                    loop {
                        let (n, stamp) = match read_stamped(&stream, &mut buf) {
                            Ok((0, _)) | Err(_) => return,
                            Ok(x) => x,
                        };
                        let now = stamp.unwrap_or_else(|| {
                            un.fetch_add(1, Ordering::Relaxed);
                            wall_ns()
                        });
                        pending.extend_from_slice(&buf[..n]);
                        // Bodiless requests: each ends with a blank line.
                        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            pending.drain(..end + 4);
                            t.lock().unwrap().push(now);
                            let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                            if stream.write_all(ok).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        Recorder {
            addr,
            times,
            untimed,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Gaps between consecutive arrivals, in milliseconds.
    fn gaps_ms(&self) -> Vec<f64> {
        let mut t = self.times.lock().unwrap().clone();
        t.sort();
        t.windows(2).map(|w| (w[1] - w[0]) as f64 / 1e6).collect()
    }
}

/// The gaps blast schedules for `-R rate -t 1` with this arrival, in ms,
/// over `secs`: what the server should see.
fn scheduled_gaps_ms(rate: f64, arrival: Arrival, secs: f64) -> Vec<f64> {
    let mut s = Schedule::new(Rate::share(rate, 1, 0, Duration::ZERO), arrival, 1, 0);
    let mut due = Vec::new();
    for k in 0.. {
        let d = s.due_s(k);
        if d >= secs {
            break;
        }
        due.push(d);
        s.advance();
    }
    due.windows(2).map(|w| (w[1] - w[0]) * 1e3).collect()
}

fn mean_cv(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, v.sqrt() / m)
}

/// What the server saw of one run, next to what blast scheduled.
struct Seen {
    mean: f64,
    cv: f64,
    arrivals: usize,
    want_mean: f64,
    want_cv: f64,
}

/// Runs of one measurement, at most.
const ATTEMPTS: u32 = 3;

/// Run blast at `-R rate -t 1` with `arrival` (a seed fixes the schedule)
/// against a recorder, and compare the gaps the server saw with those
/// scheduled. A box that stalls blast's thread for tens of milliseconds
/// (the host's other guests; CI saw 110 ms) shows as a gap far longer than
/// any scheduled one, and one that wakes it late all along as a CV above
/// the schedule's; such a run is measured again, up to three runs in all.
/// A pacer that stalls or strays does it every time and fails.
fn measure(flags: &str, rate: f64, arrival: Arrival, secs: f64) -> Seen {
    let sched = scheduled_gaps_ms(rate, arrival, secs);
    let (want_mean, want_cv) = mean_cv(&sched);
    let longest = sched.iter().copied().fold(0.0, f64::max);
    for attempt in 1..=ATTEMPTS {
        let s = Recorder::start();
        let r = run_line(flags, &s.url());
        assert_eq!(r.code, 0, "{}", r.stderr);
        let j = r.json();
        assert!(u(&j, "not_sent_at_end") <= 50, "{j}");
        let gaps = s.gaps_ms();
        let (mean, cv) = mean_cv(&gaps);
        let max = gaps.iter().copied().fold(0.0, f64::max);
        eprintln!(
            "{flags}: {} arrivals, mean gap {mean:.4} ms, cv {cv:.4}, longest {max:.1} ms; \
             scheduled {} arrivals, mean {want_mean:.4} ms, cv {want_cv:.4}, longest {longest:.1} ms; \
             latency max {} us; {} reads without a kernel timestamp",
            gaps.len() + 1,
            sched.len() + 1,
            j["latency_us"]["max"],
            s.untimed.load(Ordering::Relaxed)
        );
        if max > longest + 25.0 && attempt < ATTEMPTS {
            eprintln!("  a {max:.1} ms gap: the box stalled; measuring again");
            continue;
        }
        // Wake-up jitter of a busy box (the host's other guests too) adds
        // to the CV, spread over the run rather than one stall: measured
        // 1.07 and 1.36-1.50 against a schedule of 0.99, with the commit
        // before as with this one. A pacer that strays does it every time.
        if (cv - want_cv).abs() > 0.04 && attempt < ATTEMPTS {
            eprintln!("  cv {cv:.4} against {want_cv:.4} scheduled: measuring again");
            continue;
        }
        return Seen {
            mean,
            cv,
            arrivals: gaps.len() + 1,
            want_mean,
            want_cv,
        };
    }
    unreachable!()
}

#[test]
fn poisson_arrivals_at_the_server() {
    // The acceptance: -R 1000 --arrival poisson for 20 s, measured
    // on what the server receives: mean gap within 2% of 1 ms, coefficient
    // of variation within 5% of 1. The seed fixes the schedule (its own
    // mean gap is 1.0149 ms, CV 0.991: over 20,000 gaps the sampling error
    // of the mean is 0.7% and of the CV about 1%); what varies is how
    // closely blast keeps it and how promptly a busy box wakes the server's
    // threads, which adds to the CV, never to the mean, so the mean is also
    // held to the schedule's.
    let poisson = Arrival::Gamma {
        burstiness: 1.0,
        seed: 1,
    };
    let flags = "-R 1000 --arrival poisson --seed 1 -d 20s -c 50 -t 1 --json";
    let s = measure(flags, 1000.0, poisson, 20.0);
    assert!(
        (19_000..=21_000).contains(&s.arrivals),
        "{} arrivals",
        s.arrivals
    );
    assert!((s.mean - 1.0).abs() <= 0.02, "mean gap {} ms", s.mean);
    assert!((s.cv - 1.0).abs() <= 0.05, "cv {}", s.cv);
    assert!(
        (s.mean - s.want_mean).abs() <= 0.005,
        "mean {} vs {}",
        s.mean,
        s.want_mean
    );
}

#[test]
fn burstiness_shapes_the_gaps_at_the_server() {
    // --burstiness 4: gamma gaps of shape 4, cv 1/sqrt(4) = 0.5.
    let bursty = Arrival::Gamma {
        burstiness: 4.0,
        seed: 2,
    };
    let flags = "-R 500 --arrival poisson --burstiness 4 --seed 2 -d 6s -c 20 -t 1 --json";
    let s = measure(flags, 500.0, bursty, 6.0);
    assert!((s.mean - 2.0).abs() <= 0.06, "mean gap {} ms", s.mean);
    assert!(
        (s.mean - s.want_mean).abs() <= 0.01,
        "mean {} vs {}",
        s.mean,
        s.want_mean
    );
    // Wake-up jitter on a loaded 2-core box adds a few hundredths.
    assert!(
        (s.cv - s.want_cv).abs() <= 0.06,
        "cv {} vs {}",
        s.cv,
        s.want_cv
    );
}

#[test]
fn bad_arrival_flags_exit_2() {
    let url = "http://127.0.0.1:9/";
    let one_line = |r: &Run, flags: &str| {
        assert_eq!(r.code, 2, "{flags}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{flags}: {}", r.stderr);
    };
    for flags in [
        "--arrival poisson -d 1s",
        "--arrival constant -d 1s",
        "-R 10 --burstiness 2 -d 1s",
        "-R 10 --arrival constant --burstiness 2 -d 1s",
    ] {
        one_line(&run_line(flags, url), flags);
    }
    // clap's own refusals (a usage hint follows the error line).
    for flags in [
        "-R 10 --arrival uniform",
        "-R 10 --arrival poisson --burstiness 0",
        "-R 10 --arrival poisson --burstiness nan",
        "-R 10 --seed x",
    ] {
        let r = run_line(flags, url);
        assert_eq!(r.code, 2, "{flags}: {}", r.stderr);
    }
}

/// The report echoes the seed, given or drawn, so any run can be repeated.
#[test]
fn the_report_names_the_seed() {
    let s = crate::ok_server();
    let r = run_line(
        "--json -R 50 -d 300ms --arrival poisson --seed 42",
        &s.url(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(u(&r.json(), "config.seed"), 42);
    let r = run_line("--json -R 50 -d 300ms --arrival poisson", &s.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(u(&r.json(), "config.seed") > 0);
}
