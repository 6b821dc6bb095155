//! `GET /metrics`: the Prometheus exposition (OpenMetrics when the scraper
//! asks for it) of the run going on and of the last one that ended, which
//! keeps its final values until the next run ends, so the scrape after a
//! short run still sees its totals. Each run's series carry its `id`, the
//! id of `/benchmarks/{id}`. Behind the same token as the rest of the API.

use super::reply::Body;
use super::runner::Slot;
use crate::report::prom::{self, text};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use hyper::http::request::Parts;
use hyper::Response;

pub fn answer(slot: &Slot, head: &Parts) -> Response<Body> {
    let accept = head.headers.get(ACCEPT).and_then(|v| v.to_str().ok());
    let openmetrics = text::wants_openmetrics(accept);
    let runs = slot.metrics();
    let frames: Vec<_> = runs.iter().map(|(m, b)| (m, b.latest().1)).collect();
    let pairs: Vec<_> = frames.iter().map(|(m, f)| (*m, &**f)).collect();
    let body = text::render(&prom::families(&pairs), openmetrics);
    let mut r = Response::new(Full::new(Bytes::from(body)).boxed());
    let ctype = if openmetrics {
        text::OPENMETRICS_TYPE
    } else {
        text::CONTENT_TYPE
    };
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
