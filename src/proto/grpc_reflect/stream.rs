//! Reflection over h2: connect (TLS or h2c), ask v1 and then, on
//! UNIMPLEMENTED only, v1alpha, one question per stream of the bidi method.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use h2::client::{self, SendRequest};
use http::{HeaderMap, StatusCode};
use prost::Message;
use prost_reflect::DescriptorPool;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::resolver::Resolver;
use crate::proto::tls::TlsClient;
use crate::reflection::{frame, next_message, Next, ServerReflectionResponse, MAX_MESSAGE};
use crate::reflection::{V1ALPHA_PATH, V1_PATH};

/// Why [`fetch`] gave no pool; each holds one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// No HTTP/2 conversation: connect, TLS, the handshake, the timeout.
    Unreached(String),
    /// The server answered but cannot give the service: no reflection
    /// service, the service unknown, an answer or a file that does not build.
    Refused(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Unreached(m) | FetchError::Refused(m) => f.write_str(m),
        }
    }
}

/// How one version's stream failed: only UNIMPLEMENTED moves on to the next.
enum Failed {
    Unimplemented,
    Other(String),
}

impl From<String> for Failed {
    fn from(s: String) -> Failed {
        Failed::Other(s)
    }
}

pub(super) async fn ask(
    addr: std::net::SocketAddr,
    authority: &str,
    tls: Option<&TlsClient>,
    service: &str,
) -> Result<DescriptorPool, FetchError> {
    let unreached = FetchError::Unreached;
    let tcp = TcpStream::connect(addr).await.map_err(|e| {
        unreached(format!(
            "reflection: cannot connect to {authority} ({addr}): {e}"
        ))
    })?;
    let _ = tcp.set_nodelay(true);
    let Some(t) = tls else {
        return over(tcp, "http", authority, service).await;
    };
    // gRPC is HTTP/2 only: offer h2 even where the run's config offers more.
    let mut config = (*t.config).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let io = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(t.name.clone(), tcp)
        .await
        .map_err(|e| unreached(format!("reflection: TLS with {authority}: {e}")))?;
    over(io, "https", authority, service).await
}

async fn over<T>(
    io: T,
    scheme: &str,
    authority: &str,
    service: &str,
) -> Result<DescriptorPool, FetchError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, conn) = client::handshake(io)
        .await
        .map_err(|e| FetchError::Unreached(format!("reflection: HTTP/2 with {authority}: {e}")))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let at = |path| format!("{scheme}://{authority}{path}");
    let result = match version(&send, &at(V1_PATH), service).await {
        Err(Failed::Unimplemented) => match version(&send, &at(V1ALPHA_PATH), service).await {
            Err(Failed::Unimplemented) => Err(format!(
                "reflection: {authority} serves no reflection service \
                 (grpc.reflection.v1 and v1alpha are both UNIMPLEMENTED)"
            )),
            Err(Failed::Other(e)) => Err(e),
            Ok(pool) => Ok(pool),
        },
        Err(Failed::Other(e)) => Err(e),
        Ok(pool) => Ok(pool),
    };
    drop(send);
    driver.abort();
    result.map_err(FetchError::Refused)
}

/// One version's questions, each on a stream of its own that the question
/// ends: a server that is not gRPC and waits for the request's end (as a
/// plain HTTP server does) still answers at once, and is named for what it
/// is rather than left to the timeout.
async fn version(
    send: &SendRequest<Bytes>,
    uri: &str,
    service: &str,
) -> Result<DescriptorPool, Failed> {
    let mut r = Resolver::new(service);
    while let Some(q) = r.next() {
        r.take(exchange(send, uri, frame(&q)).await?)?;
    }
    Ok(r.pool()?)
}

/// One question, its one answer, and the stream's OK status.
async fn exchange(
    send: &SendRequest<Bytes>,
    uri: &str,
    question: Bytes,
) -> Result<ServerReflectionResponse, Failed> {
    let h2err = |e: h2::Error| format!("reflection: {uri}: {e}");
    let mut send = send.clone().ready().await.map_err(h2err)?;
    let req = http::Request::post(uri)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .map_err(|e| format!("reflection: {uri}: {e}"))?;
    let (resp, mut out) = send.send_request(req, false).map_err(h2err)?;
    out.send_data(question, true).map_err(h2err)?;
    let (head, mut body) = resp.await.map_err(h2err)?.into_parts();
    if head.status != StatusCode::OK {
        return Err(format!("reflection: {uri}: HTTP status {}", head.status).into());
    }
    // A trailers-only answer: the status is in the headers.
    if let Some(code) = status(&head.headers) {
        return Err(refused(uri, code, &head.headers));
    }
    let grpc = head
        .headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    if !grpc {
        return Err(format!(
            "reflection: {uri}: not a gRPC answer (its content-type is not application/grpc)"
        )
        .into());
    }
    let mut buf = BytesMut::new();
    while let Some(d) = body.data().await {
        let d = d.map_err(h2err)?;
        let _ = body.flow_control().release_capacity(d.len());
        buf.extend_from_slice(&d);
        if buf.len() > MAX_MESSAGE + 5 {
            return Err(format!("reflection: {uri}: an answer over 4 MiB").into());
        }
    }
    let trailers = body.trailers().await.map_err(h2err)?.unwrap_or_default();
    match status(&trailers) {
        Some(0) => {}
        Some(code) => return Err(refused(uri, code, &trailers)),
        None => return Err(format!("reflection: {uri}: no grpc-status in the trailers").into()),
    }
    match next_message(&mut buf) {
        Next::Message(m) => ServerReflectionResponse::decode(m)
            .map_err(|e| format!("reflection: {uri}: undecodable answer: {e}").into()),
        Next::Refused(why) => Err(format!("reflection: {uri}: {why}").into()),
        Next::Partial => {
            Err(format!("reflection: {uri}: the stream ended without an answer").into())
        }
    }
}

fn status(h: &HeaderMap) -> Option<u32> {
    h.get("grpc-status")?.to_str().ok()?.parse().ok()
}

fn refused(uri: &str, code: u32, h: &HeaderMap) -> Failed {
    const UNIMPLEMENTED: u32 = 12;
    if code == UNIMPLEMENTED {
        return Failed::Unimplemented;
    }
    let message = h
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Failed::Other(
        format!("reflection: {uri}: gRPC status {code} {message}")
            .trim_end()
            .to_string(),
    )
}
