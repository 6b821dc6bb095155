//! gRPC's flags (`--grpc`, `--proto`, `--import-path`, `--grpc-reflect`,
//! `--grpc-timeout`),
//! flattened into the run's; `grpc` reads them.

use super::values::parse_duration;
use clap::Args;
use std::time::Duration;

/// `blast --grpc pkg.Svc/Method --proto FILE URL`.
#[derive(Args, Debug, Clone, Default)]
pub struct GrpcArgs {
    /// Call this gRPC method (PACKAGE.Service/Method) over HTTP/2; the body (-b, --body-file, --data rows) is its request in JSON
    #[arg(long = "grpc", value_name = "PKG.Svc/Method")]
    pub grpc: Option<String>,

    /// A .proto file describing the gRPC service, compiled at start (repeatable)
    #[arg(long = "proto", value_name = "FILE")]
    pub proto: Vec<String>,

    /// Where the .proto files and their imports are found (repeatable) [default: each --proto file's folder]
    #[arg(long = "import-path", value_name = "DIR")]
    pub import_path: Vec<String>,

    /// With --grpc: take the service's descriptors from the server's reflection service (grpc.reflection.v1, else v1alpha), asked once at start, instead of --proto files
    #[arg(long = "grpc-reflect")]
    pub grpc_reflect: bool,

    /// With --grpc: the call's deadline, sent as grpc-timeout
    #[arg(long = "grpc-timeout", value_name = "D", value_parser = parse_duration)]
    pub grpc_timeout: Option<Duration>,
}
