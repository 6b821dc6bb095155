//! `blast target`'s flags, apart from cli.rs so that file keeps room for
//! the run's flags; cli.rs re-exports `TargetArgs` where `Command` names it.

use super::values::{parse_count, parse_duration, parse_size, parse_tokens};
use clap::Args;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// Address to listen on (port 0 picks a free one)
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Server threads
    #[arg(long, default_value = "1", value_parser = parse_count)]
    pub threads: u64,
    /// Wait this long before answering each request
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub delay: Duration,
    /// Response body size in bytes (k/M suffixes allowed)
    #[arg(long = "body-size", default_value = "13", value_parser = parse_size)]
    pub body_size: u64,
    /// Response status code
    #[arg(long, default_value = "200", value_parser = clap::value_parser!(u16).range(100..=999))]
    pub status: u16,
    /// Pin server threads to these CPUs, e.g. 1 or 2,3
    #[arg(long, value_delimiter = ',')]
    pub cpus: Vec<usize>,
    /// Serve HTTPS with a self-signed certificate made at start
    #[arg(long)]
    pub tls: bool,
    /// With --tls: write the certificate (PEM) here [default: a file in the temp dir]
    #[arg(long = "cert-out", value_name = "FILE", requires = "tls")]
    pub cert_out: Option<std::path::PathBuf>,
    /// Also serve HTTP/2: h2c by prior knowledge, and h2 through ALPN with --tls
    #[arg(long = "http2")]
    pub http2: bool,
    /// Answer each request with an OpenAI-style SSE stream of N tokens (0: off):
    /// a role event at once, N content events, a finish_reason "stop" chunk,
    /// the usage event, data: [DONE]. It replaces --body-size; --delay and --status still apply
    #[arg(long = "stream", value_name = "N", default_value = "0", value_parser = parse_tokens)]
    pub stream: u64,
    /// With --stream: from the response's start to the first token
    #[arg(long = "first-token", value_name = "D", default_value = "0s", value_parser = parse_duration)]
    pub first_token: Duration,
    /// With --stream: between tokens (token k is due first-token + k×D after the response starts)
    #[arg(long = "token-interval", value_name = "D", default_value = "0s", value_parser = parse_duration)]
    pub token_interval: Duration,
    /// With --stream: send the usage event (completion_tokens = N) before [DONE]
    #[arg(long = "usage", value_name = "on|off", default_value = "on", value_parser = ["on", "off"])]
    pub usage: String,
    /// Count requests per path and keep the first N (connection, method,
    /// path, body): GET /__blast/requests answers them as JSON (0: off)
    #[arg(long = "record", value_name = "N", default_value = "0")]
    pub record: usize,
    /// Serve gRPC (implies --http2): blast.Echo/Say answers each message as it
    /// came, with grpc-status 0 in the trailers, counted as requests; server
    /// reflection (grpc.reflection.v1 and v1alpha) describes it
    #[arg(long = "grpc")]
    pub grpc: bool,
    /// With --grpc: which reflection services answer (off and v1alpha test
    /// clients' errors and fallbacks)
    #[arg(long = "grpc-reflection", value_name = "both|v1alpha|off", default_value = "both",
          value_parser = ["both", "v1alpha", "off"], hide = true, requires = "grpc")]
    pub grpc_reflection: String,
}
