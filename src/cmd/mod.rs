//! The subcommands, one file each, and `process`, the process-wide settings
//! they share: each turns its flags into a config, runs, writes what the
//! user asked for, and returns the exit status (0 done, 1 SLO failed,
//! 2 bad usage, 3 nothing could be measured).

pub mod calibrate;
pub mod find;
pub mod merge;
mod metrics;
mod output;
pub mod process;
pub mod report;
pub mod run;
pub mod serve;
pub mod target;

use crate::config::cli::{Cli, Command};
use crate::error::Error;

/// Run the subcommand `cli` names; Ok is the exit status.
pub fn dispatch(cli: &Cli) -> Result<i32, Error> {
    match &cli.command {
        Some(Command::Find(f)) => find::main(f),
        Some(Command::Report(r)) => report::main(r),
        Some(Command::Merge(m)) => merge::main(m),
        Some(Command::Target(t)) => target::main(t),
        Some(Command::Calibrate(c)) => calibrate::main(c),
        Some(Command::Serve(s)) => serve::main(s),
        None => run::main(&cli.run),
    }
}
