//! How a server's certificate is checked, apart from the session code
//! because it is the one place where blast departs from rustls's defaults:
//! `-k` accepts any certificate, and `--cacert` also accepts a certificate
//! the file holds as it is. Without either flag rustls's own WebPKI
//! verifier is used as it comes. In every case the handshake signatures are
//! still verified, so the session is with the key the server showed.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_name, WebPkiServerVerifier};
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, DigitallySignedStruct, Error as TlsError, RootCertStore, SignatureScheme,
};
use std::sync::Arc;

pub(super) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// `--cacert FILE`'s CAs, or the system's; and the certificates of the
/// file itself, which a server may present as they are (self-signed).
pub(super) fn roots(
    cacert: Option<&str>,
) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), String> {
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

/// The server check of `-k` and of `--cacert`.
///
/// `--cacert`: the usual chain check against the file's CAs, and one more
/// way to pass, as curl with OpenSSL allows: the server presents exactly a
/// certificate from the file. `openssl req -x509` makes self-signed
/// certificates marked as CAs, which WebPKI refuses as a server's own
/// ("CA used as end entity"); the user trusted this very certificate, so
/// only its name is still checked.
#[derive(Debug)]
pub(super) struct CertCheck {
    /// The chain check; `None` under `-k`, where any certificate passes.
    pub(super) chain: Option<Arc<WebPkiServerVerifier>>,
    /// `--cacert`'s own certificates, accepted as they are.
    pinned: Vec<CertificateDer<'static>>,
    /// What the handshake signatures are checked with (the same set the
    /// chain check would use: the provider's).
    algorithms: WebPkiSupportedAlgorithms,
}

impl CertCheck {
    /// `-k`.
    pub(super) fn any() -> CertCheck {
        CertCheck {
            chain: None,
            pinned: Vec::new(),
            algorithms: provider().signature_verification_algorithms,
        }
    }

    /// `--cacert`: the chain to `store`, or exactly one of `pinned`.
    pub(super) fn pinned(
        store: RootCertStore,
        pinned: Vec<CertificateDer<'static>>,
    ) -> Result<CertCheck, String> {
        let provider = provider();
        let chain = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
            .build()
            .map_err(|e| format!("--cacert: {e}"))?;
        Ok(CertCheck {
            chain: Some(chain),
            pinned,
            algorithms: provider.signature_verification_algorithms,
        })
    }
}

impl ServerCertVerifier for CertCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        let err = match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
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
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
