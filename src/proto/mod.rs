//! What is spoken on a connection, apart from how bytes move (`engine::io`).
//! `h1`: the request encoded once and the incremental response parser;
//! `tls`: rustls sessions, sans I/O, that the engine drives over its sockets;
//! `h2`: the HTTP/2 request template and what h2's errors mean;
//! `sse`: the event-stream parser that finds token events in LLM responses;
//! `check`, `capture`, `cookie`: how a response is judged (`--check`), what
//! a sequence step takes from it for the next (`capture`), and a user's
//! cookie jar; `grpc_reflect`: a gRPC service's descriptors fetched from
//! the server's reflection service before the run.

pub mod capture;
pub mod check;
pub mod cookie;
pub mod grpc;
pub mod grpc_reflect;
pub mod h1;
pub mod h2;
pub mod sse;
pub mod tls;
