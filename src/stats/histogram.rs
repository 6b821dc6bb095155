//! The histogram bounds every recorder in `stats` shares: one place, so a
//! worker's, a name's and a stream's histograms can always be added.

use hdrhistogram::Histogram;

/// Highest latency the histograms hold: one hour, in microseconds.
pub const MAX_LATENCY_US: u64 = 3_600_000_000;
/// Highest per-thread rate sample the Req/Sec histogram holds.
pub const MAX_RATE: u64 = 100_000_000;

pub fn latency_histogram() -> Histogram<u64> {
    // Bounds are valid constants, so this cannot fail.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// The Req/Sec samples (one a second per thread, clamped to `MAX_RATE`):
/// a growing histogram.
pub fn rate_histogram() -> Histogram<u64> {
    growing_histogram()
}

/// A histogram of the same precision for what a run records rarely or
/// never: connect and TLS times, the streaming metrics, the Req/Sec
/// samples. It starts at 16 KB and grows (HdrHistogram's auto-resize) to
/// the largest value recorded, which every caller clamps to the bounds
/// above; `latency_histogram` zero-fills 188 KB up front. A run makes a
/// set of counts per worker, a spare or two each, and the aggregator's:
/// with every histogram at full size, some 1,300 pages the kernel zeroes
/// on first touch, several ms of a short run on a VM. The per-request
/// histograms (latency, service, TTFB) stay at full size, so recording
/// a request never grows one; these grow at most once per doubling of
/// their largest value, and a set handed back keeps its size.
pub fn growing_histogram() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 2, 3).expect("valid histogram bounds");
    h.auto(true);
    h
}

/// Record `v` (clamped by the caller) into a growing histogram. Not
/// `saturating_record`: on a histogram that grows, that clamps to the
/// range it has so far instead of growing.
#[inline]
pub fn grow_record(h: &mut Histogram<u64>, v: u64) {
    let _ = h.record(v);
}

/// Sum `src` into `acc`. An empty `src` is skipped: `add` would read every
/// bucket of it, faulting in a fresh histogram's pages to find zeros. It
/// cannot fail: `acc` is full size or grows, and every value is clamped.
pub fn add(acc: &mut Histogram<u64>, src: &Histogram<u64>) {
    if !src.is_empty() {
        let _ = acc.add(src);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_growing_histogram_starts_small_and_holds_every_value() {
        let mut h = growing_histogram();
        // 2,048 counts of 8 bytes, where a latency histogram has 23,552.
        assert_eq!(h.distinct_values(), 2048);
        assert_eq!(latency_histogram().distinct_values(), 23_552);
        for v in [7, 150_000, MAX_LATENCY_US] {
            grow_record(&mut h, v);
        }
        assert_eq!(h.len(), 3);
        assert_eq!(h.max(), h.highest_equivalent(MAX_LATENCY_US));
        assert_eq!(h.value_at_quantile(0.5), h.highest_equivalent(150_000));
        // Summed into a full-size histogram and into a fresh growing one:
        // the same values, none clamped.
        let mut full = latency_histogram();
        let mut grown = growing_histogram();
        add(&mut full, &h);
        add(&mut grown, &h);
        for acc in [&full, &grown] {
            assert_eq!((acc.len(), acc.max()), (3, h.max()));
            assert_eq!(acc.value_at_quantile(0.5), h.value_at_quantile(0.5));
        }
    }

    #[test]
    fn a_rate_histogram_holds_zero_and_its_bound() {
        let mut h = rate_histogram();
        grow_record(&mut h, 0);
        grow_record(&mut h, 250_000);
        grow_record(&mut h, MAX_RATE);
        assert_eq!(h.len(), 3);
        assert_eq!(h.min(), 0);
        assert_eq!(h.max(), h.highest_equivalent(MAX_RATE));
    }
}
