//! blast: an HTTP load generator. Data flows one way, and the folders show it:
//!
//! ```text
//! cmd (one file per subcommand)
//!  ├─> config   flags -> validated Config; the request encoded once
//!  ├─> engine   session -> pinned workers -> connections (keep-alive loop)
//!  │     └─> proto   what is spoken on a connection (h1)
//!  ├─> serve    the HTTP API (`blast serve`)
//!  │     └─> config, engine, report: one run at a time, as the CLI runs it
//!  ├─> report   text, JSON, CSV, HTML/SVG, compare, hlog: pure functions
//!  └─> target   the built-in HTTP server
//! stats (per-thread counters, snapshots, the aggregator, SLOs) and units
//! (number formatting) are leaves that every layer above may use.
//! ```
//!
//! Imports only point down this picture: the engine knows no report or file
//! format, reports take plain data, and nothing imports `cmd`.

pub mod cmd;
pub mod config;
pub mod engine;
pub mod error;
pub mod proto;
pub mod report;
pub mod serve;
pub mod stats;
pub mod target;
pub mod units;
