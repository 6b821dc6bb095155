//! `blast target --grpc` against gRPC's own Python stack (grpcio and
//! grpcio-reflection from PyPI, in a venv at `target/grpcio-client`, made
//! once by .ci/run or by the first test that needs it): the client finds
//! the service through reflection (its v1alpha client, with the import of
//! google/protobuf/timestamp.proto asked by name), builds the message type
//! from what it was told, and makes 100 calls whose answers must equal what
//! it sent; an unknown method is UNIMPLEMENTED. The target counts the calls.

use crate::support::{have, venv, TargetProcess};
use std::process::Command;

const SCRIPT: &str = include_str!("grpcio_client.py");

#[test]
fn grpcio_finds_the_service_by_reflection_and_its_calls_echo() {
    let dir = venv::dir("grpcio-client");
    let python = dir.join("bin/python");
    let ready = || {
        Command::new(&python)
            .args(["-c", "import grpc_reflection, grpc"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let how = format!(
        "no grpcio in {}; make it with `python3 -m venv {0} && {0}/bin/pip install grpcio-reflection` (.ci/run does)",
        dir.display()
    );
    if !have(
        "grpcio",
        venv::ensure(&dir, "grpcio-reflection", ready),
        &how,
    ) {
        return;
    }
    let t = TargetProcess::start(&["--grpc"]);
    let out = Command::new("timeout")
        .arg("60")
        .arg(&python)
        .args(["-c", SCRIPT, t.addr(), "100"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text,
        "services ['blast.Echo']\nShout UNIMPLEMENTED\ncalls 100\n"
    );
    assert_eq!(t.served(), 100);
}
