//! `blast serve`: the HTTP API, until the process is stopped.

use crate::config::cli;
use crate::error::{self, Error};
use crate::serve::api::{AllowList, Limits};
use crate::serve::{self, store};
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
    let allow_target = AllowList::parse(&a.allow_target).map_err(error::usage)?;
    let allowed: Vec<String> = a
        .allow_host
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if let Some(bad) = allowed
        .iter()
        .find(|h| h.is_empty() || h.contains(['/', ' ', '@']))
    {
        return Err(error::usage(format!(
            "--allow-host '{bad}': give a host name (or *), without scheme, path or port"
        )));
    }
    // Each run's connections are open files.
    super::process::raise_open_files();
    let max_api_connections = a
        .max_api_connections
        .map_or_else(default_api_connections, |n| {
            n.min(usize::MAX as u64) as usize
        });
    let opts = serve::Options {
        listen: a.listen,
        data_dir: a.data_dir.clone().unwrap_or_else(store::default_dir),
        token,
        limits: Limits {
            allow_target,
            max_duration: a.max_duration,
            max_rate: a.max_rate,
            max_connections: a.max_connections,
        },
        hosts: serve::guard::Hosts { allowed },
        max_api_connections,
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

/// 1024 connections, or a quarter of the open-file limit where that is
/// lower: with as many again waiting for a place (`serve::gate`), the API's
/// callers leave at least half the files to the runs' own sockets.
fn default_api_connections() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0;
    let quarter = if ok { lim.rlim_cur / 4 } else { 256 };
    quarter.clamp(1, 1024) as usize
}
