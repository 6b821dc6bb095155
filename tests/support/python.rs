//! A server a test writes in Python (standard library only), started as a
//! child process: it binds 127.0.0.1:0 and prints its port on its first
//! line. Killed, by its own pid, when dropped.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

pub struct PyServer {
    child: Child,
    _out: BufReader<ChildStdout>,
    pub port: u16,
}

impl PyServer {
    /// Run `script` with `args` and wait for the port it prints.
    pub fn start<I, S>(script: &str, args: I) -> PyServer
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut child = Command::new("python3")
            .args(["-c", script])
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
