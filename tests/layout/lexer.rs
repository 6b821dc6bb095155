//! A Rust tokenizer just good enough to find `mod`, `use` and qualified
//! paths: comments (doc comments included, so intra-doc links are not
//! imports), string, char and raw-string literals are consumed whole, so a
//! `crate::x` inside them never counts. Lifetimes are skipped. Only string
//! literals keep their text, for `#[path = "..."]`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Ident(String),
    Str(String),
    /// `::`
    Sep,
    Punct(char),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub line: usize,
}

pub fn lex(src: &str) -> Vec<Token> {
    let c: Vec<char> = src.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        let ch = c[i];
        let start_line = line;
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(c[i] == '\n');
                    i += 1;
                }
            }
        } else if ch == '"' {
            let (s, next) = string(&c, i + 1, &mut line);
            out.push(tok(Tok::Str(s), start_line));
            i = next;
        } else if let Some(next) = raw_string(&c, i, &mut line) {
            out.push(tok(Tok::Str(String::new()), start_line));
            i = next;
        } else if ch == 'b' && at(i + 1) == '"' {
            let (s, next) = string(&c, i + 2, &mut line);
            out.push(tok(Tok::Str(s), start_line));
            i = next;
        } else if ch == 'b' && at(i + 1) == '\'' {
            i = char_or_lifetime(&c, i + 1);
        } else if ch == '\'' {
            i = char_or_lifetime(&c, i);
        } else if ch.is_ascii_digit() {
            while i < c.len()
                && (c[i].is_alphanumeric()
                    || c[i] == '_'
                    || c[i] == '.' && at(i + 1).is_ascii_digit())
            {
                i += 1;
            }
        } else if ch == 'r' && at(i + 1) == '#' && is_ident_start(at(i + 2)) {
            let (name, next) = ident(&c, i + 2);
            out.push(tok(Tok::Ident(name), start_line));
            i = next;
        } else if is_ident_start(ch) {
            let (name, next) = ident(&c, i);
            out.push(tok(Tok::Ident(name), start_line));
            i = next;
        } else if ch == ':' && at(i + 1) == ':' {
            out.push(tok(Tok::Sep, start_line));
            i += 2;
        } else {
            out.push(tok(Tok::Punct(ch), start_line));
            i += 1;
        }
    }
    out
}

fn tok(tok: Tok, line: usize) -> Token {
    Token { tok, line }
}

fn is_ident_start(ch: char) -> bool {
    ch == '_' || ch.is_alphabetic()
}

fn ident(c: &[char], mut i: usize) -> (String, usize) {
    let start = i;
    while i < c.len() && (c[i] == '_' || c[i].is_alphanumeric()) {
        i += 1;
    }
    (c[start..i].iter().collect(), i)
}

/// A `"`-string whose body starts at `i`; returns its text and the index
/// after the closing quote.
fn string(c: &[char], mut i: usize, line: &mut usize) -> (String, usize) {
    let mut s = String::new();
    while i < c.len() && c[i] != '"' {
        if c[i] == '\\' {
            s.push(c[i]);
            i += 1;
        }
        if i < c.len() {
            *line += usize::from(c[i] == '\n');
            s.push(c[i]);
        }
        i += 1;
    }
    (s, i + 1)
}

/// `r"..."`, `r#"..."#`, `br##"..."##`: the index after it, if one starts at `i`.
fn raw_string(c: &[char], i: usize, line: &mut usize) -> Option<usize> {
    let mut j = i;
    if c.get(j) == Some(&'b') {
        j += 1;
    }
    if c.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while c.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if c.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < c.len() {
        if c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        *line += usize::from(c[j] == '\n');
        j += 1;
    }
    Some(j)
}

/// At a `'`: a char literal (`'a'`, `'\n'`, `'\''`, `'\u{1F}'`) or a lifetime.
fn char_or_lifetime(c: &[char], i: usize) -> usize {
    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
    if at(i + 1) == '\\' {
        let mut j = i + 3;
        while j < c.len() && c[j] != '\'' {
            j += 1;
        }
        j + 1
    } else if at(i + 2) == '\'' {
        i + 3
    } else {
        ident(c, i + 1).1
    }
}

#[test]
fn literals_and_comments_hide_paths() {
    let src = "// crate::a\n/* crate::b /* nested */ crate::c */\nlet s = \"crate::d\\\"\";\n\
               let r = r#\"crate::e\"#; let q = '\\''; fn f<'a>(x: &'a str) {}\ncrate::f::g";
    let toks = lex(src);
    let idents: Vec<_> = toks
        .iter()
        .filter_map(|t| match &t.tok {
            Tok::Ident(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    assert!(!idents.contains(&"d") && !idents.contains(&"e") && !idents.contains(&"b"));
    assert!(!idents.contains(&"a"), "{idents:?}");
    let f = toks
        .iter()
        .find(|t| t.tok == Tok::Ident("f".into()) && t.line == 4);
    assert!(f.is_some(), "{toks:?}");
}
