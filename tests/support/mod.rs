//! What the integration tests share, one file per concern: test servers
//! that count what they receive (`server`), the blast binary run to
//! completion (`runner`), `blast target` as a child (`target`), a scratch
//! directory (`scratch`), a listener for async test servers (`listen`), polling with a deadline (`poll`), what a test
//! needs from the machine (`capability`), and the servers blast was not
//! written with (`nginx`, `python`) and the Python tools tests drive
//! (`locust`, `schemathesis`, in a `venv` each), and `blast serve` with a raw HTTP client
//! for it (`serve`).

#![allow(dead_code)]

pub mod capability;
pub mod grpcio;
pub mod listen;
pub mod locust;
pub mod nginx;
pub mod poll;
pub mod python;
pub mod runner;
pub mod schemathesis;
pub mod scratch;
pub mod serve;
pub mod server;
pub mod target;
pub mod venv;

pub use capability::{chromium, chromium_or_skip, engines, have, uring_available};
pub use listen::{listen, Listening};
pub use poll::wait_until;
pub use runner::*;
pub use scratch::Scratch;
pub use server::*;
pub use target::{local_target, TargetProcess};
