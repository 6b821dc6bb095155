//! Streaming (Server-Sent Events, LLM) metrics, as vLLM's `bench serve`
//! defines them: time to first token (TTFT), inter-token latency (ITL,
//! every gap between content events), time per output token (TPOT,
//! `(e2e - ttft) / (tokens - 1)`) and output tokens. Recorded per worker
//! for each complete streamed response, merged like the other histograms.

use super::histogram::{add, grow_record, growing_histogram, MAX_LATENCY_US};
use hdrhistogram::Histogram;

/// The streaming side of a worker's counts, a snapshot's, or a run's.
#[derive(Clone, Debug)]
pub struct Streaming {
    /// From when the request was due to its first content event.
    pub ttft: Histogram<u64>,
    /// Gaps between consecutive content events.
    pub itl: Histogram<u64>,
    /// Per response with two or more tokens: (end - first token) / (tokens - 1).
    pub tpot: Histogram<u64>,
    /// Output tokens of complete streamed responses.
    pub tokens: u64,
    /// Complete streamed responses with at least one content event.
    pub responses: u64,
    /// Of those, the ones whose token count came from the server's usage
    /// event (the others counted content events).
    pub from_usage: u64,
    /// Of those, the ones that met every per-request condition of --slo
    /// (ttft, tpot, e2el): goodput.
    pub good: u64,
}

impl Default for Streaming {
    fn default() -> Self {
        Self::new()
    }
}

impl Streaming {
    pub fn new() -> Self {
        Streaming {
            ttft: growing_histogram(),
            itl: growing_histogram(),
            tpot: growing_histogram(),
            tokens: 0,
            responses: 0,
            from_usage: 0,
            good: 0,
        }
    }

    /// Histograms of a few bytes, for stats that record nothing more.
    pub(super) fn spent() -> Self {
        let tiny = || Histogram::new_with_bounds(1, 2, 0).expect("valid histogram bounds");
        Streaming {
            ttft: tiny(),
            itl: tiny(),
            tpot: tiny(),
            tokens: 0,
            responses: 0,
            from_usage: 0,
            good: 0,
        }
    }

    /// One complete streamed response: its TTFT and TPOT in microseconds,
    /// its token count and where that came from. ITL gaps are recorded
    /// separately (`record_itl`), only for complete responses too.
    pub fn record(
        &mut self,
        ttft_us: u64,
        tpot_us: Option<u64>,
        tokens: u64,
        from_usage: bool,
        good: bool,
    ) {
        grow_record(&mut self.ttft, ttft_us.clamp(1, MAX_LATENCY_US));
        if let Some(t) = tpot_us {
            grow_record(&mut self.tpot, t.clamp(1, MAX_LATENCY_US));
        }
        self.tokens += tokens;
        self.responses += 1;
        self.from_usage += u64::from(from_usage);
        self.good += u64::from(good);
    }

    /// One gap between content events; events that arrived in the same
    /// read are 0 apart (recorded as the histogram's floor, 1 µs).
    pub fn record_itl(&mut self, gap_us: u64) {
        grow_record(&mut self.itl, gap_us.clamp(1, MAX_LATENCY_US));
    }

    pub fn add(&mut self, o: &Streaming) {
        add(&mut self.ttft, &o.ttft);
        add(&mut self.itl, &o.itl);
        add(&mut self.tpot, &o.tpot);
        self.tokens += o.tokens;
        self.responses += o.responses;
        self.from_usage += o.from_usage;
        self.good += o.good;
    }

    /// Where the token counts came from: `usage`, `events`, or `mixed`.
    pub fn token_count_source(&self) -> &'static str {
        if self.from_usage == self.responses {
            "usage"
        } else if self.from_usage == 0 {
            "events"
        } else {
            "mixed"
        }
    }
}
