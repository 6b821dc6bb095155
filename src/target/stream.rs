//! `blast target --stream N`: every request is answered with an
//! OpenAI-compatible Server-Sent Events stream at a known pace, so that
//! blast's streaming metrics (time to first token, inter-token latency)
//! can be checked against a truth.
//!
//! The events, each written as its own body frame (one chunk under
//! HTTP/1.1, one DATA frame under HTTP/2) at its time:
//!
//! 1. at once, a role event with empty content (not a token):
//!    `{"choices":[{"index":0,"delta":{"role":"assistant","content":""},...}]}`;
//! 2. content events `t0 `, `t1 `, ... (`tokens` in all), token `k` due
//!    `first_token + k × token_interval` after the response starts: a fixed
//!    schedule, so a late wake-up delays one event and not the ones after it
//!    (the timer wheel's 1 ms ticks make each event up to ~1.5 ms late, the
//!    mean gap stays `token_interval`; a writer that fell behind catches up);
//! 3. with the last token, a chunk with an empty delta and
//!    `"finish_reason":"stop"`;
//! 4. with `usage`, a usage event (`"choices":[]`, `completion_tokens` =
//!    `tokens`, `prompt_tokens` = 1);
//! 5. `data: [DONE]`.
//!
//! Every event is `data: {json}\n\n`. The timers run on the serving thread's
//! tokio runtime; nothing blocks. A stream counts as a request (in
//! `/__blast/stats` and [`super::Target::requests`]) when its `[DONE]` is
//! handed to the connection; a stream cut short is not counted.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Either;
use hyper::body::{Body, Frame};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use tokio::time::{Instant, Sleep};

use super::counters::Counters;

/// How `--stream` responses are paced and what they end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamOptions {
    /// Content events per response, at least 1.
    pub tokens: u64,
    /// From the start of the response to the first content event.
    pub first_token: Duration,
    /// Between consecutive content events (their due times).
    pub token_interval: Duration,
    /// Send the usage event before `[DONE]`.
    pub usage: bool,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            tokens: 16,
            first_token: Duration::ZERO,
            token_interval: Duration::ZERO,
            usage: true,
        }
    }
}

const PREFIX: &str = r#"data: {"id":"chatcmpl-blast","object":"chat.completion.chunk","created":0,"model":"blast-target","choices":"#;

const ROLE: &str = r#"data: {"id":"chatcmpl-blast","object":"chat.completion.chunk","created":0,"model":"blast-target","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

"#;

const FINISH: &str = r#"data: {"id":"chatcmpl-blast","object":"chat.completion.chunk","created":0,"model":"blast-target","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

"#;

const DONE: &str = "data: [DONE]\n\n";

/// The content event of token `k` (content `t{k} `).
pub fn content_event(k: u64) -> Bytes {
    Bytes::from(format!(
        "{PREFIX}[{{\"index\":0,\"delta\":{{\"content\":\"t{k} \"}},\"finish_reason\":null}}]}}\n\n"
    ))
}

/// The usage event for `tokens` completion tokens (one prompt token).
pub fn usage_event(tokens: u64) -> Bytes {
    Bytes::from(format!(
        "data: {{\"id\":\"chatcmpl-blast\",\"object\":\"chat.completion.chunk\",\"choices\":[],\
         \"usage\":{{\"prompt_tokens\":1,\"completion_tokens\":{tokens},\"total_tokens\":{}}}}}\n\n",
        tokens.saturating_add(1)
    ))
}

/// The response around a stream: `status`, `Content-Type:
/// text/event-stream`, `Cache-Control: no-cache`, and no length (chunked
/// under HTTP/1.1).
pub(super) fn response<L>(status: StatusCode, body: SseBody) -> Response<Either<L, SseBody>> {
    let mut resp = Response::new(Either::Right(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// Where a stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Role,
    Content(u64),
    Finish,
    Usage,
    Done,
    End,
}

/// The streamed body of one `--stream` response.
pub struct SseBody {
    opts: StreamOptions,
    step: Step,
    /// When the response started: the schedule's origin.
    start: Instant,
    /// The wait before the next content event; `armed` says whether it is
    /// still to be waited for.
    timer: Pin<Box<Sleep>>,
    armed: bool,
    counters: Arc<Counters>,
    index: usize,
}

impl SseBody {
    /// A stream whose first content event comes `first_token` from now.
    pub(super) fn new(opts: StreamOptions, counters: Arc<Counters>, index: usize) -> Self {
        let start = Instant::now();
        SseBody {
            opts,
            step: Step::Role,
            start,
            timer: Box::pin(tokio::time::sleep_until(after(start, opts.first_token))),
            armed: !opts.first_token.is_zero(),
            counters,
            index,
        }
    }

    /// Sets the timer for token `k`, unless it is already due.
    fn arm(&mut self, k: u64) {
        let interval = self.opts.token_interval;
        let k = u32::try_from(k).unwrap_or(u32::MAX);
        let due = after(
            self.start,
            self.opts
                .first_token
                .saturating_add(interval.saturating_mul(k)),
        );
        self.armed = due > Instant::now();
        if self.armed {
            self.timer.as_mut().reset(due);
        }
    }
}

/// `start + d`, or a year from now where that overflows.
fn after(start: Instant, d: Duration) -> Instant {
    start
        .checked_add(d)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 86_400))
}

impl Body for SseBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let data = match this.step {
            Step::End => return Poll::Ready(None),
            Step::Role => {
                this.step = Step::Content(0);
                Bytes::from_static(ROLE.as_bytes())
            }
            Step::Content(k) => {
                if this.armed {
                    if this.timer.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.armed = false;
                }
                if k + 1 < this.opts.tokens {
                    this.step = Step::Content(k + 1);
                    this.arm(k + 1);
                } else {
                    this.step = Step::Finish;
                }
                content_event(k)
            }
            Step::Finish => {
                this.step = if this.opts.usage {
                    Step::Usage
                } else {
                    Step::Done
                };
                Bytes::from_static(FINISH.as_bytes())
            }
            Step::Usage => {
                this.step = Step::Done;
                usage_event(this.opts.tokens)
            }
            Step::Done => {
                this.step = Step::End;
                this.counters.requests[this.index]
                    .0
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Bytes::from_static(DONE.as_bytes())
            }
        };
        Poll::Ready(Some(Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.step == Step::End
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_json_after_data() {
        for ev in [
            Bytes::from_static(ROLE.as_bytes()),
            content_event(7),
            Bytes::from_static(FINISH.as_bytes()),
            usage_event(5),
        ] {
            let s = std::str::from_utf8(&ev).unwrap();
            let json = s
                .strip_prefix("data: ")
                .and_then(|s| s.strip_suffix("\n\n"))
                .unwrap();
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(v["object"], "chat.completion.chunk", "{s}");
        }
        let json = |b: Bytes| -> serde_json::Value {
            let s = std::str::from_utf8(&b).unwrap();
            serde_json::from_str(&s["data: ".len()..]).unwrap()
        };
        assert_eq!(
            json(content_event(7))["choices"][0]["delta"]["content"],
            "t7 "
        );
        let u = json(usage_event(5));
        assert_eq!(u["usage"]["completion_tokens"], 5);
        assert_eq!(u["usage"]["total_tokens"], 6);
        assert_eq!(u["choices"], serde_json::json!([]));
    }
}
