//! `blast target --tls`: a certificate made at start (rcgen) for the names a
//! test or a calibration run will use (localhost and the loopback
//! addresses, plus the listen address), written as PEM so a client can
//! trust it with `--cacert`.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;

/// Make a self-signed certificate, write it to `cert_path`, and return the
/// server's TLS configuration; with `http2` it offers h2 before http/1.1.
pub fn self_signed(
    listen: SocketAddr,
    cert_path: &Path,
    http2: bool,
) -> io::Result<Arc<ServerConfig>> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let ip = listen.ip();
    if !ip.is_unspecified() && !ip.is_loopback() {
        names.push(ip.to_string());
    }
    let made = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
    std::fs::write(cert_path, made.cert.pem())?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.key_pair.serialize_der()));
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key)
        .map_err(io::Error::other)?;
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}
