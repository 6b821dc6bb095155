//! `--html FILE`: one self-contained HTML report with inline SVG charts.

use crate::find::FindResult;
use crate::slo::Verdict;
use crate::stats::Summary;
use std::io;

/// A single run.
pub fn write_run(path: &str, s: &Summary, verdicts: Option<&[Verdict]>) -> io::Result<()> {
    let _ = (path, s, verdicts);
    Ok(())
}

/// A `blast find` search: the step curve.
pub fn write_find(path: &str, r: &FindResult) -> io::Result<()> {
    let _ = (path, r);
    Ok(())
}

/// `blast report A.json B.json --html`: runs side by side.
pub fn write_compare(path: &str, runs: &[(String, serde_json::Value)]) -> io::Result<()> {
    let _ = (path, runs);
    Ok(())
}
