//! `blast serve`: the HTTP API, until the process is stopped.

use crate::config::cli;
use crate::error::{self, Error};
use crate::serve::{self, api::Limits, store};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, LazyLock};

/// Set by SIGINT or SIGTERM: stop the run going on, record it, and exit.
static SHUTDOWN: LazyLock<Arc<AtomicBool>> = LazyLock::new(Arc::default);

/// SIGINT and SIGTERM end the server the way `DELETE` ends a run, so a
/// restart finds the run `stopped` with its report rather than `lost`; a
/// second signal exits at once with 130.
fn install_shutdown() {
    super::process::on_stop_signals(&SHUTDOWN);
}

/// `blast serve`: check the flags, then serve forever.
pub fn main(a: &cli::ServeArgs) -> Result<i32, Error> {
    let token = match a.token.as_deref().map(str::trim) {
        Some("") => return Err(error::usage("--token (or BLAST_TOKEN) is empty")),
        t => t.map(str::to_string),
    };
    if !a.listen.ip().is_loopback() && token.is_none() {
        return Err(error::usage(format!(
            "--listen {}: beyond loopback blast serve needs --token T (or BLAST_TOKEN), \
             since an open API sends load anywhere",
            a.listen
        )));
    }
    if a.allow_target.iter().any(|h| h.trim().is_empty()) {
        return Err(error::usage("--allow-target: an empty host in the list"));
    }
    // Each run's connections are open files.
    super::process::raise_open_files();
    let opts = serve::Options {
        listen: a.listen,
        data_dir: a.data_dir.clone().unwrap_or_else(store::default_dir),
        token,
        limits: Limits {
            allow_target: a.allow_target.clone(),
            max_duration: a.max_duration,
            max_rate: a.max_rate,
            max_connections: a.max_connections,
        },
        preflight: super::process::fit_open_files,
        find: super::find::run_with,
        shutdown: &SHUTDOWN,
    };
    install_shutdown();
    let shown = opts.data_dir.display().to_string();
    serve::run(opts).map_err(|e| {
        error::usage(format!(
            "blast serve --listen {} (data in {shown}): {e}",
            a.listen
        ))
    })?;
    Ok(0)
}
