//! Data-driven requests: a CSV file (RFC 4180: a header row of column
//! names, `"` quoting with `""` inside, LF or CRLF) whose rows fill the
//! `{{column}}` placeholders of a request. Every row of every request is
//! rendered here, before the run; the engine only picks a row.
//!
//! A `{{...}}` is read as a placeholder only where a data file applies, so a
//! body that merely contains braces is sent as written without one.

use crate::error::{usage, Error};

/// A data file: its column names and rows, each row as wide as the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// As the user named it, for error messages.
    pub path: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Read and check a CSV file (`shown` is the path as the user wrote it).
    pub fn load(path: &std::path::Path, shown: &str) -> Result<Table, Error> {
        let bytes = std::fs::read(path).map_err(|e| usage(format!("data file '{shown}': {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| usage(format!("data file '{shown}': not UTF-8 text")))?;
        Table::parse(&text, shown).map_err(usage)
    }

    /// Parse CSV text; errors name the file and the line.
    pub fn parse(text: &str, shown: &str) -> Result<Table, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut records = records(text).map_err(|(line, why)| format!("{shown}:{line}: {why}"))?;
        if records.is_empty() {
            return Err(format!(
                "data file '{shown}' is empty: it needs a header row of column names and at least one row"
            ));
        }
        let (_, columns) = records.remove(0);
        for (i, c) in columns.iter().enumerate() {
            if c.trim().is_empty() {
                return Err(format!("{shown}:1: column {} has no name", i + 1));
            }
            if columns[..i].contains(c) {
                return Err(format!("{shown}:1: column '{c}' appears twice"));
            }
        }
        if records.is_empty() {
            return Err(format!(
                "data file '{shown}' has a header row but no data rows"
            ));
        }
        let mut rows = Vec::with_capacity(records.len());
        for (line, r) in records {
            if r.len() != columns.len() {
                return Err(format!(
                    "{shown}:{line}: {} fields, but the header has {} columns",
                    r.len(),
                    columns.len()
                ));
            }
            rows.push(r);
        }
        Ok(Table {
            path: shown.to_string(),
            columns,
            rows,
        })
    }
}

/// A CSV record and the line it starts on.
type Record = (usize, Vec<String>);

/// The records of a CSV text; empty lines are skipped. Err: a line and why.
fn records(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted_field = false;
        loop {
            match chars.next() {
                None => break,
                Some('"') if field.is_empty() && !quoted_field => {
                    quoted_field = true;
                    loop {
                        match chars.next() {
                            None => return Err((start, "a quoted field is never closed".into())),
                            Some('"') if chars.peek() == Some(&'"') => {
                                chars.next();
                                field.push('"');
                            }
                            Some('"') => break,
                            Some(c) => {
                                if c == '\n' {
                                    line += 1;
                                }
                                field.push(c);
                            }
                        }
                    }
                    match chars.peek() {
                        None | Some(',') | Some('\n') | Some('\r') => {}
                        Some(_) => {
                            return Err((line, "text after a closing quote".into()));
                        }
                    }
                }
                Some(',') => {
                    fields.push(std::mem::take(&mut field));
                    quoted_field = false;
                }
                Some('\r') if chars.peek() == Some(&'\n') => {}
                Some('\n') => {
                    line += 1;
                    break;
                }
                Some(c) => field.push(c),
            }
        }
        if fields.is_empty() && field.is_empty() && !quoted_field {
            continue;
        }
        fields.push(field);
        out.push((start, fields));
    }
    Ok(out)
}

/// One piece of a template: text, or the value of a column.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(Vec<u8>),
    Column(usize),
}

/// A string or body with `{{column}}` placeholders resolved to columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template(Vec<Part>);

impl Template {
    /// Text with no placeholders.
    pub fn plain(b: &[u8]) -> Template {
        Template(vec![Part::Text(b.to_vec())])
    }

    /// Parse `s` against `columns` (None: no data file, so no placeholders).
    /// Err: the name of the first placeholder that is not a column.
    #[cfg(test)]
    pub fn parse(s: &[u8], columns: Option<&[String]>) -> Result<Template, String> {
        Template::parse_with(s, columns, None)
    }

    /// `parse` in a sequence that captures values: a placeholder naming one
    /// of `captured` (by an earlier step) stays as written, for the engine
    /// to splice in per request; any other that is not a column is an
    /// error, data file or not.
    pub fn parse_with(
        s: &[u8],
        columns: Option<&[String]>,
        captured: Option<&[&str]>,
    ) -> Result<Template, String> {
        if columns.is_none() && captured.is_none() {
            return Ok(Template::plain(s));
        }
        let columns = columns.unwrap_or(&[]);
        let captured = captured.unwrap_or(&[]);
        let mut parts = Vec::new();
        let mut text = Vec::new();
        let mut i = 0;
        while i < s.len() {
            if s[i..].starts_with(b"{{") {
                if let Some((name, len)) = placeholder(&s[i..]) {
                    if captured.contains(&name) {
                        text.extend_from_slice(&s[i..i + len]);
                        i += len;
                        continue;
                    }
                    let col = columns
                        .iter()
                        .position(|c| c == name)
                        .ok_or_else(|| name.to_string())?;
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Column(col));
                    i += len;
                    continue;
                }
            }
            text.push(s[i]);
            i += 1;
        }
        if !text.is_empty() || parts.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template(parts))
    }

    /// Whether any part depends on the row.
    pub fn varies(&self) -> bool {
        self.0.iter().any(|p| matches!(p, Part::Column(_)))
    }

    /// The bytes for `row`; `escape` rewrites each substituted value (for
    /// a URL path, percent-encoding).
    pub fn render(&self, row: Option<&[String]>, escape: fn(&str) -> String) -> Vec<u8> {
        let mut out = Vec::new();
        for p in &self.0 {
            match (p, row) {
                (Part::Text(t), _) => out.extend_from_slice(t),
                (Part::Column(c), Some(r)) => out.extend_from_slice(escape(&r[*c]).as_bytes()),
                (Part::Column(_), None) => {}
            }
        }
        out
    }

    /// `render` as a string (templates parsed from strings stay UTF-8).
    pub fn render_str(&self, row: Option<&[String]>, escape: fn(&str) -> String) -> String {
        String::from_utf8_lossy(&self.render(row, escape)).into_owned()
    }
}

/// `{{ name }}` at the start of `s`: the trimmed name and the length taken.
fn placeholder(s: &[u8]) -> Option<(&str, usize)> {
    let end = s[2..].windows(2).take(200).position(|w| w == b"}}")? + 2;
    let inner = std::str::from_utf8(&s[2..end]).ok()?;
    let name = inner.trim();
    let ok = !name.is_empty() && !name.contains(['{', '}', '\n', '\r', '"']);
    ok.then_some((name, end + 2))
}

/// A value as it is written: unchanged.
pub fn raw(s: &str) -> String {
    s.to_string()
}

/// A value placed in a URL path or query: bytes that cannot appear there
/// as written (space, controls, non-ASCII, `#`) are percent-encoded.
pub fn in_url(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b <= b' ' || b >= 0x7f || b == b'#' {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting_and_line_ends() {
        let t = Table::parse(
            "\u{feff}id,name\r\n1,\"Smith, J\"\r\n2,\"say \"\"hi\"\"\"\n\n3,\"two\nlines\"\n",
            "u.csv",
        )
        .unwrap();
        assert_eq!(t.columns, ["id", "name"]);
        assert_eq!(
            t.rows,
            [
                vec!["1".to_string(), "Smith, J".into()],
                vec!["2".into(), "say \"hi\"".into()],
                vec!["3".into(), "two\nlines".into()],
            ]
        );
        let t = Table::parse("a,b\n,\n", "e.csv").unwrap();
        assert_eq!(t.rows, [vec![String::new(), String::new()]]);
    }

    #[test]
    fn bad_csv_names_file_and_line() {
        for (text, needle) in [
            ("", "'x.csv' is empty"),
            ("\n\n", "'x.csv' is empty"),
            ("id\n", "no data rows"),
            (
                "id,name\n1,a\n2\n",
                "x.csv:3: 1 fields, but the header has 2",
            ),
            ("id,\"open\n1\n", "x.csv:1: a quoted field is never closed"),
            ("id\n\"a\"b\n", "x.csv:2: text after a closing quote"),
            ("id,id\n1,2\n", "column 'id' appears twice"),
            ("id,\n1,2\n", "column 2 has no name"),
        ] {
            let e = Table::parse(text, "x.csv").unwrap_err();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn placeholders_are_columns() {
        let cols = vec!["id".to_string(), "user name".to_string()];
        let t = Template::parse(b"/u/{{id}}?n={{ user name }}", Some(&cols)).unwrap();
        assert!(t.varies());
        let row = vec!["7".to_string(), "Ann Lee".to_string()];
        assert_eq!(t.render_str(Some(&row), in_url), "/u/7?n=Ann%20Lee");
        assert_eq!(t.render_str(Some(&row), raw), "/u/7?n=Ann Lee");
        assert_eq!(
            Template::parse(b"{{nope}}", Some(&cols)).unwrap_err(),
            "nope"
        );
        // Braces that are not a placeholder stay.
        let t = Template::parse(br#"{"a":{"b":"{{id}}"}}"#, Some(&cols)).unwrap();
        assert_eq!(t.render_str(Some(&row), raw), r#"{"a":{"b":"7"}}"#);
        let t = Template::parse(b"{{ }} and {{", Some(&cols)).unwrap();
        assert!(!t.varies());
        // Without a data file nothing is a placeholder.
        let t = Template::parse(b"{{id}}", None).unwrap();
        assert!(!t.varies());
        assert_eq!(t.render(None, raw), b"{{id}}");
        assert_eq!(in_url("a#b/é"), "a%23b/%C3%A9");
    }

    #[test]
    fn captured_names_stay_for_the_engine() {
        let cols = vec!["id".to_string()];
        let t = Template::parse_with(b"/u/{{id}}/{{ token }}", Some(&cols), Some(&["token"]));
        let row = vec!["7".to_string()];
        assert_eq!(t.unwrap().render_str(Some(&row), raw), "/u/7/{{ token }}");
        let t = Template::parse_with(b"{{token}}", None, Some(&["other"]));
        assert_eq!(t.unwrap_err(), "token");
        assert!(Template::parse_with(b"{{x}}", None, Some(&[])).is_err());
    }
}
