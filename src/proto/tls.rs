//! TLS with rustls, sans I/O: the engine moves the bytes (over io_uring or
//! epoll, through its own seam), this module only turns plaintext into
//! records and back. One `ClientConfig` is built per process, before the
//! run (loading the system's roots can take hundreds of milliseconds), and
//! shared by every connection of every worker; so is its session cache, so a
//! reconnect resumes with a ticket instead of a full handshake
//! (`--tls-resume off` disables that).
//!
//! Failures become `Fault`s with a cause a user can act on (unknown issuer,
//! expired, name mismatch, client certificate required, not TLS at all).

use crate::stats::{Fault, TlsInfo};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_name, ResolvesClientCert, Resumption, WebPkiServerVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::sign::CertifiedKey;
use rustls::{
    AlertDescription, CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct,
    Error as TlsError, InvalidMessage, RootCertStore, SignatureScheme,
};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
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
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider())))
        } else {
            let (store, pinned) = roots(o.cacert.as_deref())?;
            let store = Arc::new(store);
            if pinned.is_empty() {
                builder.with_root_certificates(store)
            } else {
                let webpki = WebPkiServerVerifier::builder_with_provider(store, provider())
                    .build()
                    .map_err(|e| format!("--cacert: {e}"))?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(Pinned { webpki, pinned }))
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

/// `--cacert FILE`'s CAs, or the system's; and the certificates of the
/// file itself, which a server may present as they are (self-signed).
fn roots(cacert: Option<&str>) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), String> {
    let mut store = RootCertStore::empty();
    let mut pinned = Vec::new();
    match cacert {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("--cacert '{path}': {e}"))?;
            pinned.clone_from(&certs);
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!("--cacert '{path}': no CA certificate in the file"));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(
                    "no trusted CA certificates found on this system: give one with --cacert, or -k"
                        .into(),
                );
            }
        }
    }
    Ok((store, pinned))
}

/// `--cacert`: the usual chain check against the file's CAs, and one more
/// way to pass, as curl with OpenSSL allows: the server presents exactly a
/// certificate from the file. `openssl req -x509` makes self-signed
/// certificates marked as CAs, which WebPKI refuses as a server's own
/// ("CA used as end entity"); the user trusted this very certificate, so
/// only its name is still checked.
#[derive(Debug)]
struct Pinned {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        let err =
            match self
                .webpki
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
        let as_itself = matches!(
            err,
            TlsError::InvalidCertificate(CertificateError::Other(_))
        ) && self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref());
        if !as_itself {
            return Err(err);
        }
        let parsed = ParsedCertificate::try_from(end_entity)?;
        verify_server_name(&parsed, server_name)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `-k`: any certificate is accepted, but the handshake signatures are
/// still verified, so the session is at least with the key the server showed.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
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

/// The cause of a TLS failure, as a counter.
pub fn fault_of(e: &TlsError) -> Fault {
    use CertificateError as C;
    match e {
        TlsError::InvalidCertificate(c) => match c {
            C::UnknownIssuer => Fault::TlsUnknownIssuer,
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => Fault::TlsExpired,
            C::NotValidForName | C::NotValidForNameContext { .. } => Fault::TlsNameMismatch,
            // webpki's CaUsedAsEndEntity, which rustls passes on as Other.
            C::Other(o) if format!("{o:?}").contains("CaUsedAsEndEntity") => {
                Fault::TlsCaAsServerCert
            }
            _ => Fault::TlsBadCertificate,
        },
        TlsError::AlertReceived(
            AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown,
        ) => Fault::TlsCertificateRequired,
        TlsError::AlertReceived(AlertDescription::NoApplicationProtocol) => Fault::TlsNoAlpn,
        TlsError::AlertReceived(_) => Fault::TlsAlert,
        TlsError::InvalidMessage(
            InvalidMessage::InvalidContentType | InvalidMessage::UnknownProtocolVersion,
        ) => Fault::TlsNotTls,
        _ => Fault::TlsOther,
    }
}

/// If an I/O error carries a TLS error, its fault.
pub fn fault_in(e: &io::Error) -> Option<Fault> {
    e.get_ref()?.downcast_ref::<TlsError>().map(fault_of)
}

/// A TLS error as an I/O error, so it can travel the engine's read path.
pub fn as_io(e: TlsError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_named() {
        let cases = [
            (
                TlsError::InvalidCertificate(CertificateError::UnknownIssuer),
                Fault::TlsUnknownIssuer,
            ),
            (
                TlsError::InvalidCertificate(CertificateError::Expired),
                Fault::TlsExpired,
            ),
            (
                TlsError::InvalidCertificate(CertificateError::NotValidForName),
                Fault::TlsNameMismatch,
            ),
            (
                TlsError::AlertReceived(AlertDescription::CertificateRequired),
                Fault::TlsCertificateRequired,
            ),
            (
                TlsError::InvalidMessage(InvalidMessage::InvalidContentType),
                Fault::TlsNotTls,
            ),
            (TlsError::DecryptError, Fault::TlsOther),
        ];
        for (e, f) in cases {
            assert_eq!(fault_of(&e), f, "{e}");
            assert_eq!(fault_in(&as_io(e)), Some(f));
        }
        assert_eq!(fault_in(&io::Error::other("x")), None);
    }

    /// A self-signed certificate marked as a CA, as `openssl req -x509`
    /// makes them, PEM-written to a temporary file.
    fn ca_marked_self_signed(tag: &str) -> (CertificateDer<'static>, String) {
        let mut p = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        let path =
            std::env::temp_dir().join(format!("blast-tls-test-{}-{tag}.pem", std::process::id()));
        std::fs::write(&path, cert.pem()).unwrap();
        (cert.der().clone(), path.display().to_string())
    }

    #[test]
    fn cacert_trusts_the_very_certificate_it_holds() {
        let (cert, path) = ca_marked_self_signed("pinned");
        let (other, other_path) = ca_marked_self_signed("other");
        let (store, pinned) = roots(Some(&path)).unwrap();
        let v = Pinned {
            webpki: WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider())
                .build()
                .unwrap(),
            pinned,
        };
        let name = |n: &str| ServerName::try_from(n.to_string()).unwrap();
        let now = UnixTime::now();
        let check =
            |c: &CertificateDer<'_>, n: &str| v.verify_server_cert(c, &[], &name(n), &[], now);
        // WebPKI alone refuses it ("CA used as end entity")...
        assert!(v
            .webpki
            .verify_server_cert(&cert, &[], &name("localhost"), &[], now)
            .is_err());
        // ...the pinned copy passes, for its own name only.
        assert!(check(&cert, "localhost").is_ok());
        let e = check(&cert, "example.com").unwrap_err();
        assert_eq!(fault_of(&e), Fault::TlsNameMismatch, "{e}");
        // A certificate not in the file is still refused, for what it is.
        let e = check(&other, "localhost").unwrap_err();
        assert_eq!(fault_of(&e), Fault::TlsCaAsServerCert, "{e}");
        let _ = std::fs::remove_file(path);
        let _ = std::fs::remove_file(other_path);
    }

    #[test]
    fn bad_files_name_the_flag() {
        let o = TlsOptions {
            cacert: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        };
        let e = TlsClient::new("localhost", &o).unwrap_err();
        assert!(e.starts_with("--cacert '/nonexistent/ca.pem'"), "{e}");
        let o = TlsOptions {
            insecure: true,
            cert: Some("/nonexistent/c.pem".into()),
            ..Default::default()
        };
        let e = TlsClient::new("localhost", &o).unwrap_err();
        assert!(e.contains("--cert needs --key"), "{e}");
    }
}
