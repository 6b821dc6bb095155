//! The TLS flags of a run (`--cacert`, `-k`, `--cert`, `--key`,
//! `--tls-resume`), for https:// URLs and `--body-file https://`: a group
//! of their own, flattened into `RunArgs` and `FindArgs`, so `cli` stays
//! within the file-size limit.

use clap::Args;

/// TLS, for https:// URLs (and --body-file https://).
#[derive(Args, Debug, Clone, Default)]
pub struct TlsArgs {
    /// Trust the CA certificates in this PEM file instead of the system's
    #[arg(long = "cacert", value_name = "FILE")]
    pub cacert: Option<String>,

    /// Do not verify the server's certificate
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,

    /// Client certificate chain (PEM), for servers that require one; with --key
    #[arg(long = "cert", value_name = "FILE")]
    pub cert: Option<String>,

    /// Private key (PEM) of --cert
    #[arg(long = "key", value_name = "FILE")]
    pub key: Option<String>,

    /// Resume TLS sessions when reconnecting: on or off
    #[arg(long = "tls-resume", value_name = "on|off", default_value = "on", value_parser = ["on", "off"])]
    pub tls_resume: String,
}
