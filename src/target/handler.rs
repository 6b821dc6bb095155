//! What a server thread answers to one request: the stats and record
//! endpoints, or the configured body (after the delay), or an SSE stream.
//! Apart from the accept loop so that what is said and how connections are
//! accepted and spoken can be read, and changed, one at a time.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Body, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};

use super::counters::Counters;
use super::grpc::Grpc;
use super::record::{Recorder, RECORD_PATH};
use super::stream::{self, SseBody, StreamOptions};

/// Path of the built-in stats endpoint (`GET` only).
pub const STATS_PATH: &str = "/__blast/stats";

/// Everything one server thread needs to answer a request. Owned by a single
/// thread, so cloning its `Arc` (and its `Bytes`) stays thread-local.
#[repr(align(128))]
pub(super) struct ThreadCtx {
    pub(super) index: usize,
    pub(super) body: Bytes,
    pub(super) status: StatusCode,
    pub(super) delay: Duration,
    pub(super) counters: Arc<Counters>,
    pub(super) stream: Option<StreamOptions>,
    pub(super) recorder: Option<Arc<Recorder>>,
    /// With `--grpc`: its calls are answered by this instead.
    pub(super) grpc: Option<Grpc>,
}

/// A fixed body, or an SSE stream with `--stream`.
pub(super) type RespBody = Either<Full<Bytes>, SseBody>;

impl ThreadCtx {
    pub(super) async fn handle(&self, mut req: Request<Incoming>, conn: u64) -> Response<RespBody> {
        if req.method() == Method::GET && req.uri().path() == STATS_PATH {
            return self.stats_response().map(Either::Left);
        }
        if let (Some(r), &Method::GET) = (&self.recorder, req.method()) {
            if req.uri().path() == RECORD_PATH {
                return json_response(r.to_json()).map(Either::Left);
            }
        }
        // Read any request body to its end so the connection can be reused
        // even when the body arrives after the headers.
        let mut kept = Vec::new();
        if !req.body().is_end_stream() {
            let body = req.body_mut();
            while let Some(frame) = body.frame().await {
                match (frame, &self.recorder) {
                    (Ok(f), Some(_)) => kept.extend_from_slice(f.data_ref().map_or(&[][..], |d| d)),
                    (Err(_), _) => break,
                    _ => {}
                }
            }
        }
        if let Some(r) = &self.recorder {
            let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
            r.record(self.index, conn, req.method().as_str(), path, &kept);
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if let (Some(opts), false) = (self.stream, req.method() == Method::HEAD) {
            // Counted when its last event is handed to the connection.
            let body = SseBody::new(opts, Arc::clone(&self.counters), self.index);
            return stream::response(self.status, body);
        }
        self.counters.requests[self.index]
            .0
            .fetch_add(1, Ordering::Relaxed);
        let mut resp = Response::new(Either::Left(Full::new(self.body.clone())));
        *resp.status_mut() = self.status;
        resp
    }

    fn stats_response(&self) -> Response<Full<Bytes>> {
        json_response(format!(
            "{{\"requests\": {}, \"connections\": {}}}",
            self.counters.requests(),
            self.counters.connections()
        ))
    }
}

fn json_response(json: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(json)));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}
