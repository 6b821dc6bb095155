//! HdrHistogram interval logs: `--hlog FILE` writes one, `blast merge`
//! reads several (one per load box) into one report.
//!
//! The log is the standard one (V2 compressed histograms, base64, with
//! StartTime/BaseTime headers), so HdrHistogram's own HistogramLogProcessor
//! reads it. Values are microseconds. blast adds comment lines that other
//! readers skip: per interval the request, error and byte counts, and at the
//! end the run's totals (status codes, errors by kind), so a merge sums those
//! exactly instead of guessing them from histogram counts.
//!
//! A run with request names adds, per interval, one tagged histogram per
//! name (`Tag=predict,...`, HdrHistogram's tag syntax, so its readers keep
//! reading the log), with the tag → name mapping in a `# blast names` line;
//! a merge gives the report per-name statistics from them (`names`).
//!
//! Merging aligns intervals by wall-clock time: each log's BaseTime plus the
//! interval's offset, bucketed to whole seconds from the earliest start.
//! Several boxes started with `--start-at` line up to the millisecond.
//!
//! One file per stage: `write` (the log, as the run goes), `read` (a log
//! back into intervals), `merge` (logs into one `Summary`), and `names`
//! (the per-name lines each of them handles). The plain data they share,
//! `LoggedInterval` and blast's line tags, lives here, so the stages import
//! this file and `names`, never each other backwards.

mod merge;
mod names;
#[cfg(test)]
mod names_tests;
mod read;
mod write;

pub use merge::merge;
pub use names::{tags, LoggedName};
pub use read::{read, Log};
pub use write::{append_summary, HlogWriter};

use hdrhistogram::Histogram;

/// blast's comment lines, which other readers of the log skip.
const INTERVAL_TAG: &str = "# blast interval ";
const SUMMARY_TAG: &str = "# blast summary ";
const RUN_TAG: &str = "# blast run ";

/// One interval read back: absolute start (unix seconds), length, histogram,
/// and blast's counts for it when the log has them.
pub struct LoggedInterval {
    pub start_s: f64,
    pub len_s: f64,
    pub latency: Histogram<u64>,
    pub counts: Option<(u64, u64, u64)>,
}
