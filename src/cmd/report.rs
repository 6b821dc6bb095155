//! `blast report A.json B.json ...`: saved runs side by side.
//!
//! A file that cannot be read or is not a blast report is a usage error
//! naming the file (exit 2): the comparison is only as good as its inputs,
//! so none is skipped silently.

use crate::config::cli::ReportArgs;
use crate::error::{usage, Error};
use crate::report::{
    compare::{names_from_json, write_names_table, write_stream_table, write_table, NameRow, Row},
    html,
};
use serde_json::Value;
use std::path::Path;

pub fn main(a: &ReportArgs) -> Result<i32, Error> {
    if !a.labels.is_empty() && a.labels.len() != a.files.len() {
        return Err(usage(format!(
            "report: --labels: {} label(s) for {} file(s): give one per file",
            a.labels.len(),
            a.files.len()
        )));
    }
    let mut runs = Vec::with_capacity(a.files.len());
    let mut rows = Vec::with_capacity(a.files.len());
    for (i, file) in a.files.iter().enumerate() {
        let label = a.labels.get(i).cloned().unwrap_or_else(|| stem(file));
        let bad = |why: String| usage(format!("report: '{file}': {why}"));
        let text = std::fs::read_to_string(file).map_err(|e| bad(e.to_string()))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
        rows.push(Row::from_json(&label, &doc).map_err(bad)?);
        runs.push((label, doc));
    }
    let names: Vec<(String, Vec<NameRow>)> = runs
        .iter()
        .map(|(label, doc)| (label.clone(), names_from_json(doc)))
        .collect();
    let mut out = std::io::stdout().lock();
    let written = write_table(&mut out, &rows)
        .and_then(|()| write_stream_table(&mut out, &rows))
        .and_then(|()| write_names_table(&mut out, &names));
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(usage(format!("cannot write the report: {e}")));
        }
        _ => {}
    }
    if let Some(path) = &a.html {
        html::write_compare(path, &runs).map_err(|e| usage(format!("--html '{path}': {e}")))?;
    }
    Ok(0)
}

fn stem(file: &str) -> String {
    Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| file.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems() {
        assert_eq!(stem("/tmp/flask.json"), "flask");
        assert_eq!(stem("fastapi"), "fastapi");
    }
}
