//! The histogram bounds every recorder in `stats` shares: one place, so a
//! worker's, a name's and a stream's histograms can always be added.

use hdrhistogram::Histogram;

/// Highest latency the histograms hold: one hour, in microseconds.
pub const MAX_LATENCY_US: u64 = 3_600_000_000;
/// Highest per-thread rate sample the Req/Sec histogram holds.
const MAX_RATE: u64 = 100_000_000;

pub fn latency_histogram() -> Histogram<u64> {
    // Bounds are valid constants, so this cannot fail.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

pub fn rate_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_RATE, 3).expect("valid histogram bounds")
}
