//! The house rules a reviewer would otherwise check by eye (STYLE.md,
//! issue 16): no import cycle among the files of `src/`, no file in `src/`
//! over 500 lines, a README of at most 300 lines, and every relative link in
//! README.md and `docs/**/*.md` resolving. Each failure names every
//! offender, so one run is a to-do list.
//!
//! See every list: `cargo nextest run --no-fail-fast -E 'test(/^layout::/)'`
//! or `cargo test --test blast layout::`; only the cycles:
//! `tools/import-cycles.sh`. The checker's
//! own tests (`layout::checker::`) run on small trees in a scratch folder,
//! so it is seen to fail as well as pass.

mod checker;
mod cycles;
mod imports;
mod lexer;
mod links;
mod parse;

use std::path::{Path, PathBuf};

const MAX_SRC_LINES: usize = 500;
const MAX_README_LINES: usize = 300;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lib_name() -> String {
    env!("CARGO_PKG_NAME").replace('-', "_")
}

/// Every file under `dir` whose name ends with `ext` ("" for all), sorted.
fn files_with(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_with(&p, ext, out);
        } else if p.to_string_lossy().ends_with(ext) {
            out.push(p);
        }
    }
    out.sort();
}

/// The cycle list, or "" when there is none.
pub fn cycle_report(src: &Path) -> String {
    cycles::report(&imports::graph(src, &lib_name()))
}

#[test]
fn no_import_cycles() {
    let report = cycle_report(&root().join("src"));
    assert!(report.is_empty(), "{report}");
}

#[test]
fn no_src_file_over_500_lines() {
    let mut files = Vec::new();
    // Every file, not only .rs: the web UI's scripts live in src/ too.
    files_with(&root().join("src"), "", &mut files);
    assert!(!files.is_empty(), "no file under src/");
    let over: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).ok()?.lines().count();
            let shown = f.strip_prefix(root()).unwrap_or(f).display();
            (n > MAX_SRC_LINES).then(|| format!("  {shown}: {n} lines"))
        })
        .collect();
    assert!(
        over.is_empty(),
        "{} file(s) in src/ over {MAX_SRC_LINES} lines:\n{}",
        over.len(),
        over.join("\n")
    );
}

#[test]
fn readme_at_most_300_lines() {
    let text = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let n = text.lines().count();
    assert!(
        n <= MAX_README_LINES,
        "README.md has {n} lines; at most {MAX_README_LINES}: move chapters to docs/"
    );
}

#[test]
fn relative_links_resolve() {
    let mut files = vec![root().join("README.md")];
    files_with(&root().join("docs"), ".md", &mut files);
    let broken = links::check(&files, &root());
    assert!(
        broken.is_empty(),
        "{} broken link(s) in README.md and docs/:\n  {}",
        broken.len(),
        broken.join("\n  ")
    );
}
