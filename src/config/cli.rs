//! Raw command-line flags (clap derive); their value parsers ("30s",
//! "500ms", "10k") are in `values`. Nothing here is checked beyond its own
//! syntax: cross-flag rules live in config/mod.rs.

pub use super::cli_tls::TlsArgs;
pub use super::target_args::TargetArgs;
pub use super::values::{
    parse_count, parse_duration, parse_percent, parse_rate, parse_size, parse_start_at,
    parse_tokens,
};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "blast",
    version,
    about = "HTTP load generator: wrk's speed and output, thread-per-core io_uring",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Search the maximum sustainable throughput under an SLO
    Find(FindArgs),
    /// Render or compare saved JSON results (text table, --html charts)
    Report(ReportArgs),
    /// Merge HdrHistogram interval logs (--hlog) from several load boxes into one report
    Merge(MergeArgs),
    /// Built-in HTTP/1.1 target server, for calibration and tests
    Target(TargetArgs),
    /// Start the built-in target in-process and measure how many req/s this box generates
    Calibrate(CalibrateArgs),
    /// Run load tests through an HTTP API (POST /benchmark, POST /find), one at a time
    Serve(ServeArgs),
}

/// Where to send, and over how many connections and threads.
#[derive(Args, Debug, Clone)]
pub struct PoolArgs {
    /// Target URL (http://host[:port]/path); also read from BLAST_URL. With --scenario or
    /// --targets: the origin of every request and the base of relative paths
    #[arg(env = "BLAST_URL", value_name = "URL")]
    pub url: Option<String>,

    /// Total open connections, spread over threads [default: 10, or the most users of --stages]
    #[arg(short = 'c', long = "connections", value_name = "N", value_parser = parse_count)]
    pub connections: Option<u64>,

    /// Worker threads, one per core [default: usable CPUs, at most -c]
    #[arg(short = 't', long = "threads", value_name = "N", value_parser = parse_count)]
    pub threads: Option<u64>,

    /// Connect from these local addresses, round-robin per connection:
    /// ADDR[,ADDR...] or a range FIRST-LAST (each adds ~28k ports per target)
    #[arg(long = "source", value_name = "ADDR[,ADDR...]", value_parser = super::source::parse)]
    pub source: Option<super::source::SourceList>,

    /// Not a flag: `blast serve`'s checked lookup of the URL's host, used instead of a second one.
    #[arg(skip)]
    pub pinned: Option<super::url::Resolved>,
}

/// How much to send: a single run's length, rate and outputs (`blast find`
/// chooses these itself).
#[derive(Args, Debug, Clone, Default)]
pub struct LoadArgs {
    /// Test length: 500ms, 30s, 2m, 1h [default: 10s, or none with -n]
    #[arg(short = 'd', long = "duration", value_name = "D", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Stop after exactly N requests (each a response or an error)
    #[arg(short = 'n', long = "requests", value_name = "N", value_parser = parse_count)]
    pub requests: Option<u64>,

    /// Open loop: N requests/s in total; latency counts from each request's scheduled time
    #[arg(short = 'R', long = "rate", value_name = "N", value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// With -R: constant (evenly spaced) or poisson (random gaps, as LLM benchmarks send)
    #[arg(long = "arrival", value_name = "KIND", value_parser = ["constant", "poisson"])]
    pub arrival: Option<String>,

    /// With --arrival poisson: gamma-distributed gaps of shape K (vLLM's; 1 = Poisson, <1 burstier)
    #[arg(long = "burstiness", value_name = "K", value_parser = crate::engine::pace::parse_burstiness)]
    pub burstiness: Option<f64>,

    /// Seed of random choices (--arrival poisson, weights, --data-order random), so a run can be repeated [default: from the clock]
    #[arg(long = "seed", value_name = "N")]
    pub seed: Option<u64>,

    /// Open connections (closed loop) or raise the rate (-R) linearly over D
    #[arg(long = "ramp-up", value_name = "D", value_parser = parse_duration)]
    pub ramp_up: Option<Duration>,

    /// Load stages D:N,...: ramp linearly to each N (users, or req/s from -R's rate) over D; the run lasts their sum
    #[arg(long = "stages", value_name = "D:N,...")]
    pub stages: Option<String>,

    /// With --slo: stop the run when a condition has failed in every second of a window of GRACE
    #[arg(long = "abort-on-slo", value_name = "GRACE", num_args = 0..=1, default_missing_value = "3s", value_parser = parse_duration)]
    pub abort_on_slo: Option<Duration>,

    /// HTTP/1.1 pipelining: write N requests at once per connection, read their N responses in order (closed loop) [default: 1]
    #[arg(long = "pipeline", value_name = "N", value_parser = super::pipeline::parse)]
    pub pipeline: Option<u64>,

    /// Run this long first without recording
    #[arg(long = "warmup", value_name = "D", value_parser = parse_duration)]
    pub warmup: Option<Duration>,

    /// Write PREFIX_stats.csv and PREFIX_stats_history.csv (Locust's layout)
    #[arg(long = "csv", value_name = "PREFIX")]
    pub csv: Option<String>,

    /// Write an HdrHistogram interval log (one histogram per second)
    #[arg(long = "hlog", value_name = "FILE")]
    pub hlog: Option<String>,

    /// Start at this time: unix seconds or RFC 3339 (several boxes start together)
    #[arg(long = "start-at", value_name = "T")]
    pub start_at: Option<String>,
}

/// What each request is, how it is judged, and how the report looks.
#[derive(Args, Debug, Clone)]
pub struct RequestArgs {
    /// Extra header "Name: value", repeatable; replaces a default of that name
    #[arg(short = 'H', long = "header", value_name = "K: V")]
    pub headers: Vec<String>,

    /// HTTP method [default: GET, or POST with a body]
    #[arg(short = 'X', long = "method", value_name = "M")]
    pub method: Option<String>,

    /// Speak HTTP/2: h2 through ALPN over https://, prior knowledge (h2c) over http://
    #[arg(long = "http2")]
    pub http2: bool,

    /// With --http2: concurrent streams per connection (h2load's -m)
    #[arg(short = 'm', long = "streams", value_name = "N", default_value = "1", value_parser = parse_count)]
    pub streams: u64,

    /// Request body
    #[arg(short = 'b', long = "body", value_name = "STR")]
    pub body: Option<String>,

    /// Request body from a file or an http:// URL fetched once; also BLAST_PAYLOAD
    #[arg(long = "body-file", env = "BLAST_PAYLOAD", value_name = "PATH|URL")]
    pub body_file: Option<String>,

    /// multipart/form-data field name=value or name=@path, repeatable
    #[arg(short = 'F', long = "form", value_name = "name=value|name=@path")]
    pub form: Vec<String>,

    /// Send OpenAI-compatible streaming completions for MODEL (see --prompt)
    #[arg(long = "openai", value_name = "MODEL")]
    pub openai: Option<String>,

    /// With --openai: the prompt [default: a short fixed prompt]
    #[arg(long = "prompt", value_name = "TEXT")]
    pub prompt: Option<String>,

    /// With --openai: a file of prompts, one a line
    #[arg(long = "prompts", value_name = "FILE")]
    pub prompts: Option<String>,

    /// With --openai: JSONL, each line {"prompt": ...} or {"messages": [...]}
    #[arg(long = "dataset", value_name = "FILE")]
    pub dataset: Option<String>,

    /// With --openai: max_tokens of each request
    #[arg(long = "max-tokens", value_name = "N", default_value = "128", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tokens: u32,

    /// Send the requests of a TOML scenario (weights, sequences, think time); the URL is then optional
    #[arg(long = "scenario", value_name = "FILE", conflicts_with = "targets")]
    pub scenario: Option<String>,

    /// A scenario given as its TOML text rather than a file (what `blast
    /// serve` takes as "scenario"): it may name no file (data, body_file,
    /// form files)
    #[arg(long = "scenario-text", value_name = "TOML", hide = true, conflicts_with_all = ["scenario", "targets"])]
    pub scenario_text: Option<String>,

    /// Send the targets of a vegeta "http" targets file (METHOD URL, headers, @body); the URL is then optional
    #[arg(long = "targets", value_name = "FILE")]
    pub targets: Option<String>,

    /// Fill {{column}} in paths, headers and bodies from the rows of a CSV file (header row: the names)
    #[arg(long = "data", value_name = "FILE.csv")]
    pub data: Option<String>,

    /// Keep a cookie jar per user (connection): Set-Cookie goes back as Cookie, cleared when a sequence run begins
    #[arg(long = "cookies")]
    pub cookies: bool,

    /// Which data row (or --prompts/--dataset prompt) each request takes: round-robin or random (see --seed) [default: round-robin]
    #[arg(long = "data-order", value_name = "ORDER", value_parser = ["round-robin", "random"])]
    pub data_order: Option<String>,

    /// Per-request timeout; a late response counts as a timeout error
    #[arg(long = "timeout", value_name = "D", default_value = "2s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// TCP connect timeout
    #[arg(long = "connect-timeout", value_name = "D", default_value = "2s", value_parser = parse_duration)]
    pub connect_timeout: Duration,

    /// Objectives, e.g. "p99<250ms,errors<1%,rps>5000"; exit 1 when one fails
    #[arg(long = "slo", value_name = "EXPR")]
    pub slo: Option<String>,

    /// Judge every response, e.g. "status == 200", "json /id exists",
    /// "body contains ok"; a failure is a `check` error (repeatable)
    #[arg(long = "check", value_name = "EXPR")]
    pub check: Vec<String>,

    /// Most body bytes a check keeps; a larger body fails the check
    #[arg(long = "max-body", value_name = "SIZE", default_value = "1MiB", value_parser = super::values::parse_max_body)]
    pub max_body: u64,

    /// Print the latency distribution
    #[arg(long = "latency", short = 'L')]
    pub latency: bool,

    /// Print the JSON report on stdout instead of text
    #[arg(long = "json")]
    pub json: bool,

    /// Write a self-contained HTML report with charts
    #[arg(long = "html", value_name = "FILE")]
    pub html: Option<String>,

    /// I/O engine: auto, uring, tokio-uring or epoll
    #[arg(long = "engine", value_name = "E", default_value = "auto", value_parser = ["auto", "uring", "tokio-uring", "epoll"])]
    pub engine: String,

    /// Send "Connection: close": one request per connection
    #[arg(long = "no-keepalive")]
    pub no_keepalive: bool,

    /// Time every response body as Server-Sent Events (LLM tokens), even
    /// without Content-Type text/event-stream
    #[arg(long = "stream")]
    pub stream: bool,

    /// No live progress line on stderr
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
}

/// The flags of a run: `blast [OPTIONS] URL`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub pool: PoolArgs,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub request: RequestArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub metrics: super::metrics::MetricsArgs,
    #[command(flatten)]
    pub grpc: super::grpc_flags::GrpcArgs,
}

#[derive(Args, Debug, Clone)]
pub struct FindArgs {
    /// Offered rate of the first step, requests/s
    #[arg(long = "start", value_name = "R", default_value = "100", value_parser = parse_rate)]
    pub start: f64,
    /// Highest rate to try, requests/s
    #[arg(long = "max", value_name = "R", default_value = "1M", value_parser = parse_rate)]
    pub max: f64,
    /// Length of each step
    #[arg(long = "step-duration", value_name = "D", default_value = "5s", value_parser = parse_duration)]
    pub step_duration: Duration,
    /// Stop bisecting when the bracket is this narrow, e.g. 5%
    #[arg(long = "precision", value_name = "P", default_value = "5%", value_parser = parse_percent)]
    pub precision: f64,
    #[command(flatten)]
    pub pool: PoolArgs,
    #[command(flatten)]
    pub request: RequestArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// JSON results saved from `blast --json` (or `blast find --json`)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Names for the runs, comma-separated [default: the file names]
    #[arg(long, value_delimiter = ',')]
    pub labels: Vec<String>,
    /// Write a self-contained HTML comparison with charts
    #[arg(long, value_name = "FILE")]
    pub html: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct MergeArgs {
    /// Interval logs written with --hlog
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Print the JSON report instead of text
    #[arg(long)]
    pub json: bool,
    /// Print the latency distribution
    #[arg(long, short = 'L')]
    pub latency: bool,
    /// Write a self-contained HTML report with charts
    #[arg(long, value_name = "FILE")]
    pub html: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct CalibrateArgs {
    /// How long to measure
    #[arg(short = 'd', long = "duration", default_value = "3s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Connections
    #[arg(short = 'c', long = "connections", default_value = "64", value_parser = parse_count)]
    pub connections: u64,
    /// I/O engine: auto, uring, tokio-uring or epoll
    #[arg(long = "engine", default_value = "auto", value_parser = ["auto", "uring", "tokio-uring", "epoll"])]
    pub engine: String,
    /// Measure over HTTPS (the target makes a certificate at start)
    #[arg(long = "tls")]
    pub tls: bool,
    /// A new connection (and TLS handshake) per request
    #[arg(long = "no-keepalive")]
    pub no_keepalive: bool,
    /// HTTP/1.1 pipelining: N requests per write on each connection (TechEmpower's 16)
    #[arg(long = "pipeline", value_name = "N", value_parser = super::pipeline::parse)]
    pub pipeline: Option<u64>,
    /// Print the JSON report instead of text
    #[arg(long = "json")]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one); beyond loopback only with --token
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8089")]
    pub listen: SocketAddr,
    /// Keep the runs' history and reports here [default: $XDG_DATA_HOME/blast/serve,
    /// else ~/.local/share/blast/serve, else blast-serve in the temp dir]
    #[arg(long = "data-dir", value_name = "DIR")]
    pub data_dir: Option<std::path::PathBuf>,
    /// Require "Authorization: Bearer T" on every call; also read from BLAST_TOKEN
    #[arg(long, env = "BLAST_TOKEN", value_name = "T", hide_env_values = true)]
    pub token: Option<String>,
    /// Runs may only target these: name globs (*.svc.local), or addresses and CIDR blocks (10.0.0.0/8, 10.0.0.*, ::1) that hold every address the name resolves to
    #[arg(
        long = "allow-target",
        value_name = "HOST[,HOST...]",
        value_delimiter = ','
    )]
    pub allow_target: Vec<String>,
    /// Longest run (warm-up included) a caller may ask for
    #[arg(long = "max-duration", value_name = "D", value_parser = parse_duration)]
    pub max_duration: Option<Duration>,
    /// Highest rate (qps) a caller may ask for; closed-loop runs are then refused
    #[arg(long = "max-rate", value_name = "R", value_parser = parse_rate)]
    pub max_rate: Option<f64>,
    /// Most connections (num_workers) a caller may ask for
    #[arg(long = "max-connections", value_name = "N", value_parser = parse_count)]
    pub max_connections: Option<u64>,
    /// Also answer calls with Host NAME (besides this address and the loopback names); * any
    #[arg(
        long = "allow-host",
        value_name = "NAME[,NAME...]",
        value_delimiter = ','
    )]
    pub allow_host: Vec<String>,
    /// Connections the API keeps open; 503 beyond [default: min(1024, open-file limit / 4)]
    #[arg(long = "max-api-connections", value_name = "N", value_parser = parse_count)]
    pub max_api_connections: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::time::Duration;

    #[test]
    fn flags_parse_like_wrk() {
        let cli = Cli::try_parse_from([
            "blast",
            "-c",
            "400",
            "-t",
            "12",
            "-d",
            "30s",
            "http://svc:8080/predict",
        ])
        .unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.run.pool.connections, Some(400));
        assert_eq!(cli.run.pool.threads, Some(12));
        assert_eq!(cli.run.load.duration, Some(Duration::from_secs(30)));
        assert_eq!(cli.run.pool.url.as_deref(), Some("http://svc:8080/predict"));
    }

    #[test]
    fn subcommands() {
        let cli = Cli::try_parse_from([
            "blast",
            "target",
            "--listen",
            "127.0.0.1:0",
            "--delay",
            "20ms",
        ])
        .unwrap();
        assert!(
            matches!(cli.command, Some(Command::Target(ref t)) if t.delay == Duration::from_millis(20))
        );
        assert!(Cli::try_parse_from(["blast", "-c", "0", "http://x/"]).is_err());
    }
}
