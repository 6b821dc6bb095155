//! A run's live feed: the engine hands each closed second to `LiveSink`
//! (a `stats::IntervalSink`), which keeps it as a timeline point and pushes
//! it to every `GET /benchmarks/{id}/events` reader as a Server-Sent Event;
//! when the run ends, the result (or the error) follows and the streams end.
//!
//! Events: `event: point` (one per second: `t_s`, `requests`, `rps`,
//! `p50_us`, `p90_us`, `p99_us`, `errors`, `bytes`, the same keys as the
//! JSON report's `timeline`), then `event: result` (the whole result) or
//! `event: error` (`{"error": ...}`). A reader that comes late gets the
//! points so far first; one that comes after the end gets the result.

use crate::report::hlog::HlogWriter;
use crate::report::point_json;
use crate::stats::export::{self, Board};
use crate::stats::{IntervalSink, TimelinePoint};
use bytes::Bytes;
use hdrhistogram::Histogram;
use hyper::body::{Body, Frame};
use serde_json::Value;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// What one run has shown so far, shared by the run's thread and the
/// server's readers.
pub struct Live {
    inner: Mutex<Inner>,
    done: watch::Sender<bool>,
}

#[derive(Default)]
struct Inner {
    points: Vec<Value>,
    /// The last event, once the run has ended.
    end: Option<Bytes>,
    /// The run's outcome: (true, result) or (false, {error}).
    outcome: Option<(bool, Value)>,
    readers: Vec<mpsc::UnboundedSender<Bytes>>,
}

impl Live {
    pub fn new() -> Arc<Live> {
        Arc::new(Live {
            inner: Mutex::new(Inner::default()),
            done: watch::channel(false).0,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record a second and send it to every reader.
    pub fn point(&self, p: Value) {
        let ev = event("point", &p);
        let mut inner = self.lock();
        inner.points.push(p);
        inner.readers.retain(|r| r.send(ev.clone()).is_ok());
    }

    /// The points so far.
    pub fn points(&self) -> Vec<Value> {
        self.lock().points.clone()
    }

    /// End the feed with `result` (an `error` event when `ok` is false).
    pub fn finish(&self, ok: bool, result: &Value) {
        let ev = event(if ok { "result" } else { "error" }, result);
        let mut inner = self.lock();
        for r in inner.readers.drain(..) {
            let _ = r.send(ev.clone());
        }
        inner.end = Some(ev);
        inner.outcome = Some((ok, result.clone()));
        drop(inner);
        self.done.send_replace(true);
    }

    /// The outcome, once the run has ended: (true, result) or (false, error).
    pub fn outcome(&self) -> Option<(bool, Value)> {
        self.lock().outcome.clone()
    }

    /// Wait until the run has ended.
    pub async fn wait(&self) {
        let mut rx = self.done.subscribe();
        let _ = rx.wait_for(|d| *d).await;
    }

    /// A new reader: the points so far, then the live ones, then the end.
    pub fn subscribe(&self) -> SseBody {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inner = self.lock();
        for p in &inner.points {
            let _ = tx.send(event("point", p));
        }
        match &inner.end {
            Some(end) => {
                let _ = tx.send(end.clone());
            }
            None => inner.readers.push(tx),
        }
        SseBody { rx }
    }
}

/// A finished run's feed, read back from disk: its timeline, then its end.
pub fn replay(points: &[Value], ok: bool, end: &Value) -> SseBody {
    let (tx, rx) = mpsc::unbounded_channel();
    for p in points {
        let _ = tx.send(event("point", p));
    }
    let _ = tx.send(event(if ok { "result" } else { "error" }, end));
    SseBody { rx }
}

fn event(name: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// A response body of events: it ends when the run's feed drops its sender.
pub struct SseBody {
    rx: mpsc::UnboundedReceiver<Bytes>,
}

impl Body for SseBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.get_mut()
            .rx
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

/// The engine's sink for a served run: each second to the live feed, and
/// to the run's interval log; the running totals to `/metrics`' board.
pub struct LiveSink {
    pub live: Arc<Live>,
    pub hlog: Option<HlogWriter>,
    pub board: Arc<Board>,
}

impl IntervalSink for LiveSink {
    fn interval(
        &mut self,
        start: Duration,
        len: Duration,
        latency: &Histogram<u64>,
        point: &TimelinePoint,
        by_name: &[Histogram<u64>],
    ) {
        if let Some(h) = &mut self.hlog {
            h.interval(start, len, latency, point, by_name);
        }
        self.live.point(point_json(point));
    }

    fn wants_frames(&self) -> bool {
        true
    }

    fn frame(&mut self, frame: export::Frame) {
        self.board.publish(frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use serde_json::json;

    #[test]
    fn late_reader_gets_points_then_the_end() {
        let live = Live::new();
        live.point(json!({"t_s": 1.0}));
        let early = live.subscribe();
        live.point(json!({"t_s": 2.0}));
        live.finish(true, &json!({"requests": 3}));
        let late = live.subscribe();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for body in [early, late] {
            let bytes = rt.block_on(body.collect()).unwrap().to_bytes();
            let text = String::from_utf8(bytes.to_vec()).unwrap();
            assert_eq!(
                text,
                "event: point\ndata: {\"t_s\":1.0}\n\n\
                 event: point\ndata: {\"t_s\":2.0}\n\n\
                 event: result\ndata: {\"requests\":3}\n\n"
            );
        }
    }
}
