//! `blast target`: the built-in HTTP server, until SIGINT or SIGTERM.

use crate::config::cli;
use crate::error::{self, Error};
use crate::target::{self, TargetOptions};

/// `blast target`: serve until SIGINT/SIGTERM.
pub fn main(a: &cli::TargetArgs) -> Result<i32, Error> {
    // It takes as many connections as blast opens: one open file each.
    super::process::raise_open_files();
    // Without --cert-out the certificate goes to a file made new in the
    // temp dir (O_EXCL, a random name: nothing planted there is followed),
    // removed as this returns, after SIGINT or SIGTERM too.
    let temp = match (a.tls, &a.cert_out) {
        (true, None) => Some(temp_pem("blast-target-")?),
        _ => None,
    };
    let opts = TargetOptions {
        listen: a.listen,
        threads: a.threads as usize,
        delay: a.delay,
        body_size: a.body_size as usize,
        status: a.status,
        cpus: (!a.cpus.is_empty()).then(|| a.cpus.clone()),
        tls_cert: match &temp {
            Some(t) => Some(t.path().to_path_buf()),
            None => a.cert_out.clone().filter(|_| a.tls),
        },
        http2: a.http2,
        stream: (a.stream > 0).then(|| target::StreamOptions {
            tokens: a.stream,
            first_token: a.first_token,
            token_interval: a.token_interval,
            usage: a.usage == "on",
        }),
        record: a.record,
        grpc: a.grpc.then_some(target::GrpcOptions {
            reflection: match a.grpc_reflection.as_str() {
                "v1alpha" => target::Reflection::V1alphaOnly,
                "off" => target::Reflection::Off,
                _ => target::Reflection::Both,
            },
        }),
    };
    target::run_forever(opts)
        .map_err(|e| error::usage(format!("blast target --listen {}: {e}", a.listen)))?;
    drop(temp);
    Ok(0)
}

/// A new, empty `.pem` file in the temp dir for a certificate made at
/// start: created with O_EXCL under a random name (so a symlink planted at
/// a name one could guess is never followed), mode 0600, removed when
/// dropped.
pub(super) fn temp_pem(prefix: &str) -> Result<tempfile::NamedTempFile, Error> {
    tempfile::Builder::new()
        .prefix(prefix)
        .suffix(".pem")
        .tempfile()
        .map_err(|e| {
            error::usage(format!(
                "--tls: cannot make a certificate file in {}: {e}",
                std::env::temp_dir().display()
            ))
        })
}
