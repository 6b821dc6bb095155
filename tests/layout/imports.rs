//! The import graph among the files of a crate's `src/`.
//!
//! Each file is a module: the tree is walked from `lib.rs` (and `main.rs`,
//! a crate of its own that reaches the library as `blast::`) through its
//! `mod x;` declarations, `#[path]` included, so `plan_tests.rs` is
//! `config::plan::tests` and its `super::` means `plan.rs`. A file that no
//! declaration reaches is still a node, named from where it lies.
//!
//! File A imports file B when A names an item of B's module, in a `use`
//! (grouped, `self::`, `super::`, a glob, or a path relative to a child
//! module) or inline in code (`crate::stats::Stats`, `super::f(`, a name a
//! `use` bound: `report::csv::write`, or a name a glob `use super::*`
//! brings: `svg::line`). A path goes to the deepest module file along it.
//! Not imports: `mod x;` itself, and a `pub use` that re-exports the file's
//! own descendants (the folder's facade: `mod.rs`, or `x.rs` beside an `x/`
//! folder); the facade's own code using such a name still imports it.
//! References inside inline `#[cfg(test)] mod tests { }` blocks are
//! INCLUDED (marked so in the report): a test block is code of its file,
//! as a `*_tests.rs` file is code of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::lexer::lex;
use super::parse::{parse, Parsed, PathRef};

/// An absolute module path; its first element names the crate (`crate`
/// for the library, `main` for the binary).
type ModPath = Vec<String>;

/// Why A imports B: the first place it does.
#[derive(Clone, Debug)]
pub struct Evidence {
    pub line: usize,
    pub path: String,
}

pub struct Graph {
    /// Files relative to `src/`, `/`-separated, sorted.
    pub files: Vec<String>,
    pub edges: BTreeMap<usize, BTreeMap<usize, Evidence>>,
}

struct Unit {
    file: String,
    module: ModPath,
    parsed: Parsed,
}

/// The import graph of `src` (a crate's `src/` folder); `lib_name` is the
/// name under which `main.rs` reaches the library (`blast`).
pub fn graph(src: &Path, lib_name: &str) -> Graph {
    let mut units: Vec<Unit> = Vec::new();
    // module path -> file; inline modules map to the file that holds them.
    let mut tree: BTreeMap<ModPath, String> = BTreeMap::new();
    let mut queue: Vec<(String, ModPath)> = Vec::new();
    for (root, krate) in [("lib.rs", "crate"), ("main.rs", "main")] {
        if src.join(root).is_file() {
            queue.push((root.to_string(), vec![krate.to_string()]));
        }
    }
    let mut seen = BTreeSet::new();
    let mut all = Vec::new();
    rs_files(src, src, &mut all);
    loop {
        while let Some((file, module)) = queue.pop() {
            if !seen.insert(file.clone()) {
                continue;
            }
            let text = std::fs::read_to_string(src.join(&file)).unwrap_or_default();
            let parsed = parse(&lex(&text));
            tree.insert(module.clone(), file.clone());
            for m in &parsed.mods {
                let mut child = module.clone();
                child.extend(m.scope.iter().cloned());
                child.push(m.name.clone());
                if m.inline {
                    tree.insert(child, file.clone());
                } else if let Some(f) = child_file(src, &file, m) {
                    queue.push((f, child));
                }
            }
            units.push(Unit {
                file,
                module,
                parsed,
            });
        }
        // Files no `mod` reaches: named from where they lie.
        match all.iter().find(|f| !seen.contains(*f)) {
            Some(f) => queue.push((f.clone(), module_of_location(f))),
            None => break,
        }
    }
    let files: Vec<String> = all;
    let index: BTreeMap<&str, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.as_str(), i))
        .collect();
    let mut edges: BTreeMap<usize, BTreeMap<usize, Evidence>> = BTreeMap::new();
    let r = Resolver {
        tree: &tree,
        units: &units,
        lib_name,
    };
    for u in &units {
        let from = index[u.file.as_str()];
        for reference in &u.parsed.refs {
            let Some(to) = r.target(u, reference) else {
                continue;
            };
            if to == u.file || (reference.pub_use && r.is_facade(u, &to)) {
                continue;
            }
            edges
                .entry(from)
                .or_default()
                .entry(index[to.as_str()])
                .or_insert(Evidence {
                    line: reference.line,
                    path: format!(
                        "{}{}{}",
                        if reference.is_use { "use " } else { "" },
                        reference.segs.join("::"),
                        if reference.in_test {
                            " [in #[cfg(test)] mod]"
                        } else {
                            ""
                        }
                    ),
                });
        }
    }
    Graph { files, edges }
}

struct Resolver<'a> {
    tree: &'a BTreeMap<ModPath, String>,
    units: &'a [Unit],
    lib_name: &'a str,
}

impl Resolver<'_> {
    /// The file a reference lands in, if it is one of ours.
    fn target(&self, u: &Unit, r: &PathRef) -> Option<String> {
        let here: ModPath = u.module.iter().chain(&r.scope).cloned().collect();
        let abs = self.absolute(u, &here, r, &r.segs, true)?;
        self.deepest(&abs)
    }

    /// `segs` as an absolute module path, seen from module `here`.
    fn absolute(
        &self,
        u: &Unit,
        here: &ModPath,
        r: &PathRef,
        segs: &[String],
        expand: bool,
    ) -> Option<ModPath> {
        let first = segs.first()?.as_str();
        let rest = &segs[1..];
        let mut base: ModPath = match first {
            "crate" => vec![u.module[0].clone()],
            "self" => here.clone(),
            "super" => {
                let mut m = here.clone();
                let mut k = 0;
                while segs.get(k).map(String::as_str) == Some("super") {
                    if m.len() > 1 {
                        m.pop();
                    }
                    k += 1;
                }
                m.extend(segs[k..].iter().cloned());
                return Some(m);
            }
            _ => {
                let mut child = here.clone();
                child.push(first.to_string());
                if self.tree.contains_key(&child) {
                    child
                } else if let Some(b) = expand.then(|| self.binding(u, r, first)).flatten() {
                    let mut full = b.clone();
                    full.extend(rest.iter().cloned());
                    return self.absolute(u, here, r, &full, false);
                } else if let Some(m) = expand
                    .then(|| self.through_glob(u, here, r, first))
                    .flatten()
                {
                    m
                } else if first == self.lib_name && u.module[0] != "crate" {
                    vec!["crate".to_string()]
                } else {
                    return None;
                }
            }
        };
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// What a `use` in the same scope bound `name` to.
    fn binding<'b>(&self, u: &'b Unit, r: &PathRef, name: &str) -> Option<&'b Vec<String>> {
        u.parsed
            .bindings
            .iter()
            .find(|b| b.name == name && b.scope == r.scope)
            .map(|b| &b.segs)
    }

    /// `name` as a glob `use m::*` in the same scope brings it: a child
    /// module of `m`, or a name `m`'s own `use` items bind (`use super::*`
    /// then `svg::line(..)`, where the parent has `use super::svg`).
    fn through_glob(&self, u: &Unit, here: &ModPath, r: &PathRef, name: &str) -> Option<ModPath> {
        let globs = u.parsed.refs.iter().filter(|g| {
            g.is_use && g.scope == r.scope && g.segs.last().map(String::as_str) == Some("*")
        });
        for g in globs {
            let Some(m) = self.absolute(u, here, g, &g.segs[..g.segs.len() - 1], false) else {
                continue;
            };
            let mut child = m.clone();
            child.push(name.to_string());
            if self.tree.contains_key(&child) {
                return Some(child);
            }
            let Some(owner) = self.units.iter().find(|o| o.module == m) else {
                continue;
            };
            let bound = owner
                .parsed
                .bindings
                .iter()
                .find(|b| b.name == name && b.scope.is_empty());
            if let Some(b) = bound {
                return self.absolute(owner, &m, g, &b.segs, false);
            }
        }
        None
    }

    /// The deepest module file along `abs`.
    fn deepest(&self, abs: &ModPath) -> Option<String> {
        (1..=abs.len())
            .rev()
            .find_map(|n| self.tree.get(&abs[..n].to_vec()).cloned())
    }

    /// `to` holds a module below `u`'s own: a facade re-export.
    fn is_facade(&self, u: &Unit, to: &str) -> bool {
        self.tree
            .iter()
            .any(|(m, f)| f == to && m.len() > u.module.len() && m.starts_with(&u.module))
    }
}

/// The file `mod name;` (in `file`, under its inline scope) declares.
fn child_file(src: &Path, file: &str, m: &super::parse::ModDecl) -> Option<String> {
    let path = Path::new(file);
    let parent = path.parent().unwrap_or(Path::new(""));
    let stem = path.file_stem()?.to_str()?;
    let owns_dir = matches!(path.file_name()?.to_str()?, "mod.rs" | "lib.rs" | "main.rs");
    let mut dir: PathBuf = if owns_dir || m.path_attr.is_some() {
        parent.to_path_buf()
    } else {
        parent.join(stem)
    };
    for s in &m.scope {
        dir.push(s);
    }
    let candidates = match &m.path_attr {
        Some(p) => vec![dir.join(p)],
        None => vec![
            dir.join(format!("{}.rs", m.name)),
            dir.join(&m.name).join("mod.rs"),
        ],
    };
    candidates
        .into_iter()
        .find(|c| src.join(c).is_file())
        .map(|c| slash(&c))
}

fn module_of_location(file: &str) -> ModPath {
    let mut m = vec!["crate".to_string()];
    let trimmed = file.trim_end_matches(".rs").trim_end_matches("/mod");
    m.extend(trimmed.split('/').map(str::to_string));
    m
}

fn rs_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rs_files(root, &p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(slash(p.strip_prefix(root).unwrap_or(&p)));
        }
    }
    out.sort();
}

fn slash(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}
