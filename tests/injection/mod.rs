//! Issue 18's input that turns into something else where it lands: text
//! cells a spreadsheet would run (`formula`), `{{column}}` values that
//! would change a URL's path or query (`url`), data files with any line
//! ending (`datafile`), and multipart names that would add part headers
//! (`multipart`). Each is checked on what a real server received or on
//! the files blast wrote, read back with a full CSV reader.

mod datafile;
mod formula;
mod multipart;
mod url;

use crate::support::python::LoggedPyServer;
use crate::support::{run, Run};
use serde_json::Value;
use std::collections::BTreeSet;

/// A server that logs every request (`LOG_EVERY_REQUEST`), and its URL.
fn raw_server(tag: &str) -> (LoggedPyServer, String) {
    let s = LoggedPyServer::logging(&format!("injection-{tag}"));
    let url = s.url();
    (s, url)
}

/// One connection sends `n` requests to `url`, its `{{column}}`s filled
/// from the data file `data`.
fn run_data(n: u32, data: &str, url: &str) -> Run {
    run(&[
        "-c",
        "1",
        "-t",
        "1",
        "-n",
        &n.to_string(),
        "--data",
        data,
        url,
    ])
}

/// The distinct request targets logged.
fn targets(log: &[Value]) -> BTreeSet<String> {
    log.iter()
        .map(|e| e["p"].as_str().unwrap().to_string())
        .collect()
}

/// The records of a CSV text by RFC 4180's rules (quoted fields may hold
/// commas, quotes as `""`, CR and LF; records end at LF or CRLF), so a test
/// reads a cell exactly as a spreadsheet would be handed it.
pub fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let (mut rec, mut cell) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => rec.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                rec.push(std::mem::take(&mut cell));
                out.push(std::mem::take(&mut rec));
            }
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !rec.is_empty() {
        rec.push(cell);
        out.push(rec);
    }
    out
}

#[test]
fn csv_records_reads_quoted_cells() {
    assert_eq!(
        csv_records("a,\"b,\"\"c\"\"\r\nd\"\n'x,\"'\r=1\"\n"),
        [vec!["a", "b,\"c\"\r\nd"], vec!["'x", "'\r=1"]]
    );
}
