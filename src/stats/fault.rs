//! Why a request or a connection attempt failed: a fixed table, counted in
//! an array indexed by `Fault` on the hot path, named only in the report.
//!
//! Each system error has its own entry, named in words with its errno
//! (`connect: too many open files (EMFILE)`), because the errno is what a
//! user searches for and what tells them the fix: a limit of this machine
//! (`ulimit -n`, local ports) reads very differently from a server that
//! refuses. `other` is kept for what is truly unknown.

use std::io;

/// Why one request (or one connection attempt) failed. Each has a class that
/// matches wrk's error columns, plus `parse` and `tls`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Fault {
    ConnectRefused,
    /// EHOSTUNREACH
    ConnectUnreachable,
    ConnectNetUnreachable,
    ConnectTimeout,
    ConnectTooManyFiles,
    ConnectFileTableFull,
    ConnectNoLocalAddress,
    ConnectAddressInUse,
    ConnectNoBuffers,
    ConnectReset,
    ConnectDenied,
    ConnectOther,
    ReadReset,
    ReadEofBeforeResponse,
    ReadEofMidHead,
    ReadEofMidBody,
    ReadTimedOut,
    ReadUnreachable,
    ReadOther,
    WriteReset,
    WriteTimedOut,
    WriteUnreachable,
    WriteOther,
    Timeout,
    ParseHead,
    ParseVersion,
    ParseFraming,
    ParseChunk,
    ParseHeadTooLarge,
    TlsUnknownIssuer,
    TlsExpired,
    TlsNameMismatch,
    TlsBadCertificate,
    TlsCertificateRequired,
    TlsAlert,
    TlsNotTls,
    TlsHandshakeTimeout,
    TlsEof,
    TlsOther,
    TlsCaAsServerCert,
    H2ResetProtocol,
    H2ResetInternal,
    H2ResetFlowControl,
    H2ResetStreamClosed,
    H2ResetCancel,
    H2ResetEnhanceYourCalm,
    H2ResetHttp11Required,
    H2ResetOther,
    H2GoAway,
    H2Protocol,
    TlsNoAlpn,
}

impl Fault {
    pub const COUNT: usize = 51;
    pub const ALL: [Fault; Fault::COUNT] = [
        Fault::ConnectRefused,
        Fault::ConnectUnreachable,
        Fault::ConnectNetUnreachable,
        Fault::ConnectTimeout,
        Fault::ConnectTooManyFiles,
        Fault::ConnectFileTableFull,
        Fault::ConnectNoLocalAddress,
        Fault::ConnectAddressInUse,
        Fault::ConnectNoBuffers,
        Fault::ConnectReset,
        Fault::ConnectDenied,
        Fault::ConnectOther,
        Fault::ReadReset,
        Fault::ReadEofBeforeResponse,
        Fault::ReadEofMidHead,
        Fault::ReadEofMidBody,
        Fault::ReadTimedOut,
        Fault::ReadUnreachable,
        Fault::ReadOther,
        Fault::WriteReset,
        Fault::WriteTimedOut,
        Fault::WriteUnreachable,
        Fault::WriteOther,
        Fault::Timeout,
        Fault::ParseHead,
        Fault::ParseVersion,
        Fault::ParseFraming,
        Fault::ParseChunk,
        Fault::ParseHeadTooLarge,
        Fault::TlsUnknownIssuer,
        Fault::TlsExpired,
        Fault::TlsNameMismatch,
        Fault::TlsBadCertificate,
        Fault::TlsCertificateRequired,
        Fault::TlsAlert,
        Fault::TlsNotTls,
        Fault::TlsHandshakeTimeout,
        Fault::TlsEof,
        Fault::TlsOther,
        Fault::TlsCaAsServerCert,
        Fault::H2ResetProtocol,
        Fault::H2ResetInternal,
        Fault::H2ResetFlowControl,
        Fault::H2ResetStreamClosed,
        Fault::H2ResetCancel,
        Fault::H2ResetEnhanceYourCalm,
        Fault::H2ResetHttp11Required,
        Fault::H2ResetOther,
        Fault::H2GoAway,
        Fault::H2Protocol,
        Fault::TlsNoAlpn,
    ];

    pub fn class(self) -> ErrorClass {
        use Fault::*;
        match self {
            ConnectRefused
            | ConnectUnreachable
            | ConnectNetUnreachable
            | ConnectTimeout
            | ConnectTooManyFiles
            | ConnectFileTableFull
            | ConnectNoLocalAddress
            | ConnectAddressInUse
            | ConnectNoBuffers
            | ConnectReset
            | ConnectDenied
            | ConnectOther => ErrorClass::Connect,
            ReadReset
            | ReadEofBeforeResponse
            | ReadEofMidHead
            | ReadEofMidBody
            | ReadTimedOut
            | ReadUnreachable
            | ReadOther => ErrorClass::Read,
            WriteReset | WriteTimedOut | WriteUnreachable | WriteOther => ErrorClass::Write,
            Timeout => ErrorClass::Timeout,
            ParseHead | ParseVersion | ParseFraming | ParseChunk | ParseHeadTooLarge => {
                ErrorClass::Parse
            }
            TlsUnknownIssuer
            | TlsExpired
            | TlsNameMismatch
            | TlsBadCertificate
            | TlsCertificateRequired
            | TlsAlert
            | TlsNotTls
            | TlsHandshakeTimeout
            | TlsEof
            | TlsOther
            | TlsCaAsServerCert
            | TlsNoAlpn => ErrorClass::Tls,
            H2ResetProtocol
            | H2ResetInternal
            | H2ResetFlowControl
            | H2ResetStreamClosed
            | H2ResetCancel
            | H2ResetEnhanceYourCalm
            | H2ResetHttp11Required
            | H2ResetOther
            | H2GoAway => ErrorClass::Read,
            H2Protocol => ErrorClass::Parse,
        }
    }

    /// The cause as the report prints it, e.g. `read: connection reset`.
    pub fn label(self) -> &'static str {
        use Fault::*;
        match self {
            ConnectRefused => "connect: refused",
            ConnectUnreachable => "connect: host unreachable (EHOSTUNREACH)",
            ConnectNetUnreachable => "connect: network unreachable (ENETUNREACH)",
            ConnectTimeout => "connect: timed out",
            ConnectTooManyFiles => "connect: too many open files (EMFILE, ulimit -n)",
            ConnectFileTableFull => "connect: system file table full (ENFILE, fs.file-max)",
            ConnectNoLocalAddress => "connect: no free local port/address (EADDRNOTAVAIL)",
            ConnectAddressInUse => "connect: local address in use (EADDRINUSE)",
            ConnectNoBuffers => "connect: no buffer space or memory (ENOBUFS/ENOMEM)",
            ConnectReset => "connect: reset (ECONNRESET/ECONNABORTED)",
            ConnectDenied => "connect: not permitted (EACCES/EPERM, a firewall rule?)",
            ConnectOther => "connect: other",
            ReadReset => "read: connection reset",
            ReadEofBeforeResponse => "read: EOF before response",
            ReadEofMidHead => "read: EOF mid-head",
            ReadEofMidBody => "read: EOF mid-body",
            ReadTimedOut => "read: TCP retransmission timed out (ETIMEDOUT)",
            ReadUnreachable => "read: host or network unreachable (EHOSTUNREACH/ENETUNREACH)",
            ReadOther => "read: other",
            WriteReset => "write: connection reset",
            WriteTimedOut => "write: TCP retransmission timed out (ETIMEDOUT)",
            WriteUnreachable => "write: host or network unreachable (EHOSTUNREACH/ENETUNREACH)",
            WriteOther => "write: other",
            Timeout => "timeout: no response within --timeout",
            ParseHead => "parse: invalid response head",
            ParseVersion => "parse: not HTTP/1.x",
            ParseFraming => "parse: invalid Content-Length or Transfer-Encoding",
            ParseChunk => "parse: invalid chunked body",
            ParseHeadTooLarge => "parse: response head too large",
            TlsUnknownIssuer => "tls: certificate signed by an unknown issuer",
            TlsExpired => "tls: certificate expired or not yet valid",
            TlsNameMismatch => "tls: certificate not valid for the host name",
            TlsBadCertificate => "tls: invalid certificate",
            TlsCertificateRequired => "tls: server requires a client certificate",
            TlsAlert => "tls: handshake refused by the server",
            TlsNotTls => "tls: the server did not answer in TLS",
            TlsHandshakeTimeout => "tls: handshake timed out",
            TlsEof => "tls: connection closed during the handshake",
            TlsOther => "tls: other",
            TlsCaAsServerCert => "tls: the server's certificate is a CA certificate",
            H2ResetProtocol => "read: stream reset by the server (PROTOCOL_ERROR)",
            H2ResetInternal => "read: stream reset by the server (INTERNAL_ERROR)",
            H2ResetFlowControl => "read: stream reset by the server (FLOW_CONTROL_ERROR)",
            H2ResetStreamClosed => "read: stream reset by the server (STREAM_CLOSED)",
            H2ResetCancel => "read: stream reset by the server (CANCEL)",
            H2ResetEnhanceYourCalm => "read: stream reset by the server (ENHANCE_YOUR_CALM)",
            H2ResetHttp11Required => "read: stream reset by the server (HTTP_1_1_REQUIRED)",
            H2ResetOther => "read: stream reset by the server (other code)",
            H2GoAway => "read: connection ended by GOAWAY with an error code",
            H2Protocol => "parse: HTTP/2 protocol error",
            TlsNoAlpn => "tls: no ALPN protocol in common with the server",
        }
    }

    /// For a failure that stops every connection at once: what fixes it.
    pub fn remedy(self) -> Option<&'static str> {
        use Fault::*;
        match self {
            TlsUnknownIssuer | TlsBadCertificate => {
                Some("trust its CA with --cacert FILE, or skip verification with -k")
            }
            TlsExpired => Some("renew the certificate, or skip verification with -k"),
            TlsNameMismatch => Some(
                "use the host name the certificate was issued for, or skip verification with -k",
            ),
            TlsCertificateRequired => Some("give a client certificate with --cert FILE --key FILE"),
            TlsNotTls => Some("is it plain HTTP? use http://"),
            TlsCaAsServerCert => Some(
                "trust that very certificate with --cacert FILE (openssl req -x509 makes a CA), \
                 or skip verification with -k",
            ),
            TlsNoAlpn => {
                Some("--http2 offers h2 only, a plain run http/1.1 only: add or drop --http2")
            }
            H2Protocol => Some("does the server speak HTTP/2 without TLS (h2c)? drop --http2"),
            ConnectTooManyFiles => Some("raise the open-file limit with ulimit -n"),
            ConnectNoLocalAddress | ConnectAddressInUse => Some(
                "spread connections over more local addresses with --source, \
                 or widen net.ipv4.ip_local_port_range",
            ),
            _ => None,
        }
    }

    /// Classify an I/O error from socket(), bind() or connect().
    pub fn from_connect_error(e: &io::Error) -> Fault {
        match e.raw_os_error() {
            Some(libc::ECONNREFUSED) => Fault::ConnectRefused,
            Some(libc::EHOSTUNREACH) => Fault::ConnectUnreachable,
            Some(libc::ENETUNREACH | libc::ENETDOWN | libc::EHOSTDOWN) => {
                Fault::ConnectNetUnreachable
            }
            Some(libc::ETIMEDOUT) => Fault::ConnectTimeout,
            Some(libc::EMFILE) => Fault::ConnectTooManyFiles,
            Some(libc::ENFILE) => Fault::ConnectFileTableFull,
            Some(libc::EADDRNOTAVAIL) => Fault::ConnectNoLocalAddress,
            Some(libc::EADDRINUSE) => Fault::ConnectAddressInUse,
            Some(libc::ENOBUFS | libc::ENOMEM) => Fault::ConnectNoBuffers,
            Some(libc::ECONNRESET | libc::ECONNABORTED) => Fault::ConnectReset,
            Some(libc::EACCES | libc::EPERM) => Fault::ConnectDenied,
            Some(_) => Fault::ConnectOther,
            None => match e.kind() {
                io::ErrorKind::ConnectionRefused => Fault::ConnectRefused,
                io::ErrorKind::TimedOut => Fault::ConnectTimeout,
                _ => Fault::ConnectOther,
            },
        }
    }

    /// Classify an I/O error from reading a response.
    pub fn from_read_error(e: &io::Error) -> Fault {
        match e.raw_os_error() {
            Some(libc::ETIMEDOUT) => Fault::ReadTimedOut,
            Some(libc::EHOSTUNREACH | libc::ENETUNREACH) => Fault::ReadUnreachable,
            _ if is_reset(e) => Fault::ReadReset,
            _ => Fault::ReadOther,
        }
    }

    /// Classify an I/O error from writing a request.
    pub fn from_write_error(e: &io::Error) -> Fault {
        match e.raw_os_error() {
            Some(libc::ETIMEDOUT) => Fault::WriteTimedOut,
            Some(libc::EHOSTUNREACH | libc::ENETUNREACH) => Fault::WriteUnreachable,
            _ if is_reset(e) => Fault::WriteReset,
            _ => Fault::WriteOther,
        }
    }
}

/// The peer reset or closed the connection under us (ECONNRESET,
/// ECONNABORTED, EPIPE).
pub fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// 2xx and 3xx are successes, as wrk counts them; any other status is an
/// error of its own column (`status`), beside the classes below.
pub fn is_success(code: u16) -> bool {
    (200..400).contains(&code)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    Connect,
    Read,
    Write,
    Timeout,
    Parse,
    Tls,
}

/// Error totals by wrk's columns, plus `status` (non-2xx/3xx, or refused
/// by a status check), `parse`, `tls` and `check` (a response check failed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorCounts {
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    pub timeout: u64,
    pub status: u64,
    pub parse: u64,
    pub tls: u64,
    pub check: u64,
    /// gRPC calls that ended with a status other than OK.
    pub grpc: u64,
}

impl ErrorCounts {
    /// Transport errors (not counting non-2xx/3xx responses).
    pub fn transport(&self) -> u64 {
        self.connect + self.read + self.write + self.timeout + self.parse + self.tls
    }

    /// Every failed request: transport errors, status and check failures.
    pub fn total(&self) -> u64 {
        self.transport() + self.status + self.check + self.grpc
    }

    pub fn from_faults(faults: &[u64; Fault::COUNT], status: u64) -> Self {
        let mut e = ErrorCounts {
            status,
            ..Default::default()
        };
        for (f, &n) in Fault::ALL.iter().zip(faults.iter()) {
            match f.class() {
                ErrorClass::Connect => e.connect += n,
                ErrorClass::Read => e.read += n,
                ErrorClass::Write => e.write += n,
                ErrorClass::Timeout => e.timeout += n,
                ErrorClass::Parse => e.parse += n,
                ErrorClass::Tls => e.tls += n,
            }
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(errno: i32) -> io::Error {
        io::Error::from_raw_os_error(errno)
    }

    #[test]
    fn connect_errnos_are_named() {
        for (errno, fault, name) in [
            (libc::ECONNREFUSED, Fault::ConnectRefused, "refused"),
            (
                libc::EHOSTUNREACH,
                Fault::ConnectUnreachable,
                "EHOSTUNREACH",
            ),
            (
                libc::ENETUNREACH,
                Fault::ConnectNetUnreachable,
                "ENETUNREACH",
            ),
            (libc::ETIMEDOUT, Fault::ConnectTimeout, "timed out"),
            (libc::EMFILE, Fault::ConnectTooManyFiles, "EMFILE"),
            (libc::ENFILE, Fault::ConnectFileTableFull, "ENFILE"),
            (
                libc::EADDRNOTAVAIL,
                Fault::ConnectNoLocalAddress,
                "EADDRNOTAVAIL",
            ),
            (libc::EADDRINUSE, Fault::ConnectAddressInUse, "EADDRINUSE"),
            (libc::ENOBUFS, Fault::ConnectNoBuffers, "ENOBUFS"),
            (libc::ENOMEM, Fault::ConnectNoBuffers, "ENOMEM"),
            (libc::ECONNRESET, Fault::ConnectReset, "ECONNRESET"),
            (libc::ECONNABORTED, Fault::ConnectReset, "ECONNABORTED"),
            (libc::EACCES, Fault::ConnectDenied, "EACCES"),
            (libc::EPERM, Fault::ConnectDenied, "EPERM"),
            (libc::EPROTO, Fault::ConnectOther, "other"),
        ] {
            let f = Fault::from_connect_error(&os(errno));
            assert_eq!(f, fault, "errno {errno}");
            assert_eq!(f.class(), ErrorClass::Connect);
            assert!(f.label().contains(name), "{} lacks {name}", f.label());
        }
        let timed_out = io::Error::from(io::ErrorKind::TimedOut);
        assert_eq!(Fault::from_connect_error(&timed_out), Fault::ConnectTimeout);
    }

    #[test]
    fn read_and_write_errnos_are_named() {
        for (errno, read, write) in [
            (libc::ECONNRESET, Fault::ReadReset, Fault::WriteReset),
            (libc::ECONNABORTED, Fault::ReadReset, Fault::WriteReset),
            (libc::EPIPE, Fault::ReadReset, Fault::WriteReset),
            (libc::ETIMEDOUT, Fault::ReadTimedOut, Fault::WriteTimedOut),
            (
                libc::EHOSTUNREACH,
                Fault::ReadUnreachable,
                Fault::WriteUnreachable,
            ),
            (
                libc::ENETUNREACH,
                Fault::ReadUnreachable,
                Fault::WriteUnreachable,
            ),
            (libc::EIO, Fault::ReadOther, Fault::WriteOther),
        ] {
            assert_eq!(Fault::from_read_error(&os(errno)), read, "errno {errno}");
            assert_eq!(Fault::from_write_error(&os(errno)), write, "errno {errno}");
            assert_eq!(read.class(), ErrorClass::Read);
            assert_eq!(write.class(), ErrorClass::Write);
        }
    }

    #[test]
    fn local_limits_say_what_fixes_them() {
        assert!(Fault::ConnectTooManyFiles
            .remedy()
            .is_some_and(|r| r.contains("ulimit -n")));
        assert!(Fault::ConnectNoLocalAddress
            .remedy()
            .is_some_and(|r| r.contains("--source")));
    }

    #[test]
    fn labels_are_unique_and_start_with_their_class() {
        let mut seen = std::collections::HashSet::new();
        for f in Fault::ALL {
            assert!(seen.insert(f.label()), "duplicate label {}", f.label());
            let class = match f.class() {
                ErrorClass::Connect => "connect: ",
                ErrorClass::Read => "read: ",
                ErrorClass::Write => "write: ",
                ErrorClass::Timeout => "timeout: ",
                ErrorClass::Parse => "parse: ",
                ErrorClass::Tls => "tls: ",
            };
            assert!(f.label().starts_with(class), "{}", f.label());
        }
    }
}
