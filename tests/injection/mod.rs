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

/// Stdlib only: any method, logged before its 200 as one JSON line: the
/// request line as received (`line`, so the target is raw, undecoded),
/// the method, and the body's bytes as Latin-1 text (`b`), so a test sees
/// every byte of a multipart head.
const RAW_SERVER: &str = r#"
import http.server, socketserver, json, sys, threading
log, lock = open(sys.argv[1], "a"), threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def __getattr__(self, name):
        if name.startswith("do_"):
            return self.any
        raise AttributeError(name)
    def any(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if n else b""
        e = {"line": self.requestline, "m": self.command, "p": self.path,
             "b": body.decode("latin-1")}
        with lock:
            log.write(json.dumps(e) + "\n")
            log.flush()
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
"#;

fn raw_server(tag: &str) -> (LoggedPyServer, String) {
    let s = LoggedPyServer::start(RAW_SERVER, &format!("injection-{tag}"));
    let url = format!("http://127.0.0.1:{}", s.server.port);
    (s, url)
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
