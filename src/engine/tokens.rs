//! Timing the tokens of a streamed response (Server-Sent Events, as LLM
//! endpoints answer) on one connection or stream: the first content event,
//! the gaps between content events, the count. Nothing is recorded until
//! the response completes, so a stream cut short leaves no partial metrics.
//! It also watches for what fails a stream that began with a 200: an event
//! whose JSON has a top-level `error` key (kept: the first message), and,
//! when a check reads the body, keeps the `data:` payloads concatenated.

use crate::proto::check::sse_error;
use crate::proto::sse::{SseEvent, SseParser};
use crate::stats::slo::{Condition, Metric};
use crate::stats::Streaming;
use std::time::Instant;

/// Allocated once per connection (or HTTP/2 lane) that sees an event
/// stream; its buffers are reused for every response after that.
pub struct TokenClock {
    sse: SseParser,
    first: Option<Instant>,
    last: Option<Instant>,
    events: u64,
    usage: Option<u64>,
    /// Gaps of the response in progress, in microseconds.
    gaps: Vec<u64>,
    /// The first error event's message (allocated only on an error).
    pub error: Option<String>,
    /// Keep the payloads, up to this many bytes (checks that read the body).
    pub keep: Option<usize>,
    /// The payloads kept, and whether they outgrew `keep`.
    pub data: Vec<u8>,
    pub data_over: bool,
    /// This response fed the clock (it is an event stream).
    pub fed: bool,
}

impl Default for TokenClock {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenClock {
    pub fn new() -> Self {
        TokenClock {
            sse: SseParser::new(),
            first: None,
            last: None,
            events: 0,
            usage: None,
            gaps: Vec::new(),
            error: None,
            keep: None,
            data: Vec::new(),
            data_over: false,
            fed: false,
        }
    }

    /// A new response starts.
    pub fn reset(&mut self) {
        self.sse.reset();
        self.first = None;
        self.last = None;
        self.events = 0;
        self.usage = None;
        self.gaps.clear();
        self.error = None;
        self.data.clear();
        self.data_over = false;
        self.fed = false;
    }

    /// Body content (de-chunked) that arrived at `at`. Events completed in
    /// the same read share its time.
    pub fn feed(&mut self, bytes: &[u8], at: Instant) {
        self.fed = true;
        let TokenClock {
            sse,
            first,
            last,
            events,
            usage,
            gaps,
            error,
            keep,
            data,
            data_over,
            fed: _,
        } = self;
        let on_data = |d: &[u8]| {
            if error.is_none() {
                *error = sse_error(d);
            }
            if let Some(max) = *keep {
                if data.len() + d.len() > max {
                    *data_over = true;
                } else {
                    data.extend_from_slice(d);
                }
            }
        };
        let on = |e| match e {
            SseEvent::Content => {
                match *last {
                    Some(l) => gaps.push(at.saturating_duration_since(l).as_micros() as u64),
                    None => *first = Some(at),
                }
                *last = Some(at);
                *events += 1;
            }
            SseEvent::Usage { completion_tokens } => *usage = Some(completion_tokens),
            SseEvent::Empty | SseEvent::Done => {}
        };
        sse.feed_with(bytes, on, on_data);
    }

    /// A message of a gRPC server stream arrived at `at`: a token, as a
    /// content event is.
    pub fn message(&mut self, at: Instant) {
        self.fed = true;
        match self.last {
            Some(l) => self
                .gaps
                .push(at.saturating_duration_since(l).as_micros() as u64),
            None => self.first = Some(at),
        }
        self.last = Some(at);
        self.events += 1;
    }

    /// The response completed at `end` (it was due at `from`): record its
    /// TTFT, ITLs, TPOT and tokens into `s` if it carried any content, as
    /// vLLM's bench serve defines them, and whether it met every condition
    /// of `goodput` (never when it `failed` a check); then reset.
    pub fn finish(
        &mut self,
        from: Instant,
        end: Instant,
        goodput: &[Condition],
        failed: bool,
        s: &mut Streaming,
    ) {
        if let Some(first) = self.first {
            let tokens = self.usage.unwrap_or(self.events);
            let us = |d: std::time::Duration| d.as_micros() as u64;
            let ttft = us(first.saturating_duration_since(from));
            let tpot =
                (tokens > 1).then(|| us(end.saturating_duration_since(first)) / (tokens - 1));
            let e2el = us(end.saturating_duration_since(from));
            // One token has no time per output token: vLLM counts it as 0.
            let good = !failed
                && goodput.iter().all(|c| {
                    c.holds(match c.metric {
                        Metric::Ttft => ttft as f64,
                        Metric::Tpot => tpot.unwrap_or(0) as f64,
                        _ => e2el as f64,
                    })
                });
            s.record(ttft, tpot, tokens, self.usage.is_some(), good);
            for &g in &self.gaps {
                s.record_itl(g);
            }
        }
        self.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_tokens_as_vllm_defines_them() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let ev =
            |c: &str| format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{c}\"}}}}]}}\n\n");
        let mut c = TokenClock::new();
        let mut s = Streaming::new();
        c.feed(
            b"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
            ms(10),
        );
        c.feed(ev("a").as_bytes(), ms(200));
        c.feed(ev("b").as_bytes(), ms(220));
        c.feed(format!("{}{}", ev("c"), ev("d")).as_bytes(), ms(250));
        c.finish(t0, ms(260), &[], false, &mut s);
        assert_eq!((s.responses, s.tokens, s.from_usage), (1, 4, 0));
        assert_eq!(s.ttft.max(), s.ttft.highest_equivalent(200_000));
        // Gaps 20, 30 and 0 ms (two events in one read).
        assert_eq!(s.itl.len(), 3);
        assert_eq!(s.itl.min(), 1);
        // TPOT: (260 - 200) / 3 = 20 ms.
        assert_eq!(s.tpot.max(), s.tpot.highest_equivalent(20_000));
        // The usage event's count wins over the events counted.
        c.feed(ev("x").as_bytes(), ms(300));
        c.feed(
            b"data: {\"choices\":[],\"usage\":{\"completion_tokens\":7}}\n\ndata: [DONE]\n\n",
            ms(310),
        );
        c.finish(ms(290), ms(310), &[], false, &mut s);
        assert_eq!((s.responses, s.tokens, s.from_usage), (2, 11, 1));
        assert_eq!(s.token_count_source(), "mixed");
        // A response cut short records nothing: reset drops it.
        c.feed(ev("y").as_bytes(), ms(400));
        c.reset();
        c.finish(ms(390), ms(420), &[], false, &mut s);
        assert_eq!(s.responses, 2);
    }
}
