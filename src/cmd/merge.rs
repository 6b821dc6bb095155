//! `blast merge FILES...`: interval logs from several load boxes, one report.

use crate::config::cli::MergeArgs;
use crate::error::{usage, Error};
use crate::report::{self, hlog, html};

/// `blast merge FILES...`
pub fn main(a: &MergeArgs) -> Result<i32, Error> {
    let mut logs = Vec::new();
    for f in &a.files {
        let text = std::fs::read(f).map_err(|e| usage(format!("blast merge: '{f}': {e}")))?;
        let log = hlog::read(&text).map_err(|e| usage(format!("blast merge: '{f}': {e}")))?;
        if log.intervals.is_empty() {
            return Err(usage(format!(
                "blast merge: '{f}': no intervals in the log"
            )));
        }
        logs.push(log);
    }
    let s = hlog::merge(&logs);
    let mut out = std::io::stdout().lock();
    let r = if a.json {
        report::write_json(&mut out, &s)
    } else {
        report::write_text(&mut out, &s, a.latency)
    };
    r.map_err(|e| usage(format!("cannot write the report: {e}")))?;
    if let Some(path) = &a.html {
        html::write_run(path, &s, None).map_err(|e| usage(format!("--html '{path}': {e}")))?;
    }
    Ok(0)
}
