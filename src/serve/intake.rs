//! A call's body, read with bounds on everything a caller could stretch:
//! its length (4 MiB, checked against `Content-Length` before a byte is
//! read), its time (10 s from the head, however it trickles), and how many
//! are read at once (`gate`). Each refusal closes the connection, since
//! what is left of the body is never read.

use super::api::Refusal;
use super::gate::{self, Gate};
use super::guard;
use super::reply::{closing, refuse, Body};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::CONTENT_LENGTH;
use hyper::http::request::Parts;
use hyper::Response;
use std::sync::Arc;
use std::time::Duration;

/// The largest API call body; a run's own `body` field is capped lower
/// (`api::MAX_BODY_FIELD`), with room for JSON escaping.
pub const MAX_CALL_BODY: usize = 4 << 20;

/// How long a body has to arrive, once its head has.
pub const BODY_READ: Duration = Duration::from_secs(10);

/// The call's body: JSON, at most `MAX_CALL_BODY`, within `BODY_READ`,
/// and while fewer than the gate's cap of other bodies are being read.
/// The declared length is checked before the body is touched: hyper sends
/// `100 Continue` only once the body is read, so a caller that asked for
/// it learns of the 413 without sending a byte.
pub(super) async fn read_body(
    gates: &Arc<Gate>,
    head: &Parts,
    body: Incoming,
) -> Result<Bytes, Response<Body>> {
    guard::json_body(head).map_err(|r| refuse(&r))?;
    let over = || {
        closing(refuse(&Refusal::new(
            413,
            None,
            format!("the request body is over {} MiB", MAX_CALL_BODY >> 20),
        )))
    };
    let declared = head.headers.get(CONTENT_LENGTH);
    let declared = declared.and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_CALL_BODY as u64) {
        return Err(over());
    }
    let Some(_reading) = gates.take(gate::Kind::Body) else {
        return Err(closing(refuse(&Refusal::new(
            503,
            None,
            "too many calls are sending a body: try again later",
        ))));
    };
    let read = Limited::new(body, MAX_CALL_BODY).collect();
    match tokio::time::timeout(BODY_READ, read).await {
        Ok(Ok(b)) => Ok(b.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(over()),
        Ok(Err(e)) => Err(closing(refuse(&Refusal::new(
            400,
            None,
            format!("the request body could not be read: {e}"),
        )))),
        Err(_) => Err(closing(refuse(&Refusal::new(
            408,
            None,
            format!(
                "the request body did not arrive within {} s",
                BODY_READ.as_secs()
            ),
        )))),
    }
}
