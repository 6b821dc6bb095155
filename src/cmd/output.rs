//! Where a subcommand's report goes: stdout, with a reader that went away
//! (`| head`) not counted as an error. Its own file so that the subcommands
//! share it without importing `cmd/mod.rs`, which names each of them.

use crate::error::{self, Error};

/// Write a report to stdout, as one line of error if that fails.
pub(super) fn write_out(
    f: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>,
) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match f(&mut out) {
        // A reader that went away (`| head`) is not an error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(error::usage(format!("cannot write the report: {e}"))),
        Ok(()) => Ok(()),
    }
}
