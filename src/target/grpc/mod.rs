//! `blast target --grpc`: the speed peer's server for gRPC runs, and the
//! server that `--grpc-reflect`'s fetch is tested against.
//!
//! `blast.Echo/Say` answers the message it was sent, byte for byte: the
//! request's frame goes back as the response's (one message, uncompressed,
//! under 4 MiB), so nothing is decoded, re-encoded or copied when it came
//! in one DATA frame, and blast and h2load sending the same bytes cost the
//! server the same (after `--delay`, when given). `grpc-status: 0`
//! follows in the trailers. Each call is
//! counted as a request; reflection streams are not (as the stats endpoint
//! is not).
//!
//! The service's descriptors come from `ECHO_PROTO`, compiled at start with
//! protox; server reflection (`grpc.reflection.v1` and `v1alpha`, see
//! `reflect`) answers from them. Any other gRPC path is UNIMPLEMENTED, in a
//! trailers-only response; requests that are not gRPC (no
//! `content-type: application/grpc`) are answered as without `--grpc`.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response};
use prost_reflect::DescriptorPool;
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

use crate::reflection::{MAX_MESSAGE, V1ALPHA_PATH, V1_PATH};
pub(super) use body::GrpcBody;
use status::{status_headers, INTERNAL, UNIMPLEMENTED};

/// The echo service, as `blast target --grpc` describes it to reflection.
pub const ECHO_PROTO: &str = r#"syntax = "proto3";

package blast;

import "google/protobuf/timestamp.proto";

// Say answers the message it was sent, byte for byte.
service Echo {
  rpc Say(EchoMessage) returns (EchoMessage);
}

message EchoMessage {
  string text = 1;
  bytes payload = 2;
  google.protobuf.Timestamp sent = 3;
}
"#;

/// The name reflection gives `ECHO_PROTO` (`file_by_filename`).
pub const ECHO_FILE: &str = "blast/echo.proto";

/// `:path` of the echo method.
pub const SAY_PATH: &str = "/blast.Echo/Say";

/// Which reflection services answer: both, as real servers do, or fewer, so
/// that a client's fallback and its error can be tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reflection {
    #[default]
    Both,
    V1alphaOnly,
    Off,
}

/// `--grpc`'s settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GrpcOptions {
    pub reflection: Reflection,
}

/// What every server thread shares to answer gRPC: made once at start.
#[derive(Clone)]
pub(super) struct Grpc {
    pool: DescriptorPool,
    reflection: Reflection,
}

impl Grpc {
    pub(super) fn new(opts: GrpcOptions) -> std::io::Result<Grpc> {
        let mut chain = ChainFileResolver::new();
        chain.add(Embedded);
        chain.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(chain);
        compiler
            .open_file(ECHO_FILE)
            .map_err(|e| std::io::Error::other(format!("target: {ECHO_FILE}: {e}")))?;
        Ok(Grpc {
            pool: compiler.descriptor_pool(),
            reflection: opts.reflection,
        })
    }

    /// A gRPC call (POST with a gRPC content type), which `answer` takes.
    pub(super) fn is_call(req: &Request<Incoming>) -> bool {
        req.method() == Method::POST
            && req
                .headers()
                .get(CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
    }

    /// Answer one call, a Say after `delay`; `count` bumps this thread's
    /// request counter.
    pub(super) async fn answer(
        &self,
        req: Request<Incoming>,
        delay: Duration,
        count: impl FnOnce(),
    ) -> Response<GrpcBody> {
        let path = req.uri().path();
        if path == SAY_PATH {
            return match unary(req.into_body()).await {
                Ok(msg) => {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    count();
                    response(GrpcBody::unary(msg))
                }
                Err(why) => trailers_only(INTERNAL, why),
            };
        }
        let served = match self.reflection {
            Reflection::Both => path == V1_PATH || path == V1ALPHA_PATH,
            Reflection::V1alphaOnly => path == V1ALPHA_PATH,
            Reflection::Off => false,
        };
        if served {
            let pool = self.pool.clone();
            return response(GrpcBody::reflect(req.into_body(), pool));
        }
        trailers_only(UNIMPLEMENTED, "unknown service or method")
    }
}

/// The request's one message, still framed: a single DATA frame is passed
/// on as it is (no copy), several are gathered.
async fn unary(mut body: Incoming) -> Result<Bytes, &'static str> {
    let mut whole = Bytes::new();
    let mut gathered: Option<BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| "request body failed")?.into_data() else {
            continue; // request trailers: nothing to do with them
        };
        if whole.is_empty() && gathered.is_none() {
            whole = data;
            continue;
        }
        let g = gathered.get_or_insert_with(|| BytesMut::from(&whole[..]));
        if g.len() + data.len() > MAX_MESSAGE + 5 {
            return Err("message over 4 MiB");
        }
        g.extend_from_slice(&data);
    }
    let whole = gathered.map_or(whole, BytesMut::freeze);
    match &whole[..] {
        [0, a, b, c, d, rest @ ..]
            if u32::from_be_bytes([*a, *b, *c, *d]) as usize == rest.len() =>
        {
            Ok(whole)
        }
        [1, ..] => Err("compressed message (no grpc-encoding was agreed)"),
        _ => Err("expected one length-prefixed message"),
    }
}

fn response(body: GrpcBody) -> Response<GrpcBody> {
    let mut resp = Response::new(body);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    resp
}

/// A response with no message whose headers carry the status.
fn trailers_only(code: u32, message: &'static str) -> Response<GrpcBody> {
    let mut resp = response(GrpcBody::empty());
    let h = resp.headers_mut();
    status_headers(h, code, message);
    resp
}

/// `ECHO_FILE` from the string above; google/protobuf/* from protox.
struct Embedded;

impl FileResolver for Embedded {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == ECHO_FILE {
            File::from_source(name, ECHO_PROTO)
        } else {
            Err(protox::Error::file_not_found(name))
        }
    }
}

mod body;
mod reflect;
mod status;

#[cfg(test)]
mod tests;
