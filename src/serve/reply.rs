//! How the API answers: JSON with its status (`answer`), a refusal as
//! `{"error", "field"}` (`refuse`), and the body type every handler
//! returns. Its own file so the handlers in `download` and `intake` share
//! it without importing `serve/mod.rs`, which calls them.

use super::api::Refusal;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONNECTION, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::Value;
use std::convert::Infallible;

/// Every answer's body: JSON in one piece, a file in chunks, or events.
pub type Body = BoxBody<Bytes, Infallible>;

pub fn no_run(id: &str) -> Response<Body> {
    refuse(&Refusal::new(404, None, format!("no run '{id}'")))
}

pub fn refuse(r: &Refusal) -> Response<Body> {
    answer(r.status, &r.to_json())
}

pub fn answer(status: u16, doc: &Value) -> Response<Body> {
    let mut text = serde_json::to_vec_pretty(doc).unwrap_or_default();
    text.push(b'\n');
    let mut r = Response::new(Full::new(Bytes::from(text)).boxed());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `r`, and the connection closed after it (its request was not read whole).
pub fn closing(mut r: Response<Body>) -> Response<Body> {
    r.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    r
}
