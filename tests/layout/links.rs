//! Relative links in Markdown: `[text](path)`, `[text](path#anchor)`,
//! `![alt](path)`, reference definitions `[id]: path` and `<img src=...>`.
//! A path resolves against the folder of the file that holds the link (a
//! leading `/` against the repository root, as GitHub does); an anchor into
//! a `.md` file must equal the GitHub slug of one of its headings (or an
//! explicit `id=`/`name=`). URLs with a scheme (`https:`, `mailto:`) are
//! skipped, as is everything inside code spans and fenced blocks.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, PartialEq, Eq)]
pub struct Link {
    pub line: usize,
    pub target: String,
}

/// One message per broken link: `file:line: target: why`, paths shown
/// relative to `root`.
pub fn check(files: &[PathBuf], root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let shown = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        for l in links(&text) {
            if let Some(why) = broken(file, &text, root, &l.target) {
                out.push(format!("{shown}:{}: {}: {why}", l.line, l.target));
            }
        }
    }
    out
}

/// Why `target` (found in `file`, whose text is `text`) does not resolve.
fn broken(file: &Path, text: &str, root: &Path, target: &str) -> Option<String> {
    let has_scheme = target.split_once(':').is_some_and(|(s, _)| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    });
    if has_scheme {
        return None;
    }
    let (path, anchor) = match target.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (target, None),
    };
    let path = percent_decode(path);
    let resolved = if path.is_empty() {
        file.to_path_buf()
    } else if let Some(abs) = path.strip_prefix('/') {
        normalize(&root.join(abs))
    } else {
        normalize(&file.parent().unwrap_or(Path::new("")).join(&path))
    };
    if !resolved.exists() {
        return Some("no such file".into());
    }
    let anchor = anchor.filter(|a| !a.is_empty())?;
    if resolved.extension().is_none_or(|e| e != "md") || resolved.is_dir() {
        return None;
    }
    let body = if path.is_empty() {
        text.to_string()
    } else {
        std::fs::read_to_string(&resolved).unwrap_or_default()
    };
    let anchor = percent_decode(anchor);
    if anchors(&body).contains(&anchor) {
        None
    } else {
        Some(format!("no heading with slug '{anchor}'"))
    }
}

/// The links of a Markdown text, outside code.
pub fn links(md: &str) -> Vec<Link> {
    let mut out = Vec::new();
    for (n, line) in prose_lines(md) {
        let line = strip_code_spans(line);
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix('[') {
            if let Some((_, def)) = rest.split_once("]:") {
                if let Some(t) = def.split_whitespace().next() {
                    out.push(link(n, t.trim_start_matches('<').trim_end_matches('>')));
                }
            }
        }
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let target = if let Some(r) = rest.strip_prefix('<') {
                r.split('>').next().unwrap_or("")
            } else {
                let mut depth = 0;
                let end = rest
                    .char_indices()
                    .find(|&(_, c)| {
                        match c {
                            '(' => depth += 1,
                            ')' if depth == 0 => return true,
                            ')' => depth -= 1,
                            _ => {}
                        }
                        c.is_whitespace()
                    })
                    .map_or(rest.len(), |(i, _)| i);
                &rest[..end]
            };
            out.push(link(n, target));
        }
        let mut rest = line.as_str();
        while let Some(at) = rest.find("<img") {
            rest = &rest[at + 4..];
            let tag = rest.split('>').next().unwrap_or("");
            if let Some(v) = attr(tag, "src") {
                out.push(link(n, v));
            }
        }
    }
    out.retain(|l| !l.target.is_empty());
    out
}

fn link(line: usize, target: &str) -> Link {
    Link {
        line,
        target: target.to_string(),
    }
}

/// Every anchor a Markdown text offers: its headings' GitHub slugs (the
/// second "Usage" is `usage-1`) and explicit `id=` / `name=` attributes.
pub fn anchors(md: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (_, line) in prose_lines(md) {
        let t = line.trim_start();
        let hashes = t.chars().take_while(|&c| c == '#').count();
        let indent = line.len() - t.len();
        if indent <= 3 && (1..=6).contains(&hashes) && t[hashes..].starts_with([' ', '\t']) {
            let base = slug(t[hashes..].trim().trim_end_matches('#'));
            let mut s = base.clone();
            let mut k = 0;
            while out.contains(&s) {
                k += 1;
                s = format!("{base}-{k}");
            }
            out.insert(s);
        }
        for key in ["id", "name"] {
            let mut rest = line;
            while let Some(at) = rest.find('<') {
                rest = &rest[at + 1..];
                let tag = rest.split('>').next().unwrap_or("");
                if let Some(v) = attr(tag, key) {
                    out.insert(v.to_string());
                }
            }
        }
    }
    out
}

/// GitHub's heading slug: the text without link targets and tags,
/// lowercased, punctuation other than `-` and `_` removed, spaces to `-`.
pub fn slug(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    // `[text](url)` -> `text`
    while let Some(at) = rest.find("](") {
        text += &rest[..at];
        rest = &rest[at + 2..];
        rest = rest.split_once(')').map_or("", |(_, r)| r);
    }
    text += rest;
    let mut plain = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    plain
        .to_lowercase()
        .chars()
        .filter(|&c| c.is_alphanumeric() || c == '-' || c == '_' || c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Lines outside fenced code blocks, numbered from 1.
fn prose_lines(md: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<String> = None;
    let mut out = Vec::new();
    for (i, line) in md.lines().enumerate() {
        let t = line.trim_start();
        let marker: String = t.chars().take_while(|&c| c == '`' || c == '~').collect();
        let is_fence =
            marker.len() >= 3 && marker.chars().all(|c| c == marker.chars().next().unwrap());
        match &fence {
            Some(open) if is_fence && marker.starts_with(open.as_str()) => fence = None,
            Some(_) => {}
            None if is_fence => fence = Some(marker),
            None => out.push((i + 1, line)),
        }
    }
    out
}

/// The line with each `code span` removed (backtick runs of equal length).
fn strip_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find('`') {
        out += &rest[..at];
        let run = rest[at..].chars().take_while(|&c| c == '`').count();
        let after = &rest[at + run..];
        let closing = "`".repeat(run);
        match after.find(&closing) {
            Some(end) => rest = &after[end + run..],
            None => {
                out += &rest[at..at + run];
                rest = after;
            }
        }
    }
    out + rest
}

/// `key="v"` or `key='v'` in the inside of a tag.
fn attr<'a>(tag: &'a str, key: &str) -> Option<&'a str> {
    let mut rest = tag;
    while let Some(at) = rest.find(key) {
        let before_ok = at == 0 || rest[..at].ends_with(char::is_whitespace);
        rest = &rest[at + key.len()..];
        let after = rest.trim_start();
        if before_ok {
            if let Some(v) = after.strip_prefix('=') {
                let v = v.trim_start();
                let q = v.chars().next()?;
                if q == '"' || q == '\'' {
                    return v[1..].split(q).next();
                }
            }
        }
    }
    None
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |k: usize| b.get(k).and_then(|c| (*c as char).to_digit(16));
        match (b[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a/./b/../c` -> `a/c`, without touching the disk.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}
