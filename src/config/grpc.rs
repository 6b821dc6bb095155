//! gRPC's flags and what they settle before the run: `--grpc` makes the
//! run HTTP/2 (h2c over http://, h2 through ALPN over https:// and
//! grpcs://), the .proto files are compiled once (`--proto`,
//! `--import-path`), and each request's JSON body, once its `{{column}}`s
//! are filled, is encoded to protobuf and framed (`prepare`), so the
//! engine sends prepared bytes as it does for HTTP.
//!
//! The descriptors come from .proto files, or with `--grpc-reflect` from
//! the server's reflection service, asked once at the address and with the
//! TLS settings the run itself will use; `Schema::from_pool` takes either.

use super::cli::RunArgs;
use super::url::{resolve, Url};
use crate::error::{usage, Error};
use crate::proto::grpc::{schema, timeout_value, GrpcCall};
use crate::proto::grpc_reflect::{fetch, FetchError};
use crate::proto::h1::request::{Header, RequestSpec};
use crate::proto::tls::{TlsClient, TlsOptions};
use prost_reflect::DescriptorPool;
use std::sync::Arc;
use std::time::Duration;

/// The descriptors gRPC requests are encoded with, and what every call
/// sends besides its message.
#[derive(Clone, Debug)]
pub struct Schema {
    pool: DescriptorPool,
    timeout: Option<Duration>,
}

impl Schema {
    /// From descriptors however obtained (.proto files, reflection).
    pub fn from_pool(pool: DescriptorPool, timeout: Option<Duration>) -> Schema {
        Schema { pool, timeout }
    }
}

/// The run's flags as the rest of config reads them: with `--grpc`,
/// HTTP/2 is on (grpc:// and grpcs:// URLs, which `url` reads as http://
/// and https://, need it). None: nothing to change.
pub fn normalize(a: &RunArgs) -> Result<Option<RunArgs>, Error> {
    let g = &a.grpc;
    let url = a.pool.url.as_deref().unwrap_or("");
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    let grpc_url = matches!(scheme.as_deref(), Some("grpc" | "grpcs"));
    let file = a.request.scenario.is_some() || a.request.scenario_text.is_some();
    if g.grpc.is_none() && !file {
        for (flag, given) in [
            ("--proto", !g.proto.is_empty()),
            ("--import-path", !g.import_path.is_empty()),
            ("--grpc-timeout", g.grpc_timeout.is_some()),
            ("a grpc:// URL", grpc_url),
        ] {
            if given {
                return Err(usage(format!(
                    "{flag}: needs --grpc PACKAGE.Service/Method (or a --scenario with grpc requests)"
                )));
            }
        }
    }
    if g.grpc.is_none() {
        return Ok(None);
    }
    let r = &a.request;
    for (flag, given) in [
        ("--scenario", file),
        ("--targets", r.targets.is_some()),
        ("-X", r.method.is_some()),
        ("-F", !r.form.is_empty()),
        ("--openai", r.openai.is_some()),
        ("--no-keepalive", r.no_keepalive),
    ] {
        if given {
            return Err(usage(format!(
                "{flag}: not with --grpc (a gRPC call is a POST of one message over HTTP/2)"
            )));
        }
    }
    let mut n = a.clone();
    n.request.http2 = true;
    Ok(Some(n))
}

/// The descriptors of the run's gRPC requests, if it gives any. `origin`:
/// the run's URL and TLS flags, where `--grpc-reflect` asks (None for a
/// scenario, whose requests take --proto).
pub fn load(a: &RunArgs, origin: Option<(&Url, &TlsOptions)>) -> Result<Option<Schema>, Error> {
    let g = &a.grpc;
    if g.grpc_reflect {
        for (flag, given) in [
            ("--proto", !g.proto.is_empty()),
            ("--import-path", !g.import_path.is_empty()),
        ] {
            if given {
                return Err(usage(format!(
                    "{flag}: not with --grpc-reflect, which takes the descriptors from the server"
                )));
            }
        }
        let (Some(m), Some((url, tls))) = (&g.grpc, origin) else {
            return Err(usage(
                "--grpc-reflect: needs --grpc PACKAGE.Service/Method (a scenario's grpc requests take --proto)",
            ));
        };
        let pool = reflect(a, m, url, tls)?;
        schema::find(&pool, m).map_err(|e| usage(format!("--grpc-reflect: --grpc {e}")))?;
        return Ok(Some(Schema::from_pool(pool, g.grpc_timeout)));
    }
    if g.proto.is_empty() {
        return match &g.grpc {
            Some(m) => Err(usage(format!(
                "--grpc {m}: give the service's .proto with --proto FILE, or --grpc-reflect"
            ))),
            None => Ok(None),
        };
    }
    let pool = schema::compile(&g.proto, &g.import_path).map_err(usage)?;
    if let Some(m) = &g.grpc {
        schema::find(&pool, m).map_err(|e| usage(format!("--grpc {e}")))?;
    }
    Ok(Some(Schema::from_pool(pool, g.grpc_timeout)))
}

/// The descriptors of `method`'s service from the server `url` names, at
/// the address the run will connect to (`resolve`, so a pinned lookup holds)
/// and through the run's TLS settings. A server that is not reached exits 3
/// as the run's own connect failures do; one that answers without the
/// service (or without reflection) is bad input, exit 2.
fn reflect(
    a: &RunArgs,
    method: &str,
    url: &Url,
    tls: &TlsOptions,
) -> Result<prost_reflect::DescriptorPool, Error> {
    let service = method
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    let addr = resolve(url, a.pool.pinned.as_ref())?;
    let client = if url.tls {
        let mut o = tls.clone();
        o.alpn = vec![b"h2".to_vec()];
        Some(TlsClient::new(&url.host, &o).map_err(usage)?)
    } else {
        None
    };
    let limit = a.request.connect_timeout + a.request.timeout;
    fetch(addr, &url.host_header(), client.as_ref(), service, limit).map_err(|e| match e {
        FetchError::Unreached(m) => Error::Unreachable(format!("--grpc-reflect: {m}")),
        FetchError::Refused(m) => usage(format!("--grpc-reflect: {m}")),
    })
}

/// Make `spec` the gRPC call `method`: its JSON body encoded and framed,
/// its content type and deadline set. The error is one line (the field or
/// the method at fault) for the caller to prefix with where it was written.
pub fn prepare(
    s: Option<&Schema>,
    method: &str,
    http2: bool,
    spec: &mut RequestSpec,
) -> Result<Arc<GrpcCall>, String> {
    if !http2 {
        return Err(format!(
            "grpc = \"{method}\" needs HTTP/2: give --http2 (every request of the run then speaks it; gRPC and HTTP requests share one origin and protocol)"
        ));
    }
    let s = s.ok_or_else(|| {
        format!("grpc = \"{method}\": give the service's .proto with --proto FILE")
    })?;
    let m = schema::find(&s.pool, method)?;
    let call = schema::call_of(&m, method)?;
    let body = if spec.body.is_empty() {
        b"{}"
    } else {
        &spec.body[..]
    };
    spec.body = schema::encode_json(&m.input(), body).map_err(|e| format!("{method}: {e}"))?;
    spec.method = "POST".into();
    spec.body_type = Some("application/grpc".into());
    if let Some(t) = s.timeout {
        spec.headers.push(Header {
            name: "grpc-timeout".into(),
            value: timeout_value(t),
        });
    }
    Ok(Arc::new(call))
}

#[cfg(test)]
#[path = "grpc_tests.rs"]
mod tests;
