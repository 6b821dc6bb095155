//! `blast target`: the built-in HTTP server, until SIGINT or SIGTERM.

use crate::config::cli;
use crate::error::{self, Error};
use crate::target::{self, TargetOptions};

/// `blast target`: serve until SIGINT/SIGTERM.
pub fn main(a: &cli::TargetArgs) -> Result<i32, Error> {
    // It takes as many connections as blast opens: one open file each.
    super::process::raise_open_files();
    let opts = TargetOptions {
        listen: a.listen,
        threads: a.threads as usize,
        delay: a.delay,
        body_size: a.body_size as usize,
        status: a.status,
        cpus: (!a.cpus.is_empty()).then(|| a.cpus.clone()),
        tls_cert: a.tls.then(|| {
            a.cert_out.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("blast-target-{}.pem", std::process::id()))
            })
        }),
        http2: a.http2,
        stream: (a.stream > 0).then(|| target::StreamOptions {
            tokens: a.stream,
            first_token: a.first_token,
            token_interval: a.token_interval,
            usage: a.usage == "on",
        }),
        record: a.record,
    };
    target::run_forever(opts)
        .map_err(|e| error::usage(format!("blast target --listen {}: {e}", a.listen)))?;
    Ok(0)
}
