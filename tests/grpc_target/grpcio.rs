//! `blast target --grpc` against gRPC's own Python stack (grpcio and
//! grpcio-reflection from PyPI, in the venv at `target/grpcio` that
//! tests/grpc's server runs in: `support::grpcio`): the client finds
//! the service through reflection (its v1alpha client, with the import of
//! google/protobuf/timestamp.proto asked by name), builds the message type
//! from what it was told, and makes 100 calls whose answers must equal what
//! it sent; an unknown method is UNIMPLEMENTED. The target counts the calls.
//! And the other way round: `proto::grpc_reflect::fetch` against a grpcio
//! server, whose reflection is v1alpha only and sends imports along.

use crate::support::grpcio::python_or_skip;
use crate::support::TargetProcess;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const CLIENT: &str = include_str!("grpcio_client.py");
const SERVER: &str = include_str!("grpcio_server.py");

#[test]
fn grpcio_finds_the_service_by_reflection_and_its_calls_echo() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let t = TargetProcess::start(&["--grpc"]);
    let out = Command::new("timeout")
        .arg("60")
        .arg(&python)
        .args(["-c", CLIENT, t.addr(), "100"])
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

#[test]
fn fetch_reads_a_grpcio_servers_reflection() {
    let Some(python) = python_or_skip() else {
        return;
    };
    // It serves until its stdin closes; killed by its own handle if not.
    let mut child = Command::new(&python)
        .args(["-c", SERVER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port: u16 = first
        .trim()
        .strip_prefix("listening on ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the server said {first:?}"));
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let got = blast::proto::grpc_reflect::fetch(
        addr,
        &addr.to_string(),
        None,
        "test.Echo",
        Duration::from_secs(20),
    );
    let missing = blast::proto::grpc_reflect::fetch(
        addr,
        &addr.to_string(),
        None,
        "test.Nope",
        Duration::from_secs(20),
    );
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
    let pool = got.unwrap();
    let say = pool
        .get_service_by_name("test.Echo")
        .and_then(|s| s.methods().find(|m| m.name() == "Say"))
        .expect("test.Echo/Say");
    assert_eq!(say.input().full_name(), "test.Msg");
    let at = say.input().get_field_by_name("at").unwrap();
    assert!(
        matches!(at.kind(), prost_reflect::Kind::Message(m) if m.full_name() == "google.protobuf.Timestamp")
    );
    let err = missing.unwrap_err().to_string();
    assert!(err.starts_with("reflection: service test.Nope: "), "{err}");
}
