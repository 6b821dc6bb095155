//! The load engine: pinned workers, one per core (`worker`; `session`
//! starts them and hands them phases), each running its slice of the
//! connections on its own runtime (the batched io_uring runtime of `ring`,
//! tokio-uring or epoll, behind the seam in `io`; shared code reaches
//! timers and tasks through the `rt` facade). A connection is `conn` over
//! HTTP/1.1 (through `link`, plain or TLS; `pipeline` with `--pipeline`)
//! or `h2conn` over HTTP/2 (made by `h2io`).
//!
//! A worker's connections share its state (`shared`), composed of one part
//! per concern: the run's `ConnSettings`, what they send (`mix`), the
//! pacer (`pacer`, over the schedule of `pace` and the fine waits of
//! `precise`), the lifecycle (`lifecycle`), one slot per request in flight,
//! and the per-thread `stats::Stats` (streamed responses timed by `tokens`).
//!
//! It knows no report or file format: what it measured leaves as
//! `stats::Summary` values, and interval histograms through the
//! `stats::IntervalSink` the caller passes in. It takes its orders as
//! `Settings`, which `config` builds from the user's flags.

pub mod collect;
mod conn;
pub mod flow;
mod grpccall;
mod h2conn;
mod h2io;
mod h2stream;
pub mod io;
pub mod lane;
mod lifecycle;
mod link;
pub mod mix;
pub mod pace;
mod pacer;
mod pipeline;
mod precise;
pub mod ring;
pub mod rt;
pub mod session;
mod shared;
mod tokens;
mod worker;

pub use lifecycle::INTERRUPT;
pub use pace::Arrival;
pub use pacer::{PaceSpec, Phase};
pub use session::{run, Session};

use crate::proto::tls::TlsClient;
use crate::shape::Stages;
use crate::stats::abort::AbortRule;
use crate::stats::slo::Condition;
use crate::stats::RunInfo;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The I/O engine of the workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The ring runtime (`ring`): batched completions on io_uring.
    Uring,
    /// The tokio-uring runtime, kept one release for side-by-side tables.
    TokioUring,
    Epoll,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Uring => "uring",
            Engine::TokioUring => "tokio-uring",
            Engine::Epoll => "epoll",
        }
    }
}

/// What one run asks of the engine, validated by `config`, one part per
/// concern: what every connection needs, what it sends, the shape of the
/// load, and how the run shows itself.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The target, for the exit-3 message ("cannot connect to HOST (ADDR)").
    pub host: String,
    /// What every connection needs: built once, shared as it is by every
    /// worker (no copy per worker).
    pub conn: Arc<ConnSettings>,
    /// What the connections write: one encoded request, or a mix.
    pub mix: Arc<mix::Mix>,
    /// How many connections, how fast, for how long.
    pub shape: LoadShape,
    pub engine: Engine,
    /// Show the live progress line on stderr.
    pub progress: bool,
    /// What the report echoes of the run's settings.
    pub info: RunInfo,
}

/// What a connection needs to connect, speak and judge its responses; the
/// same for every connection of the run, and never changed once built.
#[derive(Debug)]
pub struct ConnSettings {
    pub addr: SocketAddr,
    /// `--source`: local addresses, one per connection round-robin by its
    /// index over all threads (empty: the kernel chooses).
    pub sources: Vec<IpAddr>,
    /// `--timeout`: HTTP/1.1 requests are swept by the worker, HTTP/2
    /// streams time out one by one.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub keepalive: bool,
    /// `--stream`: parse every body as Server-Sent Events.
    pub force_stream: bool,
    /// For https: the TLS client every connection uses.
    pub tls: Option<TlsClient>,
    /// `--http2`: speak HTTP/2 (the ring and epoll engines).
    pub h2: Option<H2Settings>,
    /// `--pipeline`: HTTP/1.1 requests written per batch (1: one at a time).
    pub pipeline: u32,
    /// `--slo`'s per-request conditions (ttft, tpot, e2el): a streamed
    /// response that meets them all counts toward goodput.
    pub goodput: Vec<Condition>,
    /// `--max-body`: most body bytes a check keeps, and the detail of the
    /// `check` failure of a larger body.
    pub max_body: usize,
    pub max_body_detail: String,
}

/// The shape of the load: how many connections on how many workers, how
/// fast, for how long or how many requests.
#[derive(Clone, Debug)]
pub struct LoadShape {
    pub connections: u64,
    pub threads: u64,
    pub duration: Option<Duration>,
    pub requests: Option<u64>,
    /// Open-loop rate, requests/s over all threads (`-R`).
    pub rate: Option<f64>,
    pub ramp_up: Duration,
    /// `--arrival`/`--burstiness`: how the gaps of `-R` are drawn.
    pub arrival: Arrival,
    /// `--seed`: the seed of every random choice (given, or from the clock).
    pub seed: u64,
    pub warmup: Duration,
    /// `--start-at`: wait for this wall-clock time before starting.
    pub start_at: Option<SystemTime>,
    /// `--stages`: the rate (with `rate`) or the open connections follow it.
    pub stages: Option<Arc<Stages>>,
    /// `--abort-on-slo`: stop when the SLO fails this long.
    pub abort: Option<AbortRule>,
}

/// `--http2`: how many requests a connection carries at once (the requests
/// are the mix's variants, each with its HTTP/2 form).
#[derive(Clone, Debug)]
pub struct H2Settings {
    /// Requests in flight at once per connection (`-m`, `--streams`).
    pub max_concurrent: u64,
}

impl ConnSettings {
    /// Requests one connection carries at once: `-m` over HTTP/2, else
    /// `--pipeline`'s batch (1 without it).
    pub fn per_conn(&self) -> u64 {
        self.h2
            .as_ref()
            .map_or(u64::from(self.pipeline), |h| h.max_concurrent)
    }

    /// HTTP/1.1 with batches of more than one request (`pipeline`).
    pub fn pipelined(&self) -> bool {
        self.h2.is_none() && self.pipeline > 1
    }
}

impl LoadShape {
    /// Connections of worker `i`: the remainder goes to the first workers.
    pub fn connections_of(&self, i: u64) -> u64 {
        split(self.connections, self.threads, i)
    }

    /// Share of `-n` for worker `i`.
    pub fn requests_of(&self, i: u64) -> Option<u64> {
        self.requests.map(|n| split(n, self.threads, i))
    }
}

/// `total / parts`, plus one for the first `total % parts` parts.
pub fn split(total: u64, parts: u64, i: u64) -> u64 {
    total / parts + u64::from(i < total % parts)
}

#[cfg(test)]
mod tests {
    #[test]
    fn split_gives_remainder_to_first() {
        let parts: Vec<u64> = (0..3).map(|i| super::split(10, 3, i)).collect();
        assert_eq!(parts, vec![4, 3, 3]);
        assert_eq!(parts.iter().sum::<u64>(), 10);
    }
}
