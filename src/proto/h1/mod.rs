//! HTTP/1.1: the request, encoded once before the run into the bytes every
//! connection writes, and the response parser that reads in place from a
//! connection's receive buffer without allocating; `spliced`: a sequence
//! step's request with captured values spliced in per request.

pub mod request;
pub mod response;
pub mod spliced;
