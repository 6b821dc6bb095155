//! What a TLS failure is called. rustls's errors become `Fault` counters
//! with a cause a user can act on; apart from the session code because the
//! engine asks this of errors that reached it through its I/O path too.

use crate::stats::Fault;
use rustls::{AlertDescription, CertificateError, Error as TlsError, InvalidMessage};
use std::io;

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
