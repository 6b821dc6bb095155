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

/// What every test server runs after its handler.
const SERVE: &str = r#"
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
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
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the test server printed {line:?}, not its port"));
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
