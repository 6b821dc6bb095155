//! `--grpc-reflect`: a service's descriptors from the server's reflection
//! service, fetched once before the run, so a gRPC run needs no .proto file.
//!
//! Contract of [`fetch`]: one HTTP/2 connection to `addr` (TLS through the
//! run's own `TlsClient` when given, offering ALPN `h2`; h2c by prior
//! knowledge otherwise) on a small current-thread tokio runtime made for
//! it, closed before it returns; all of it within `timeout`. It asks
//! `grpc.reflection.v1` first and falls back to `v1alpha` only when v1 is
//! UNIMPLEMENTED (older servers, grpc-java before 1.57, serve only that).
//! It asks `file_containing_symbol` for the service, then `file_by_filename`
//! for every import not yet sent, one question per stream (servers may send imports along, or not),
//! and builds a `prost_reflect::DescriptorPool` that holds the service. The
//! error is one line without a flag's name, for the caller to prefix, and
//! says whether the server was reached ([`FetchError`]): a run that cannot
//! reach its target exits 3, one that asks for what the server does not
//! serve exits 2.
//!
//! The state of the asking, `resolver::Resolver`, knows no I/O (unit-tested on canned
//! answers); `stream` moves its questions and answers over h2.

use std::net::SocketAddr;
use std::time::Duration;

use prost_reflect::DescriptorPool;

use super::tls::TlsClient;
pub use stream::FetchError;

/// The descriptors of `service` (`package.Service`) from the server at
/// `addr`; `authority` is the `:authority` sent (the URL's host[:port]).
pub fn fetch(
    addr: SocketAddr,
    authority: &str,
    tls: Option<&TlsClient>,
    service: &str,
    timeout: Duration,
) -> Result<DescriptorPool, FetchError> {
    let unreached = FetchError::Unreached;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| unreached(format!("reflection: cannot start a runtime: {e}")))?;
    let ask = stream::ask(addr, authority, tls, service);
    rt.block_on(async { tokio::time::timeout(timeout, ask).await })
        .map_err(|_| {
            unreached(format!(
                "reflection: no answer from {authority} within {timeout:?}"
            ))
        })?
}

mod resolver;
mod stream;

#[cfg(test)]
mod tests;
