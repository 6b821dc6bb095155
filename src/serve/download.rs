//! A run's files, sent from disk in 64 KiB chunks as the socket takes
//! them: hyper asks for the next chunk only when its write buffer has
//! room, so a caller that reads slowly, or not at all, holds a chunk or
//! two rather than the whole file (a 16 MiB report read whole for each of
//! 50 stalled callers was 800 MB).

use super::api::Refusal;
use super::reply::{no_run, refuse, Body};
use super::store::Store;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::Response;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

const CHUNK: usize = 64 << 10;

/// `GET /benchmarks/{id}/{file}`.
pub(super) async fn download(store: &Store, id: &str, file: &str) -> Response<Body> {
    let (stored, kind) = match file {
        "result.json" => ("result.json", "application/json"),
        "report.html" => ("report.html", "text/html; charset=utf-8"),
        "stats.csv" => ("run_stats.csv", "text/csv; charset=utf-8"),
        "stats_history.csv" => ("run_stats_history.csv", "text/csv; charset=utf-8"),
        "run.hlog" => ("run.hlog", "text/plain; charset=utf-8"),
        _ => return refuse(&Refusal::new(404, None, format!("no such file: {file}"))),
    };
    let Some(meta) = store.meta(id) else {
        return no_run(id);
    };
    if meta["status"] == "running" {
        return refuse(&Refusal::new(
            409,
            None,
            format!("run {id} is going on: {file} is written when it ends"),
        ));
    }
    let opened = match store.dir(id) {
        Some(dir) => tokio::fs::File::open(dir.join(stored)).await.ok(),
        None => None,
    };
    let len = match &opened {
        Some(f) => f.metadata().await.ok().map(|m| m.len()),
        None => None,
    };
    let (Some(file_handle), Some(len)) = (opened, len) else {
        return refuse(&Refusal::new(
            404,
            None,
            format!("run {id} has no {file} (status {})", meta["status"]),
        ));
    };
    let mut r = Response::new(
        FileBody {
            file: file_handle,
            left: len,
        }
        .boxed(),
    );
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(CONTENT_LENGTH, HeaderValue::from(len));
    r
}

/// The file from where it is to `left` bytes on. The files are written
/// once, when the run ends, so the length read at open holds; a file cut
/// short under it ends the body early and hyper closes the connection.
struct FileBody {
    file: tokio::fs::File,
    left: u64,
}

impl hyper::body::Body for FileBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let want = CHUNK.min(self.left as usize);
        let mut buf = BytesMut::zeroed(want);
        let mut rb = ReadBuf::new(&mut buf);
        let read = ready!(Pin::new(&mut self.file).poll_read(cx, &mut rb));
        let n = rb.filled().len();
        if read.is_err() || n == 0 {
            self.left = 0;
            return Poll::Ready(None);
        }
        self.left -= n as u64;
        buf.truncate(n);
        Poll::Ready(Some(Ok(Frame::data(buf.freeze()))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}
