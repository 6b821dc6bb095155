//! The Python gRPC server tests/grpc runs blast against: grpcio,
//! grpcio-tools and grpcio-reflection from PyPI in a venv at
//! `target/grpcio` (made once by .ci/run or, when missing, by the first
//! test that needs it; tests/grpc_target's grpcio client and server use
//! it too), running tests/grpc/echo_server.py on a copy of
//! tests/grpc/echo.proto in a scratch directory, where it makes its stubs
//! with grpc_tools.protoc and writes its logs. Killed, by its own pid,
//! when dropped.

use super::{have, venv, Scratch};
use serde_json::Value;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

/// What the venv holds; .ci/run installs the same.
pub const PACKAGES: &str = "grpcio grpcio-tools grpcio-reflection";

/// The venv's python, made now if missing; None (after `have` said why)
/// where it cannot be had.
pub fn python_or_skip() -> Option<PathBuf> {
    let dir = venv::dir("grpcio");
    let py = dir.join("bin/python");
    let ready = || {
        Command::new(&py)
            .args(["-c", "import grpc, grpc_tools, grpc_reflection"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let made = venv::ensure(&dir, PACKAGES, ready);
    let how = format!(
        "no grpcio in {}; make it with `python3 -m venv {0} && {0}/bin/pip install {PACKAGES}` (.ci/run does)",
        dir.display()
    );
    have("grpcio", made, &how).then_some(py)
}

pub struct GrpcServer {
    child: Child,
    _out: BufReader<ChildStdout>,
    pub port: u16,
    pub dir: Scratch,
}

impl GrpcServer {
    /// Start it, plaintext or (`tls`: certificate and key files) over TLS.
    pub fn start(python: &Path, tls: Option<(&str, &str)>) -> GrpcServer {
        let dir = Scratch::new("grpc");
        let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grpc");
        std::fs::copy(here.join("echo.proto"), dir.join("echo.proto")).unwrap();
        let mut cmd = Command::new(python);
        cmd.arg(here.join("echo_server.py")).arg(&*dir);
        if let Some((cert, key)) = tls {
            cmd.args([cert, key]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start echo_server.py");
        let (out, port) = super::python::read_port(&mut child, "echo_server.py");
        GrpcServer {
            child,
            _out: out,
            port,
            dir,
        }
    }

    /// The .proto it serves, for `--proto`.
    pub fn proto(&self) -> String {
        self.dir.path_str("echo.proto")
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The JSON lines of its log `name` (say.log, limited.log).
    pub fn log(&self, name: &str) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join(name))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Whether the process has exited (a call told it to).
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().is_ok_and(|s| s.is_some())
    }
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
