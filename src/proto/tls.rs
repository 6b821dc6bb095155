//! TLS with rustls, sans I/O: the engine moves the bytes (over io_uring or
//! epoll, through its own seam), this module only turns plaintext into
//! records and back. One `ClientConfig` is built per process, before the
//! run (loading the system's roots can take hundreds of milliseconds), and
//! shared by every connection of every worker; so is its session cache, so a
//! reconnect resumes with a ticket instead of a full handshake
//! (`--tls-resume off` disables that).
//!
//! Failures become `Fault`s with a cause a user can act on (unknown issuer,
//! expired, name mismatch, client certificate required, not TLS at all):
//! that naming is in `fault`, and the server certificate check of `-k` and
//! `--cacert` in `verify`.

use crate::stats::{Fault, TlsInfo};
use rustls::client::{ResolvesClientCert, Resumption};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ClientConnection, Error as TlsError, SignatureScheme};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use verify::{provider, roots, CertCheck};

pub use fault::{as_io, fault_in, fault_of};

/// The TLS flags, as given.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// Trust only the CAs in this PEM file (as curl's `--cacert`), not the system's.
    pub cacert: Option<String>,
    /// Accept any server certificate (`-k`); signatures are still checked.
    pub insecure: bool,
    /// Client certificate chain and key (PEM) for servers that require one.
    pub cert: Option<String>,
    pub key: Option<String>,
    /// Resume sessions on reconnects (tickets or session ids).
    pub resume: bool,
    /// ALPN protocols to offer, most preferred first.
    pub alpn: Vec<Vec<u8>>,
}

/// What every connection needs to start a TLS session: built once.
#[derive(Clone)]
pub struct TlsClient {
    pub config: Arc<ClientConfig>,
    /// SNI and the name the certificate must match: the URL's host.
    pub name: ServerName<'static>,
    /// Without --cert: set once a server asked for a client certificate.
    cert_asked: Arc<AtomicBool>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsClient({:?})", self.name)
    }
}

impl TlsClient {
    /// Build the client for `host`. Errors are one line naming the flag.
    pub fn new(host: &str, o: &TlsOptions) -> Result<TlsClient, String> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| format!("invalid TLS server name '{host}'"))?;
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = if o.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(CertCheck::any()))
        } else {
            let (store, pinned) = roots(o.cacert.as_deref())?;
            if pinned.is_empty() {
                builder.with_root_certificates(Arc::new(store))
            } else {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(CertCheck::pinned(store, pinned)?))
            }
        };
        let cert_asked = Arc::new(AtomicBool::new(false));
        let mut config = match (&o.cert, &o.key) {
            (None, None) => {
                builder.with_client_cert_resolver(Arc::new(NoClientCert(cert_asked.clone())))
            }
            (Some(cert), Some(key)) => {
                let chain = CertificateDer::pem_file_iter(cert)
                    .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| format!("--cert '{cert}': {e}"))?;
                if chain.is_empty() {
                    return Err(format!("--cert '{cert}': no certificate in the file"));
                }
                let key_der =
                    PrivateKeyDer::from_pem_file(key).map_err(|e| format!("--key '{key}': {e}"))?;
                builder
                    .with_client_auth_cert(chain, key_der)
                    .map_err(|e| format!("--cert/--key: {e}"))?
            }
            (Some(_), None) => return Err("--cert needs --key".into()),
            (None, Some(_)) => return Err("--key needs --cert".into()),
        };
        if !o.resume {
            config.resumption = Resumption::disabled();
        }
        config.alpn_protocols = o.alpn.clone();
        Ok(TlsClient {
            config: Arc::new(config),
            name,
            cert_asked,
        })
    }

    /// A server asked for a client certificate and none was given. Some
    /// servers (nginx's `ssl_verify_client on`) complete the handshake
    /// anyway and answer every request 400: this says why.
    pub fn client_cert_asked(&self) -> bool {
        self.cert_asked.load(Ordering::Relaxed)
    }

    /// `fault_of`, knowing what the server asked for: over TLS 1.2 a server
    /// that requires a certificate refuses an empty one with a bare
    /// handshake_failure alert (OpenSSL's `-Verify`), where TLS 1.3 sends
    /// certificate_required.
    pub fn fault_of(&self, e: &TlsError) -> Fault {
        match fault_of(e) {
            Fault::TlsAlert if self.client_cert_asked() => Fault::TlsCertificateRequired,
            f => f,
        }
    }
}

/// No client certificate (as rustls's default), remembering whether one
/// was asked for. Only called on a server's CertificateRequest.
#[derive(Debug)]
struct NoClientCert(Arc<AtomicBool>);

impl ResolvesClientCert for NoClientCert {
    fn resolve(
        &self,
        _issuers: &[&[u8]],
        _schemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.0.store(true, Ordering::Relaxed);
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

/// One connection's TLS state. The engine feeds it what the socket read and
/// sends what it produces; plaintext goes in and out through `write_plain`
/// and `read_plain`.
pub struct Session(ClientConnection);

impl Session {
    pub fn new(c: &TlsClient) -> Result<Session, Fault> {
        ClientConnection::new(c.config.clone(), c.name.clone())
            .map(Session)
            .map_err(|e| fault_of(&e))
    }

    pub fn is_handshaking(&self) -> bool {
        self.0.is_handshaking()
    }

    pub fn wants_write(&self) -> bool {
        self.0.wants_write()
    }

    /// Append the records waiting to be sent to `out`.
    pub fn take_output(&mut self, out: &mut Vec<u8>) {
        while self.0.wants_write() {
            // Writing into a Vec cannot fail.
            if self.0.write_tls(out).is_err() {
                break;
            }
        }
    }

    /// Take bytes read from the socket and process the records they
    /// complete; returns how many were taken. It takes fewer when its
    /// plaintext buffer is full: read that out with `read_plain` first.
    /// An error is fatal to the connection.
    pub fn feed(&mut self, input: &[u8]) -> Result<usize, TlsError> {
        let mut rest = input;
        while !rest.is_empty() {
            match self.0.read_tls(&mut rest) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    self.0.process_new_packets()?;
                }
            }
        }
        Ok(input.len() - rest.len())
    }

    /// The socket reached end of stream.
    pub fn feed_eof(&mut self) -> Result<(), TlsError> {
        let _ = self.0.read_tls(&mut io::empty());
        self.0.process_new_packets().map(drop)
    }

    /// Decrypted bytes into `dst`: Ok(0) at the end of the stream (with or
    /// without the peer's close_notify: HTTP framing decides whether the
    /// response was complete), WouldBlock when more records are needed.
    pub fn read_plain(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        match self.0.reader().read(dst) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            r => r,
        }
    }

    /// Encrypt `src`; the records wait for `take_output`.
    pub fn write_plain(&mut self, src: &[u8]) -> io::Result<()> {
        self.0.writer().write_all(src)
    }

    /// What was negotiated, once the handshake is done.
    pub fn info(&self) -> TlsInfo {
        info_of(&self.0)
    }

    /// Whether this handshake resumed an earlier session.
    pub fn resumed(&self) -> bool {
        resumed(&self.0)
    }
}

/// What a finished handshake negotiated (also for tokio-rustls streams).
pub fn info_of(c: &ClientConnection) -> TlsInfo {
    let version = match c.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(v) => format!("{v:?}"),
        None => "-".to_string(),
    };
    let cipher = c
        .negotiated_cipher_suite()
        .map_or_else(|| "-".to_string(), |s| format!("{:?}", s.suite()));
    let alpn = c
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    TlsInfo {
        version,
        cipher,
        alpn,
    }
}

/// Whether a finished handshake resumed an earlier session.
pub fn resumed(c: &ClientConnection) -> bool {
    matches!(c.handshake_kind(), Some(rustls::HandshakeKind::Resumed))
}

mod fault;
mod verify;

#[cfg(test)]
mod tests;
