//! Defect 2: a request name, path or method that starts with `=`, `+`,
//! `-`, `@`, TAB or CR is a formula to Excel and LibreOffice, quoted or
//! not. Every CSV blast writes (`--csv`, and `blast serve`'s downloads)
//! gives such a cell a leading `'`; its numbers stay numbers.

use super::csv_records;
use crate::serve::client::{data_dir, Serve};
use crate::support::{local_target, run, Scratch};
use std::collections::BTreeSet;

/// Names that each start with one of the characters, and two methods
/// (`+` and `-` are token characters, so a method may start with them).
const SCENARIO: &str = r#"
[[request]]
name = "=1+1"
path = "/eq"
[[request]]
name = "+1"
path = "/plus"
[[request]]
name = "-1"
path = "/minus"
[[request]]
name = "@SUM(1)"
path = "/at"
[[request]]
name = "\t=1"
path = "/tab"
[[request]]
name = "\r=1"
path = "/cr"
[[request]]
method = "-X"
path = "/m"
[[request]]
method = "+P"
path = "/p"
"#;

/// (Type, Name) of each `_stats.csv` row.
fn pairs(text: &str) -> BTreeSet<(String, String)> {
    csv_records(text)
        .into_iter()
        .skip(1)
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

fn want() -> BTreeSet<(String, String)> {
    [
        ("GET", "'=1+1"),
        ("GET", "'+1"),
        ("GET", "'-1"),
        ("GET", "'@SUM(1)"),
        ("GET", "'\t=1"),
        ("GET", "'\r=1"),
        ("'-X", "/m"),
        ("'+P", "/p"),
        ("", "Aggregated"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

/// No cell of `text` starts a formula; the request counts are numbers.
fn no_formula(file: &str, text: &str) {
    for r in csv_records(text) {
        for c in &r {
            assert!(
                !c.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{file}: cell {c:?} in {r:?}"
            );
        }
    }
}

#[test]
fn cli_csv_neutralises_formula_cells() {
    let t = local_target();
    let dir = Scratch::new("formula-cli");
    let scenario = dir.write("s.toml", SCENARIO);
    let prefix = dir.path_str("run");
    let url = format!("http://{}", t.addr());
    let r = run(&[
        "-c",
        "2",
        "-t",
        "1",
        "-n",
        "160",
        "--scenario",
        &scenario,
        "--csv",
        &prefix,
        "--check",
        "status == 201",
        &url,
    ]);
    assert_ne!(r.code, 2, "{}", r.stderr);
    let stats = std::fs::read_to_string(format!("{prefix}_stats.csv")).unwrap();
    assert_eq!(pairs(&stats), want(), "{stats}");
    // The counts are the target's, and numbers.
    let total: u64 = csv_records(&stats)
        .iter()
        .skip(1)
        .filter(|r| r[1] != "Aggregated")
        .map(|r| r[2].parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 160);
    assert_eq!(t.requests(), 160);
    // Every check failed: a failures row per name, its cells neutralised.
    let failures = std::fs::read_to_string(format!("{prefix}_failures.csv")).unwrap();
    let rows = csv_records(&failures);
    assert_eq!(rows.len(), 9, "{failures}");
    assert!(rows.contains(&vec![
        "GET".into(),
        "'=1+1".into(),
        "CatchResponseError('status == 201')".into(),
        rows.iter().find(|r| r[1] == "'=1+1").unwrap()[3].clone(),
    ]));
    for suffix in ["stats", "stats_history", "failures", "exceptions"] {
        let text = std::fs::read_to_string(format!("{prefix}_{suffix}.csv")).unwrap();
        no_formula(suffix, &text);
    }
    t.stop();
}

#[test]
fn serve_stats_csv_neutralises_formula_cells() {
    let t = local_target();
    let dir = data_dir("formula");
    let s = Serve::start(&dir, &[]);
    let body = serde_json::json!({
        "url": format!("http://{}", t.addr()),
        "requests": 160,
        "num_workers": 2,
        "scenario": SCENARIO,
    });
    let id = s.run_waiting(&body.to_string())["id"]
        .as_str()
        .expect("an id")
        .to_string();
    let csv = s.get(&format!("/benchmarks/{id}/stats.csv"));
    assert_eq!(csv.status, 200);
    assert_eq!(pairs(&csv.body), want(), "{}", csv.body);
    no_formula("stats.csv", &csv.body);
    let history = s.get(&format!("/benchmarks/{id}/stats_history.csv"));
    assert_eq!(history.status, 200);
    no_formula("stats_history.csv", &history.body);
    assert_eq!(t.requests(), 160);
    t.stop();
}
