//! A worker's run from start to stop: the stop flag its connections poll,
//! the count of connections still running, and the two things shared across
//! threads: Ctrl-C and the outcome of every connection's first attempt.

use crate::stats::{Fault, TlsInfo};
use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Set by Ctrl-C or SIGTERM (or by an embedding program) to end the run
/// early. In an `Arc` so that signal-hook can set it from its handler; read
/// per tick, never per request.
pub static INTERRUPT: LazyLock<Arc<AtomicBool>> = LazyLock::new(Arc::default);

/// How the first connection attempt of every connection went, so the run can
/// end at once (exit 3) when none could connect, without a probe connection
/// of its own that the server would count.
#[derive(Default)]
pub struct Startup {
    pending: AtomicUsize,
    any_ok: AtomicBool,
    /// The last first attempt's fault, as `Fault as u8 + 1`; 0 while none
    /// has failed (a run that ends with attempts still pending has none).
    fault: AtomicU8,
    /// Some TCP connect succeeded and its TLS handshake began: an attempt
    /// still pending is waiting on a handshake, not on the connect.
    handshaking: AtomicBool,
    /// Set when every first attempt failed: the workers stop.
    abort: AtomicBool,
    /// Some TLS handshake completed (its first exchange may still be slow).
    handshaken: AtomicBool,
    /// What the first completed TLS handshake negotiated.
    tls: OnceLock<TlsInfo>,
    /// Set by the aggregator when `--abort-on-slo` stops the run.
    pub halt: Arc<AtomicBool>,
    /// Interval counts the aggregator hands back to the workers.
    pub spares: crate::stats::spare::Spares,
}

impl Startup {
    pub fn new(connections: u64) -> Arc<Self> {
        Arc::new(Startup {
            pending: AtomicUsize::new(connections as usize),
            ..Default::default()
        })
    }

    /// Called once per connection, after its first attempt.
    pub fn first_attempt(&self, result: Result<(), Fault>) {
        match result {
            Ok(()) => self.any_ok.store(true, Ordering::Release),
            Err(f) => self.fault.store(f as u8 + 1, Ordering::Release),
        }
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }

    /// Wait until one connection succeeded (Ok) or all failed (the fault).
    pub fn wait(&self, limit: Duration) -> Result<(), Fault> {
        let until = Instant::now() + limit;
        loop {
            if self.any_ok.load(Ordering::Acquire) {
                return Ok(());
            }
            let all_failed = self.pending.load(Ordering::Acquire) == 0;
            if !all_failed && Instant::now() > until && self.handshaken.load(Ordering::Acquire) {
                // Through TLS, waiting on a slow first response: not unreachable.
                return Ok(());
            }
            if all_failed || Instant::now() > until {
                // Attempts still pending and none failed: they got no
                // answer at all, to the connect or (once connected) to the
                // TLS handshake. Named for what they waited on, not as the
                // first entry of the table ("refused").
                let silent = if self.handshaking.load(Ordering::Acquire) {
                    Fault::TlsHandshakeTimeout
                } else {
                    Fault::ConnectTimeout
                };
                let _ = self.fault.compare_exchange(
                    0,
                    silent as u8 + 1,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
                self.abort.store(true, Ordering::Release);
                return Err(self.fault().unwrap_or(silent));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The fault stored by a first attempt, if any failed.
    fn fault(&self) -> Option<Fault> {
        let f = self.fault.load(Ordering::Acquire) as usize;
        f.checked_sub(1).and_then(|i| Fault::ALL.get(i).copied())
    }

    /// A TCP connect succeeded and its TLS handshake begins.
    pub fn handshaking(&self) {
        if !self.handshaking.load(Ordering::Relaxed) {
            self.handshaking.store(true, Ordering::Release);
        }
    }

    /// A TLS handshake completed with this outcome.
    pub fn tls_negotiated(&self, info: TlsInfo) {
        self.handshaken.store(true, Ordering::Release);
        if self.tls.get().is_none() {
            let _ = self.tls.set(info);
        }
    }

    pub fn tls_info(&self) -> Option<TlsInfo> {
        self.tls.get().cloned()
    }

    /// Every first attempt failed, or the SLO broke: the workers stop.
    pub(super) fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed) || self.halt.load(Ordering::Relaxed)
    }

    /// After `wait`: Err with the fault when no connection got through.
    pub fn outcome(&self) -> Result<(), Fault> {
        if self.abort.load(Ordering::Acquire) {
            Err(self.fault().unwrap_or(Fault::ConnectOther))
        } else {
            Ok(())
        }
    }
}

/// One worker's lifecycle, on its thread: stopping, and the connections
/// still running.
pub struct Lifecycle {
    stop: Cell<bool>,
    stop_notify: Notify,
    live: Cell<usize>,
    all_exited: Notify,
    /// How the first attempts went, across threads.
    pub startup: Arc<Startup>,
}

impl Lifecycle {
    pub fn new(connections: u64, startup: Arc<Startup>) -> Self {
        Lifecycle {
            stop: Cell::new(false),
            stop_notify: Notify::new(),
            live: Cell::new(connections as usize),
            all_exited: Notify::new(),
            startup,
        }
    }

    /// The worker is stopping: connections end at their next check.
    #[inline]
    pub fn stopped(&self) -> bool {
        self.stop.get()
    }

    /// Stop, and wake whatever waits on `unless_stopped`.
    pub(super) fn stop(&self) {
        self.stop.set(true);
        self.stop_notify.notify_waiters();
    }

    pub fn conn_exited(&self) {
        let n = self.live.get() - 1;
        self.live.set(n);
        if n == 0 {
            self.all_exited.notify_one();
        }
    }

    /// Connections still running.
    pub(super) fn live(&self) -> usize {
        self.live.get()
    }

    /// Completes when the last connection has exited.
    pub(super) fn all_exited(&self) -> tokio::sync::futures::Notified<'_> {
        self.all_exited.notified()
    }

    /// Run `f` unless the worker stops first.
    pub async fn unless_stopped<F: Future>(&self, f: F) -> Option<F::Output> {
        let stopped = self.stop_notify.notified();
        tokio::pin!(stopped);
        stopped.as_mut().enable();
        if self.stop.get() {
            return None;
        }
        tokio::select! {
            r = f => Some(r),
            _ = stopped => None,
        }
    }

    /// Sleep (connect back-off, ramp); false if the worker stopped meanwhile.
    pub async fn sleep_unless_stopped(&self, d: Duration) -> bool {
        self.unless_stopped(super::rt::sleep(d)).await.is_some()
    }
}

/// Back-off between failed attempts of a connection: 10 ms doubling to 1 s.
pub fn next_backoff(b: Duration) -> Duration {
    (b * 2).clamp(Duration::from_millis(10), Duration::from_secs(1))
}
