//! blast: an HTTP load generator. Data flows one way:
//! cli -> config (request encoded once) -> workers (one per core) ->
//! connections -> per-thread stats -> channel -> aggregator -> report.

pub mod stats;
