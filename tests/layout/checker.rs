//! The checks on small trees written to a scratch folder: each kind of
//! import that closes a cycle is seen to fail, and each thing that is not
//! an import is seen to pass; likewise for links.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::cycles;
use super::imports::graph;
use super::links;

/// A folder under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    /// A tree of `(relative path, contents)`.
    fn new(files: &[(&str, &str)]) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "blast-layout-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        Scratch(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The cycles of a `src/` tree, each as `a.rs -> b.rs -> a.rs`.
fn cycles_of(files: &[(&str, &str)]) -> Vec<String> {
    let s = Scratch::new(files);
    let g = graph(s.path(), "blast");
    cycles::cycles(&g)
        .iter()
        .map(|c| cycles::show(&g, c))
        .collect()
}

const LIB: &str = "pub mod report;\npub mod stats;\n";

#[test]
fn cycle_through_use_super() {
    let c = cycles_of(&[
        ("lib.rs", LIB),
        ("report/mod.rs", "mod csv;\nmod stream;\n"),
        (
            "report/csv.rs",
            "use super::stream::rows;\npub fn ms() {}\n",
        ),
        (
            "report/stream.rs",
            "use super::csv::ms;\npub fn rows() {}\n",
        ),
        ("stats/mod.rs", ""),
    ]);
    assert_eq!(c, ["report/csv.rs -> report/stream.rs -> report/csv.rs"]);
}

#[test]
fn cycle_through_grouped_use() {
    let c = cycles_of(&[
        ("lib.rs", LIB),
        ("report/mod.rs", "pub mod csv;\n"),
        ("report/csv.rs", "use crate::stats::Stats;\n"),
        (
            "stats/mod.rs",
            "use crate::{report::{csv::write, self}, units};\npub struct Stats;\n",
        ),
    ]);
    assert_eq!(c, ["report/csv.rs -> stats/mod.rs -> report/csv.rs"]);
}

#[test]
fn cycle_through_glob_of_the_parent() {
    // A private `use` of a child is an import, and `use super::*` imports
    // the parent module file.
    let c = cycles_of(&[
        ("lib.rs", LIB),
        ("report/mod.rs", ""),
        ("stats/mod.rs", "mod names;\nuse names::X;\n"),
        ("stats/names.rs", "use super::*;\npub struct X;\n"),
    ]);
    assert_eq!(c, ["stats/mod.rs -> stats/names.rs -> stats/mod.rs"]);
}

#[test]
fn cycle_through_inline_crate_path() {
    // `crate::report::csv::write` lands in csv.rs, which closes the cycle;
    // `crate::report::format_time_us` lands in report/mod.rs, which does not.
    let c = cycles_of(&[
        ("lib.rs", LIB),
        (
            "report/mod.rs",
            "pub mod csv;\npub fn format_time_us() {}\n",
        ),
        (
            "report/csv.rs",
            "pub fn write() -> u64 { crate::stats::total() }\n",
        ),
        (
            "stats/mod.rs",
            "pub fn total() -> u64 {\n    crate::report::format_time_us();\n    0\n}\n",
        ),
    ]);
    assert!(c.is_empty(), "{c:?}");
    let c = cycles_of(&[
        ("lib.rs", LIB),
        ("report/mod.rs", "pub mod csv;\npub fn format_time_us() {}\n"),
        ("report/csv.rs", "pub fn write() -> u64 { crate::stats::total() }\n"),
        (
            "stats/mod.rs",
            "pub fn total() -> u64 {\n    crate::report::format_time_us();\n    crate::report::csv::write()\n}\n",
        ),
    ]);
    assert_eq!(c, ["report/csv.rs -> stats/mod.rs -> report/csv.rs"]);
}

#[test]
fn cycle_through_bound_module_name_and_main() {
    // `use crate::report;` then `report::csv::write()` reaches csv.rs.
    let c = cycles_of(&[
        ("lib.rs", LIB),
        ("main.rs", "fn main() { blast::stats::go() }\n"),
        ("report/mod.rs", "pub mod csv;\n"),
        (
            "report/csv.rs",
            "pub fn write() { super::super::stats::go() }\n",
        ),
        (
            "stats/mod.rs",
            "use crate::report;\npub fn go() { report::csv::write() }\n",
        ),
    ]);
    assert_eq!(c, ["report/csv.rs -> stats/mod.rs -> report/csv.rs"]);
}

#[test]
fn no_cycle_for_facade_reexport_or_mod_declaration() {
    let c = cycles_of(&[
        ("lib.rs", LIB),
        (
            "report/mod.rs",
            "mod csv;\nmod hlog;\npub use csv::write;\npub(crate) use self::hlog::{read, names::Tag};\n",
        ),
        ("report/csv.rs", "use super::Summary;\npub fn write() {}\n"),
        ("report/hlog.rs", "mod names;\npub use names::Tag;\nuse super::csv;\npub fn read() {}\n"),
        ("report/hlog/names.rs", "use super::read;\npub struct Tag;\n"),
        ("stats/mod.rs", "// crate::report::csv in a comment, \"crate::report\" in a string\n"),
    ]);
    assert!(c.is_empty(), "{c:?}");
}

#[test]
fn non_facade_use_of_a_child_is_an_import() {
    // A private `use` (not a re-export) of a child that uses its parent.
    let c = cycles_of(&[
        ("lib.rs", "mod config;\n"),
        ("config/mod.rs", "mod cli;\nuse cli::Args;\n"),
        ("config/cli.rs", "pub struct Args(super::Limit);\n"),
    ]);
    assert_eq!(c, ["config/cli.rs -> config/mod.rs -> config/cli.rs"]);
}

#[test]
fn path_attribute_and_inline_test_module() {
    // plan_tests.rs is `config::plan::tests`: its `super::` is plan.rs.
    // In an inline `mod tests`, `use super::*` is the file itself.
    let c = cycles_of(&[
        ("lib.rs", "mod config;\n"),
        (
            "config/mod.rs",
            "mod plan;\npub struct C;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
        ),
        (
            "config/plan.rs",
            "#[cfg(test)]\n#[path = \"plan_tests.rs\"]\nmod tests;\npub fn p() {}\n",
        ),
        ("config/plan_tests.rs", "use super::p;\n"),
    ]);
    assert!(c.is_empty(), "{c:?}");
}

#[test]
fn three_file_cycle_is_reported_once() {
    let s = Scratch::new(&[
        ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
        ("a.rs", "use crate::b::x;\n"),
        ("b.rs", "pub fn x() { crate::c::y() }\n"),
        ("c.rs", "pub fn y() { super::a::z() }\n"),
    ]);
    let g = graph(s.path(), "blast");
    let report = cycles::report(&g);
    assert!(report.starts_with("1 import cycle(s)"), "{report}");
    assert!(report.contains("a.rs -> b.rs -> c.rs -> a.rs"), "{report}");
    assert!(
        report.contains("c.rs -> a.rs   (c.rs:1 super::a::z)"),
        "{report}"
    );
}

#[test]
fn links_broken_file_broken_anchor_and_good_ones() {
    let s = Scratch::new(&[
        (
            "README.md",
            "# blast\n\nSee [reports](docs/reports.md#per-request-name), \
             [HTTP/2](docs/reports.md#http2-and-tls), ![x](docs/gone.png),\n\
             [site](https://example.com/x), <img src=\"docs/pic.png\" width=\"9\">\n\
             `[not a link](nowhere.md)`\n\n```\n[also not](nowhere.md)\n```\n\
             [up](#blast) [down](#nothing)\n",
        ),
        (
            "docs/reports.md",
            "# Reports\n\n## Per request name\n\n## What is `--latency`?\n\n[back](../README.md#blast)\n\
             [self](#what-is---latency)\n",
        ),
        ("docs/pic.png", ""),
    ]);
    let files = [s.path().join("README.md"), s.path().join("docs/reports.md")];
    let broken = links::check(&files, s.path());
    assert_eq!(
        broken,
        [
            "README.md:3: docs/reports.md#http2-and-tls: no heading with slug 'http2-and-tls'",
            "README.md:3: docs/gone.png: no such file",
            "README.md:10: #nothing: no heading with slug 'nothing'",
        ]
    );
}

#[test]
fn github_slugs() {
    assert_eq!(
        links::slug("Open loop, closed loop, and coordinated omission"),
        "open-loop-closed-loop-and-coordinated-omission"
    );
    assert_eq!(
        links::slug("OpenAI-compatible requests: `--openai`"),
        "openai-compatible-requests---openai"
    );
    assert_eq!(links::slug("HTTP/2 vs h2load_x"), "http2-vs-h2load_x");
    let a = links::anchors("# Usage\n## Usage\n<a id=\"here\"></a>\n");
    assert!(
        a.contains("usage") && a.contains("usage-1") && a.contains("here"),
        "{a:?}"
    );
}

#[test]
fn names_a_parent_glob_brings() {
    // run.rs: `use super::*` then `svg::line()`, `svg` being the parent's
    // `use super::svg` and `names` a child of the parent.
    let c = cycles_of(&[
        ("lib.rs", "mod report;\n"),
        ("report/mod.rs", "mod html;\nmod svg;\n"),
        (
            "report/html/mod.rs",
            "use super::svg;\nmod run;\nmod names;\n",
        ),
        (
            "report/html/run.rs",
            "use super::*;\nfn f() { svg::line(); names::n(); }\n",
        ),
        (
            "report/html/names.rs",
            "pub fn n() { crate::report::svg::line() }\n",
        ),
        (
            "report/svg/mod.rs",
            "pub fn line() { crate::report::html::run::g() }\n",
        ),
    ]);
    assert_eq!(
        c,
        [
            "report/html/run.rs -> report/svg/mod.rs -> report/html/run.rs",
            "report/html/mod.rs -> report/svg/mod.rs -> report/html/run.rs -> report/html/mod.rs",
            "report/html/names.rs -> report/svg/mod.rs -> report/html/run.rs -> report/html/names.rs",
        ]
    );
}
