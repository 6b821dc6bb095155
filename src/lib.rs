//! blast: an HTTP load generator. Data flows one way, and the folders show it
//! (docs/design.md has the whole map):
//!
//! ```text
//! cmd (one file per subcommand)
//!  ├─> serve    the HTTP API (`blast serve`): config, engine, report, one run at a time
//!  ├─> config   flags -> validated Config; every request encoded once
//!  │     └─> engine   session -> pinned workers -> connections (keep-alive loop)
//!  │           └─> proto   what is spoken on a connection: h1, tls, h2, sse
//!  ├─> report   text, JSON, CSV, HTML/SVG, compare, hlog, over plain data
//!  └─> target   the built-in HTTP server (imports nothing of blast's but reflection)
//! stats (per-thread counters, snapshots, the aggregator, SLOs, the Summary),
//! units (number formatting), shape (the load shape of `--stages`),
//! reflection (gRPC reflection's messages, which the client and the target
//! both speak) and error (set-up errors, exit codes) are leaves that every
//! layer may use.
//! ```
//!
//! Imports only point down this picture: `config` builds the engine's
//! settings, the engine knows no report or file format, reports take
//! plain data from `stats`, and no folder imports `cmd` (only main.rs calls it).

pub mod cmd;
pub mod config;
pub mod engine;
pub mod error;
pub mod proto;
pub mod reflection;
pub mod report;
pub mod serve;
pub mod shape;
pub mod stats;
pub mod target;
pub mod units;
