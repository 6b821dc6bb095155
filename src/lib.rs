//! blast: an HTTP load generator. Data flows one way:
//! cli -> config (request encoded once) -> session -> workers, one per core
//! -> connections (keep-alive loop) -> per-thread stats -> channel ->
//! aggregator -> report. Each module owns one stage; `commands` holds the
//! subcommands that string them together.

pub mod aggregate;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod config;
pub mod conn;
pub mod csv;
pub mod error;
pub mod fetch;
pub mod find;
pub mod hlog;
pub mod html;
pub mod io;
pub mod pace;
pub mod process;
pub mod report;
pub mod request;
pub mod response;
pub mod session;
pub mod slo;
pub mod stats;
pub mod target;
pub mod worker;

pub use session::{run, Session};
