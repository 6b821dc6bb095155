//! Fault names, and the server checks of `--cacert` and `-k`, against
//! certificates made here.

use super::verify::CertCheck;
use super::*;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::UnixTime;
use rustls::{AlertDescription, CertificateError, InvalidMessage};

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
    let v = CertCheck::pinned(store, pinned).unwrap();
    let name = |n: &str| ServerName::try_from(n.to_string()).unwrap();
    let now = UnixTime::now();
    let check = |c: &CertificateDer<'_>, n: &str| v.verify_server_cert(c, &[], &name(n), &[], now);
    // WebPKI alone refuses it ("CA used as end entity")...
    assert!(v
        .chain
        .as_ref()
        .unwrap()
        .verify_server_cert(&cert, &[], &name("localhost"), &[], now)
        .is_err());
    // ...the pinned copy passes, for its own name only.
    assert!(check(&cert, "localhost").is_ok());
    let e = check(&cert, "example.com").unwrap_err();
    assert_eq!(fault_of(&e), Fault::TlsNameMismatch, "{e}");
    // A certificate not in the file is still refused, for what it is.
    let e = check(&other, "localhost").unwrap_err();
    assert_eq!(fault_of(&e), Fault::TlsCaAsServerCert, "{e}");
    // -k: any certificate, for any name.
    let any = CertCheck::any();
    assert!(any
        .verify_server_cert(&other, &[], &name("example.com"), &[], now)
        .is_ok());
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
