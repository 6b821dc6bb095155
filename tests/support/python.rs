//! A server a test writes in Python (standard library only), started as a
//! child process: the test writes the request handler, class `H` (with
//! `http.server` and `socketserver` imported); `PyServer` adds the threaded
//! server on 127.0.0.1:0 that prints its port on its first line. Killed, by
//! its own pid, when dropped. `LoggedPyServer` is one whose handler appends
//! a JSON line per request to a log in its scratch directory.

use super::Scratch;
use serde_json::Value;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// What every test server runs after its handler. The listen backlog is
/// socketserver's 5 unless raised: a run that opens 64 connections at once
/// then has SYNs dropped and sent again a second later (TCP's first
/// retransmission), which shows as a worker silent for a second or two at
/// the start of a timed test.
const SERVE: &str = r#"
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 1024
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

pub struct PyServer {
    child: Child,
    _out: BufReader<ChildStdout>,
    pub port: u16,
}

impl PyServer {
    /// Run the handler `script`, then `SERVE`, with `args`, and wait for the
    /// port it prints.
    pub fn start<I, S>(script: &str, args: I) -> PyServer
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut child = Command::new("python3")
            .args(["-c", &format!("{script}{SERVE}")])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 starts the test server (Debian: apt-get install python3)");
        let (out, port) = read_port(&mut child, "the test server");
        PyServer {
            child,
            _out: out,
            port,
        }
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The request handler most logging tests want, stdlib only: every method
/// (any token, through `__getattr__`) gets 200 and a 2-byte body (none for
/// HEAD) after its request is logged to the file in argv[1] as one JSON
/// line: the request line as received (`line`, the target raw and
/// undecoded), method `m`, path `p`, the client's port as the connection
/// `c`, headers `h` (names lowercased), and the body as UTF-8 text (`b`)
/// and as Latin-1 (`raw`, every byte, for a multipart head). TCP_NODELAY:
/// the head and body are two writes, which Nagle would hold for a delayed
/// ACK.
pub const LOG_EVERY_REQUEST: &str = r#"
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
             "c": self.client_address[1],
             "h": {k.lower(): v for k, v in self.headers.items()},
             "b": body.decode("utf-8", "replace"), "raw": body.decode("latin-1")}
        with lock:
            log.write(json.dumps(e) + "\n")
            log.flush()
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b"ok")
"#;

/// A `PyServer` given the path of `log.jsonl` in its own scratch directory
/// as its first argument, where the test also writes the files blast reads.
pub struct LoggedPyServer {
    pub server: PyServer,
    pub dir: Scratch,
}

impl LoggedPyServer {
    pub fn start(script: &str, tag: &str) -> LoggedPyServer {
        let dir = Scratch::new(tag);
        let server = PyServer::start(script, [dir.join("log.jsonl")]);
        LoggedPyServer { server, dir }
    }

    /// One that runs `LOG_EVERY_REQUEST`.
    pub fn logging(tag: &str) -> LoggedPyServer {
        LoggedPyServer::start(LOG_EVERY_REQUEST, tag)
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    /// A file in the scratch directory, written now; its path.
    pub fn file(&self, name: &str, text: &str) -> String {
        self.dir.write(name, text)
    }

    /// Every request logged so far, in arrival order.
    pub fn log(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("log.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Run blast with `--json -t 1 --timeout 10s` and `args` (the settings the
/// scenario and OpenAI tests share), expect exit 0, and return the report.
pub fn blast_json(args: &[&str]) -> Value {
    let mut all = vec!["--json", "-t", "1", "--timeout", "10s"];
    all.extend_from_slice(args);
    let r = super::run(&all);
    assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    r.json()
}

/// The port a Python server prints as its first line on stdout, and the
/// stdout kept open (the server is not sent SIGPIPE while it runs).
pub fn read_port(child: &mut Child, what: &str) -> (BufReader<ChildStdout>, u16) {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{what} printed {line:?}, not its port"));
    (out, port)
}
