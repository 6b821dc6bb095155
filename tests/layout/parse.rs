//! One file's tokens -> what the import graph needs: the modules it declares
//! (`mod x;` and inline `mod x { }`), the paths it names through `use` and
//! inline (`crate::a::b`, `super::x(`, `child::f()`), and the names its
//! `use` items bind, so `use crate::report; report::csv::write(..)` reaches
//! `report/csv.rs`. Paths stay raw here; `imports.rs` resolves them once
//! the whole module tree is known.

use super::lexer::{Tok, Token};

/// Where a thing sits inside its file: the inline modules around it.
pub type Scope = Vec<String>;

pub struct ModDecl {
    pub scope: Scope,
    pub name: String,
    /// `mod x { }` rather than `mod x;`.
    pub inline: bool,
    pub path_attr: Option<String>,
}

#[derive(Clone)]
pub struct PathRef {
    pub scope: Scope,
    pub segs: Vec<String>,
    pub line: usize,
    /// From a `pub use` / `pub(crate) use`: a facade re-export if it names
    /// a child of this file's module.
    pub pub_use: bool,
    pub is_use: bool,
    /// Inside an inline `#[cfg(test)] mod`.
    pub in_test: bool,
}

pub struct Binding {
    pub scope: Scope,
    pub name: String,
    pub segs: Vec<String>,
}

#[derive(Default)]
pub struct Parsed {
    pub mods: Vec<ModDecl>,
    pub refs: Vec<PathRef>,
    pub bindings: Vec<Binding>,
}

struct Frame {
    name: String,
    depth: usize,
    test: bool,
}

pub fn parse(toks: &[Token]) -> Parsed {
    let mut p = Parsed::default();
    let mut frames: Vec<Frame> = Vec::new();
    let mut depth = 0;
    let (mut path_attr, mut cfg_test) = (None::<String>, false);
    let t = |i: usize| toks.get(i).map(|t| &t.tok);
    let id = |i: usize| match t(i) {
        Some(Tok::Ident(s)) => Some(s.as_str()),
        _ => None,
    };
    let mut i = 0;
    while i < toks.len() {
        let scope: Scope = frames.iter().map(|f| f.name.clone()).collect();
        let in_test = frames.iter().any(|f| f.test);
        match &toks[i].tok {
            Tok::Punct('#') if t(i + 1) == Some(&Tok::Punct('[')) => {
                if id(i + 2) == Some("path") && t(i + 3) == Some(&Tok::Punct('=')) {
                    if let Some(Tok::Str(s)) = t(i + 4) {
                        path_attr = Some(s.clone());
                    }
                }
                if id(i + 2) == Some("cfg") && id(i + 4) == Some("test") {
                    cfg_test = true;
                }
                i = skip_group(toks, i + 1);
                continue;
            }
            Tok::Ident(k) if k == "mod" => {
                if let Some(name) = id(i + 1) {
                    let inline = t(i + 2) == Some(&Tok::Punct('{'));
                    p.mods.push(ModDecl {
                        scope,
                        name: name.to_string(),
                        inline,
                        path_attr: path_attr.take(),
                    });
                    if inline {
                        frames.push(Frame {
                            name: name.to_string(),
                            depth,
                            test: cfg_test,
                        });
                        depth += 1;
                        i += 3;
                    } else {
                        i += 2;
                    }
                    cfg_test = false;
                    continue;
                }
            }
            Tok::Ident(k) if k == "use" => {
                let pub_use = is_pub_before(toks, i);
                let mut u = UseCtx {
                    p: &mut p,
                    scope,
                    in_test,
                    pub_use,
                };
                i = u.tree(toks, i + 1, Vec::new());
                continue;
            }
            Tok::Ident(k) if k == "pub" && t(i + 1) == Some(&Tok::Punct('(')) => {
                // `pub(in crate::x)` is a visibility, not an import.
                i = skip_group(toks, i + 1);
                continue;
            }
            Tok::Ident(_) | Tok::Punct('$') => {
                let after_sep_or_dot =
                    i > 0 && matches!(toks[i - 1].tok, Tok::Sep | Tok::Punct('.'));
                let start = if toks[i].tok == Tok::Punct('$') {
                    i + 1
                } else {
                    i
                };
                let (segs, next) = path_at(toks, start);
                if !after_sep_or_dot && segs.len() >= 2 {
                    p.refs.push(PathRef {
                        scope,
                        segs,
                        line: toks[i].line,
                        pub_use: false,
                        is_use: false,
                        in_test,
                    });
                }
                i = next.max(i + 1);
                continue;
            }
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if frames.last().is_some_and(|f| f.depth == depth) {
                    frames.pop();
                }
            }
            _ => {}
        }
        if matches!(toks[i].tok, Tok::Punct(';' | '{' | '}')) {
            path_attr = None;
            cfg_test = false;
        }
        i += 1;
    }
    p
}

/// `ident (:: ident)*` from `i`; the segments and the index after them.
fn path_at(toks: &[Token], mut i: usize) -> (Vec<String>, usize) {
    let mut segs = Vec::new();
    while let Some(Tok::Ident(s)) = toks.get(i).map(|t| &t.tok) {
        segs.push(s.clone());
        i += 1;
        if toks.get(i).map(|t| &t.tok) == Some(&Tok::Sep) {
            i += 1;
        } else {
            break;
        }
    }
    (segs, i)
}

/// From an opening bracket at `i` to just after its match.
fn skip_group(toks: &[Token], mut i: usize) -> usize {
    let mut depth = 0i32;
    while i < toks.len() {
        match toks[i].tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            _ => {}
        }
        i += 1;
        if depth <= 0 {
            break;
        }
    }
    i
}

/// `pub use` or `pub(crate) use` (any `pub(..)`), looking back from `use`.
fn is_pub_before(toks: &[Token], i: usize) -> bool {
    let back = |k: usize| i.checked_sub(k).map(|j| &toks[j].tok);
    if back(1) == Some(&Tok::Ident("pub".into())) {
        return true;
    }
    if back(1) == Some(&Tok::Punct(')')) {
        // pub ( crate ) use, pub ( in a :: b ) use
        let mut j = i - 1;
        while j > 0 && toks[j].tok != Tok::Punct('(') {
            j -= 1;
        }
        return j > 0 && toks[j - 1].tok == Tok::Ident("pub".into());
    }
    false
}

struct UseCtx<'a> {
    p: &'a mut Parsed,
    scope: Scope,
    in_test: bool,
    pub_use: bool,
}

impl UseCtx<'_> {
    /// A use tree from `i` under `prefix`: `a::b::{c, d::*, e as f, self}`.
    /// Returns the index after it (after the `;` at the top level).
    fn tree(&mut self, toks: &[Token], i: usize, prefix: Vec<String>) -> usize {
        let line = toks.get(i).map_or(0, |t| t.line);
        let (mut segs, mut i) = (prefix, i);
        if toks.get(i).map(|t| &t.tok) == Some(&Tok::Sep) {
            // `use ::extern_crate::x`: never a file of ours.
            segs.push("::".into());
            i += 1;
        }
        loop {
            match toks.get(i).map(|t| &t.tok) {
                Some(Tok::Ident(s)) if toks.get(i + 1).map(|t| &t.tok) == Some(&Tok::Sep) => {
                    segs.push(s.clone());
                    i += 2;
                }
                _ => break,
            }
        }
        match toks.get(i).map(|t| &t.tok) {
            Some(Tok::Punct('*')) => {
                segs.push("*".into());
                self.add_ref(segs, line);
                i += 1;
            }
            Some(Tok::Punct('{')) => {
                i += 1;
                while i < toks.len() && toks[i].tok != Tok::Punct('}') {
                    i = self.tree(toks, i, segs.clone());
                    if toks.get(i).map(|t| &t.tok) == Some(&Tok::Punct(',')) {
                        i += 1;
                    }
                }
                i += 1;
            }
            Some(Tok::Ident(name)) => {
                let mut target = segs.clone();
                let mut bound = name.clone();
                if name == "self" {
                    bound = segs.last().cloned().unwrap_or_default();
                } else {
                    target.push(name.clone());
                }
                i += 1;
                if toks.get(i).map(|t| &t.tok) == Some(&Tok::Ident("as".into())) {
                    if let Some(Tok::Ident(alias)) = toks.get(i + 1).map(|t| &t.tok) {
                        bound = alias.clone();
                    }
                    i += 2;
                }
                if bound != "_" && !bound.is_empty() {
                    self.p.bindings.push(Binding {
                        scope: self.scope.clone(),
                        name: bound,
                        segs: target.clone(),
                    });
                }
                self.add_ref(target, line);
            }
            _ => {}
        }
        if toks.get(i).map(|t| &t.tok) == Some(&Tok::Punct(';')) {
            i += 1;
        }
        i
    }

    fn add_ref(&mut self, segs: Vec<String>, line: usize) {
        self.p.refs.push(PathRef {
            scope: self.scope.clone(),
            segs,
            line,
            pub_use: self.pub_use,
            is_use: true,
            in_test: self.in_test,
        });
    }
}
