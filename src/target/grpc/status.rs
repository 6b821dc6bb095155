//! The gRPC statuses the target sends, as headers: in the trailers after a
//! message, or in the headers of a trailers-only answer.

use hyper::header::{HeaderMap, HeaderValue};

pub(super) const UNIMPLEMENTED: u32 = 12;
pub(super) const INTERNAL: u32 = 13;

pub(super) fn status_headers(h: &mut HeaderMap, code: u32, message: &'static str) {
    let status = match code {
        0 => HeaderValue::from_static("0"),
        c => HeaderValue::from(c),
    };
    h.insert("grpc-status", status);
    if !message.is_empty() {
        h.insert("grpc-message", HeaderValue::from_static(message));
    }
}
