//! Fetches a `--body-file http[s]://...` payload once, before the run, with
//! hyper's HTTP/1 client (over tokio-rustls for https, with the run's TLS
//! flags) on a throwaway current-thread runtime.

use super::url::parse_url;
use crate::proto::tls::{TlsClient, TlsOptions};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::net::ToSocketAddrs;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Largest payload accepted from a URL.
const MAX_BODY: usize = 1 << 30;

/// GET `url` and return its body. Errors are one line, for the usage message.
pub fn get(url: &str, tls: &TlsOptions) -> Result<Vec<u8>, String> {
    let u = parse_url(url).map_err(|e| e.to_string())?;
    let tls = match u.tls {
        true => Some(TlsClient::new(&u.host, tls)?),
        false => None,
    };
    let addr = (u.host.as_str(), u.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve '{}': {e}", u.host))?
        .next()
        .ok_or_else(|| format!("cannot resolve '{}'", u.host))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let fetch = async {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| e.to_string())?;
            let mut sender = match tls {
                None => handshake(stream).await?,
                Some(c) => {
                    let stream = tokio_rustls::TlsConnector::from(c.config)
                        .connect(c.name, stream)
                        .await
                        .map_err(|e| format!("TLS: {e}"))?;
                    handshake(stream).await?
                }
            };
            let req = hyper::Request::get(u.target.as_str())
                .header("Host", u.host_header())
                .header("User-Agent", concat!("blast/", env!("CARGO_PKG_VERSION")))
                .body(Empty::<Bytes>::new())
                .map_err(|e| e.to_string())?;
            let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
            if !resp.status().is_success() {
                return Err(format!("server answered {}", resp.status()));
            }
            let body = http_body_util::Limited::new(resp.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| e.to_string())?;
            Ok(body.to_bytes().to_vec())
        };
        tokio::time::timeout(Duration::from_secs(30), fetch)
            .await
            .map_err(|_| "timed out after 30s".to_string())?
    })
}

/// An HTTP/1 client on `stream` (plain or TLS), its connection driven by a
/// task of its own.
async fn handshake<S>(stream: S) -> Result<SendRequest<Empty<Bytes>>, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(sender)
}
