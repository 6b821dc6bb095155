//! Data-driven requests: a CSV file (RFC 4180: a header row of column
//! names, `"` quoting with `""` inside; records end at LF, CRLF or a lone
//! CR, as the `csv` crate reads them) whose rows fill the `{{column}}`
//! placeholders of a request. Every row of every request is rendered
//! here, before the run; the engine only picks a row.
//!
//! A `{{...}}` is read as a placeholder only where a data file applies, so a
//! body that merely contains braces is sent as written without one.
//!
//! A value is encoded for where it lands, so that no value can change the
//! URL's shape: in the path as one segment (`/`, `?`, `#`, `%`, `;` and a
//! whole `.` or `..` encoded), in the query as one component (`&`, `=`,
//! `+`, `#`, `%`, `;` and space encoded). `{{column|raw}}` is the way to
//! put in a value as written. Headers and bodies take values as written.

use crate::error::{usage, Error};
use crate::proto::capture::placeholder;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

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

/// The records of a CSV text; empty lines are skipped. A record ends at
/// LF, CRLF or a lone CR (the `csv` crate's rule); inside quotes each is
/// kept as written. Stricter than the crate: a quote never closed, or text
/// after a closing one, is an error rather than read leniently, since
/// either means the file is not what its author thinks. Lines count every
/// ending, quoted or not. Err: a line and why.
fn records(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted_field = false;
        while let Some(c) = chars.next() {
            match c {
                '"' if field.is_empty() && !quoted_field => {
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
                                field.push(c);
                                if c == '\r' && chars.peek() == Some(&'\n') {
                                    field.push('\n');
                                    chars.next();
                                }
                                if c == '\r' || c == '\n' {
                                    line += 1;
                                }
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
                ',' => {
                    fields.push(std::mem::take(&mut field));
                    quoted_field = false;
                }
                c if line_end(c, &mut chars) => {
                    line += 1;
                    break;
                }
                c => field.push(c),
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

/// Whether `c` ends a line; a CR's LF is taken with it.
fn line_end(c: char, chars: &mut std::iter::Peekable<std::str::Chars>) -> bool {
    if c == '\r' && chars.peek() == Some(&'\n') {
        chars.next();
    }
    c == '\r' || c == '\n'
}

/// One piece of a template: text, or the value of a column.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(Vec<u8>),
    /// A column, and whether it is put in as written (`{{column|raw}}`).
    Column(usize, bool),
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
                    let (col, raw) = column(columns, name).ok_or_else(|| name.to_string())?;
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Column(col, raw));
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
        self.0.iter().any(|p| matches!(p, Part::Column(..)))
    }

    /// The bytes for `row`, its values as written (a header, a body).
    pub fn render(&self, row: Option<&[String]>) -> Vec<u8> {
        let mut out = Vec::new();
        for p in &self.0 {
            match (p, row) {
                (Part::Text(t), _) => out.extend_from_slice(t),
                (Part::Column(c, _), Some(r)) => out.extend_from_slice(r[*c].as_bytes()),
                (Part::Column(..), None) => {}
            }
        }
        out
    }

    /// `render` as a string (templates parsed from strings stay UTF-8).
    pub fn render_str(&self, row: Option<&[String]>) -> String {
        String::from_utf8_lossy(&self.render(row)).into_owned()
    }

    /// A request target for `row`: each value encoded as a path segment,
    /// or as a query component once a `?` has been written (by the text or
    /// a raw value); a raw value as written.
    pub fn render_url(&self, row: Option<&[String]>) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match (p, row) {
                (Part::Text(t), _) => out.push_str(&String::from_utf8_lossy(t)),
                (Part::Column(c, true), Some(r)) => out.push_str(&r[*c]),
                (Part::Column(c, false), Some(r)) if out.contains('?') => {
                    out.extend(utf8_percent_encode(&r[*c], QUERY_COMPONENT))
                }
                (Part::Column(c, false), Some(r)) => out.push_str(&path_segment(&r[*c])),
                (Part::Column(..), None) => {}
            }
        }
        out
    }
}

/// Encoded in a path segment: all but RFC 3986's unreserved characters and
/// the sub-delims and `:` `@` a segment may hold; `;` too, which Tomcat
/// and Jetty read as the start of path parameters.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// Encoded in a query component: as in a segment, but `/` and `?` stay
/// (RFC 3986 allows them in a query) and `&`, `=`, `+` are encoded, since
/// form decoding reads them as separators and a space.
const QUERY_COMPONENT: &AsciiSet = &PATH_SEGMENT
    .add(b'&')
    .add(b'=')
    .add(b'+')
    .remove(b'/')
    .remove(b'?');

/// A value as one path segment; `.` and `..` encoded whole, so that a
/// server or proxy that normalises dot segments cannot climb with them.
fn path_segment(v: &str) -> String {
    match v {
        "." => "%2E".to_string(),
        ".." => "%2E%2E".to_string(),
        _ => utf8_percent_encode(v, PATH_SEGMENT).to_string(),
    }
}

/// The column a placeholder names, and whether it asks for the value as
/// written (`name|raw`, spaces allowed around the `|`). A column whose
/// own name holds `|raw` is matched first.
fn column(columns: &[String], name: &str) -> Option<(usize, bool)> {
    if let Some(i) = columns.iter().position(|c| c == name) {
        return Some((i, false));
    }
    let (base, filter) = name.rsplit_once('|')?;
    let base = base.trim_end();
    (filter.trim_start() == "raw")
        .then(|| columns.iter().position(|c| c == base))
        .flatten()
        .map(|i| (i, true))
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
