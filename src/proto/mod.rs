//! What is spoken on a connection, apart from how bytes move (`engine::io`).
//! `h1`: the request encoded once and the incremental response parser.

pub mod h1;
