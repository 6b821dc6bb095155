//! HTTP/2, spoken through the `h2` crate (hyper's): the request built once
//! before the run, the window sizes, and what h2's errors mean for a request.
//!
//! The request is one `http::Request<()>` template and the body as `Bytes`.
//! Each stream sends a clone of both: the header values and the body are
//! reference-counted, so nothing is formatted or encoded again per request
//! (HPACK encoding is h2's, per connection). Headers HTTP/2 forbids
//! (`Connection`, `Keep-Alive`, `Transfer-Encoding`, `Upgrade`, ...) are left
//! out rather than failing every stream; `Host` becomes the `:authority`.
//!
//! Windows are sized so one stream can carry a 50 MB body at full speed: an
//! 8 MiB stream window and a 16 MiB connection window, released as each
//! DATA frame is counted and dropped, so memory stays flat (larger windows
//! only let h2 queue more frames ahead of the reader: measured, 16/32 MiB
//! cost 10 MB more peak RSS on a 50 MB body and were no faster on loopback).

use super::grpc::GrpcCall;
use super::h1::request::RequestSpec;
use crate::stats::Fault;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Method, Request, Uri};
use std::sync::Arc;

/// Initial flow-control window of each stream.
pub const STREAM_WINDOW: u32 = 8 << 20;
/// Initial flow-control window of the connection.
pub const CONN_WINDOW: u32 = 16 << 20;
/// Largest DATA frame the server may send (fewer frames for large bodies).
pub const MAX_FRAME: u32 = 256 << 10;

/// Headers that only mean something on an HTTP/1.1 connection.
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
];

/// The request every stream sends: built once, cloned per stream.
#[derive(Clone, Debug)]
pub struct H2Request {
    head: Request<()>,
    pub body: Bytes,
    /// A gRPC call: how its response is read (`engine::grpccall`).
    pub grpc: Option<Arc<GrpcCall>>,
}

impl H2Request {
    /// Build from the same description as the HTTP/1.1 request. `tls`
    /// picks the `:scheme`. Errors are one line naming the value at fault.
    pub fn build(spec: &RequestSpec, tls: bool) -> Result<H2Request, String> {
        Self::build_call(spec, tls, None)
    }

    /// As `build`, or as the gRPC call `call`: then the head is what
    /// gRPC's own clients send (grpc-go, grpc-java): `te: trailers`, which
    /// gRPC servers require (and `build` drops as hop-by-hop), and none of
    /// HTTP's `accept` or `content-length` defaults (`-H` still adds them).
    /// Two fewer headers are two fewer for h2 to copy, check and encode on
    /// every call.
    pub fn build_call(
        spec: &RequestSpec,
        tls: bool,
        call: Option<Arc<GrpcCall>>,
    ) -> Result<H2Request, String> {
        let http = call.is_none();
        let user_has = |name: &str| {
            spec.headers
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case(name))
        };
        let authority = spec
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("host"))
            .map_or(spec.host.as_str(), |h| h.value.as_str());
        let uri = Uri::builder()
            .scheme(if tls { "https" } else { "http" })
            .authority(authority)
            .path_and_query(spec.target.as_str())
            .build()
            .map_err(|e| format!("--http2: cannot build the request URI: {e}"))?;
        let method = Method::from_bytes(spec.method.as_bytes())
            .map_err(|_| format!("-X '{}': not a valid HTTP method", spec.method))?;
        let mut head = Request::new(());
        *head.method_mut() = method;
        *head.uri_mut() = uri;
        let headers = head.headers_mut();
        let mut add = |name: &str, value: &str| -> Result<(), String> {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("-H '{name}': invalid header name"))?;
            let v = HeaderValue::from_str(value)
                .map_err(|_| format!("-H '{name}': invalid header value"))?;
            headers.append(n, v);
            Ok(())
        };
        let agent = concat!("blast/", env!("CARGO_PKG_VERSION"));
        if !user_has("user-agent") {
            add("user-agent", agent)?;
        }
        if http && !user_has("accept") {
            add("accept", "*/*")?;
        }
        if http && !spec.body.is_empty() && !user_has("content-length") {
            add("content-length", &spec.body.len().to_string())?;
        }
        if let (false, Some(t), false) = (
            spec.body.is_empty(),
            &spec.body_type,
            user_has("content-type"),
        ) {
            add("content-type", t)?;
        }
        for h in &spec.headers {
            let lower = h.name.to_ascii_lowercase();
            if lower == "host" || HOP_BY_HOP.contains(&lower.as_str()) {
                continue;
            }
            add(&h.name, &h.value)?;
        }
        if !http {
            add("te", "trailers")?;
        }
        Ok(H2Request {
            head,
            body: Bytes::from(spec.body.clone()),
            grpc: call,
        })
    }

    /// The head of one stream: a clone of the template.
    #[inline]
    pub fn head(&self) -> Request<()> {
        self.head.clone()
    }

    pub fn method(&self) -> &Method {
        self.head.method()
    }

    /// A stream's request from a lane's rendered HTTP/1.1 request (captured
    /// values spliced in, the jar's `Cookie`): its method, target, headers
    /// and body, on this template's scheme and authority. One allocation
    /// per request, as h2 makes anyway. None: the rendered bytes are not a
    /// request HTTP/2 can carry.
    pub fn render(&self, h1: &[u8]) -> Option<(Request<()>, Bytes)> {
        let mut hs = [httparse::EMPTY_HEADER; 100];
        let mut parsed = httparse::Request::new(&mut hs);
        let httparse::Status::Complete(n) = parsed.parse(h1).ok()? else {
            return None;
        };
        let mut head = Request::new(());
        *head.method_mut() = Method::from_bytes(parsed.method?.as_bytes()).ok()?;
        let mut uri = self.head.uri().clone().into_parts();
        uri.path_and_query = Some(parsed.path?.parse().ok()?);
        *head.uri_mut() = Uri::from_parts(uri).ok()?;
        let headers = head.headers_mut();
        for h in parsed.headers.iter() {
            let lower = h.name.to_ascii_lowercase();
            if lower == "host" || HOP_BY_HOP.contains(&lower.as_str()) {
                continue;
            }
            let name = HeaderName::from_bytes(lower.as_bytes()).ok()?;
            headers.append(name, HeaderValue::from_bytes(h.value).ok()?);
        }
        Some((head, Bytes::copy_from_slice(&h1[n..])))
    }
}

/// What a failed stream means for its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The server did not process it (REFUSED_STREAM, or above the last
    /// stream id of a graceful GOAWAY): send it again, it is no error.
    Unprocessed,
    /// The connection failed under it (read error or EOF): the caller
    /// decides, as for HTTP/1.1, whether it was an idle close.
    Io(std::io::ErrorKind),
    /// A failure of this request, with its cause.
    Fault(Fault),
}

/// Classify an error of a stream.
pub fn classify(e: &h2::Error) -> Failure {
    use h2::Reason;
    if let Some(io) = e.get_io() {
        return match super::tls::fault_in(io) {
            Some(f) => Failure::Fault(f),
            None => Failure::Io(io.kind()),
        };
    }
    let reason = e.reason();
    if e.is_remote() {
        if reason == Some(Reason::REFUSED_STREAM) {
            return Failure::Unprocessed;
        }
        if e.is_go_away() {
            return if reason == Some(Reason::NO_ERROR) {
                Failure::Unprocessed
            } else {
                Failure::Fault(Fault::H2GoAway)
            };
        }
        if e.is_reset() {
            return Failure::Fault(reset_fault(reason.unwrap_or(Reason::INTERNAL_ERROR)));
        }
    }
    Failure::Fault(Fault::H2Protocol)
}

/// The fault of a stream the server reset with `r`.
pub fn reset_fault(r: h2::Reason) -> Fault {
    use h2::Reason;
    match r {
        Reason::PROTOCOL_ERROR => Fault::H2ResetProtocol,
        Reason::INTERNAL_ERROR => Fault::H2ResetInternal,
        Reason::FLOW_CONTROL_ERROR => Fault::H2ResetFlowControl,
        Reason::STREAM_CLOSED => Fault::H2ResetStreamClosed,
        Reason::CANCEL => Fault::H2ResetCancel,
        Reason::ENHANCE_YOUR_CALM => Fault::H2ResetEnhanceYourCalm,
        Reason::HTTP_1_1_REQUIRED => Fault::H2ResetHttp11Required,
        _ => Fault::H2ResetOther,
    }
}

/// A connection that failed under a stream, as HTTP/1.1 names it.
pub fn io_fault(kind: std::io::ErrorKind, answered: bool) -> Fault {
    use std::io::ErrorKind as K;
    match kind {
        K::ConnectionReset | K::ConnectionAborted => Fault::ReadReset,
        K::UnexpectedEof | K::BrokenPipe if answered => Fault::ReadEofMidBody,
        K::UnexpectedEof | K::BrokenPipe => Fault::ReadEofBeforeResponse,
        _ => Fault::ReadOther,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::h1::request::Header;

    fn spec() -> RequestSpec {
        RequestSpec {
            method: "POST".into(),
            target: "/p?q=1".into(),
            host: "svc:8080".into(),
            headers: vec![
                Header {
                    name: "X-Trace".into(),
                    value: "abc".into(),
                },
                Header {
                    name: "Connection".into(),
                    value: "keep-alive".into(),
                },
            ],
            body: b"{}".to_vec(),
            body_type: Some("application/json".into()),
            close: false,
        }
    }

    #[test]
    fn request_is_built_once_and_cloned() {
        let r = H2Request::build(&spec(), false).unwrap();
        let h = r.head();
        assert_eq!(h.method(), Method::POST);
        assert_eq!(h.uri().to_string(), "http://svc:8080/p?q=1");
        assert_eq!(h.headers()["x-trace"], "abc");
        assert_eq!(h.headers()["content-type"], "application/json");
        assert_eq!(h.headers()["content-length"], "2");
        assert!(h.headers().get("connection").is_none());
        assert_eq!(&r.body[..], b"{}");
        // The body is shared, not copied.
        let b = r.body.clone();
        assert_eq!(b.as_ptr(), r.body.as_ptr());
        let tls = H2Request::build(&spec(), true).unwrap();
        assert_eq!(tls.head().uri().scheme_str(), Some("https"));
    }

    #[test]
    fn resets_name_their_code() {
        assert_eq!(
            reset_fault(h2::Reason::INTERNAL_ERROR),
            Fault::H2ResetInternal
        );
        assert!(reset_fault(h2::Reason::CANCEL).label().contains("CANCEL"));
        assert_eq!(reset_fault(h2::Reason::from(0xff)), Fault::H2ResetOther);
    }
    #[test]
    fn a_rendered_request_keeps_scheme_and_authority_and_drops_host() {
        let r = H2Request::build(&spec(), false).unwrap();
        let (head, body) = r
            .render(b"POST /api?q=1 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nAuthorization: Bearer t-1\r\nCookie: s=1\r\nContent-Length: 2\r\n\r\nab")
            .unwrap();
        assert_eq!(head.method(), Method::POST);
        assert_eq!(head.uri().path_and_query().unwrap(), "/api?q=1");
        assert_eq!(head.uri().authority(), r.head.uri().authority());
        assert_eq!(head.headers()["authorization"], "Bearer t-1");
        assert_eq!(head.headers()["cookie"], "s=1");
        assert!(head.headers().get("host").is_none());
        assert!(head.headers().get("connection").is_none());
        assert_eq!(&body[..], b"ab");
        assert!(r.render(b"GET /x HTTP/1.1\r\n").is_none(), "incomplete");
    }
}
