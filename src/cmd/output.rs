//! Where a subcommand's report goes: stdout, with a reader that went away
//! (`| head`) not counted as an error. Its own file so that the subcommands
//! share it without importing `cmd/mod.rs`, which names each of them.

use crate::error::{self, Error};
use std::io::{BufWriter, Write};

/// Write a report to stdout, as one line of error if that fails. Buffered
/// and written at the end: stdout is line-buffered, and the JSON report
/// alone is some 400 lines, a system call each.
pub(super) fn write_out(
    f: impl FnOnce(&mut BufWriter<std::io::StdoutLock<'static>>) -> std::io::Result<()>,
) -> Result<(), Error> {
    let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    match f(&mut out).and_then(|()| out.flush()) {
        // A reader that went away (`| head`) is not an error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(error::usage(format!("cannot write the report: {e}"))),
        Ok(()) => Ok(()),
    }
}
