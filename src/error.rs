//! Set-up failures: things that stop a run before it starts. Failures during
//! the run are counters (stats::Fault), never errors. Each variant maps to the
//! exit status of SPEC section 4, and its message is one line that names the
//! flag or value at fault.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Bad usage or input (exit 2).
    Usage(String),
    /// Nothing could be measured: target unreachable or unresolvable (exit 3).
    Unreachable(String),
    /// The engine asked for cannot run here (exit 3).
    EngineUnavailable(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Unreachable(_) | Error::EngineUnavailable(_) => 3,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Unreachable(m) | Error::EngineUnavailable(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// Shorthand for a usage error.
pub fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}
