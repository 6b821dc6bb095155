//! `proto::grpc_reflect::fetch` against `blast target --grpc`: v1, the
//! fallback to v1alpha, a server without reflection, servers that are not
//! gRPC, TLS with the right and a wrong CA, and a server that never answers.

use super::grpc_target;
use crate::support::Scratch;
use blast::proto::grpc_reflect::{fetch, FetchError};
use blast::proto::tls::{TlsClient, TlsOptions};
use blast::target::{self, Reflection, TargetOptions};
use prost_reflect::Kind;
use std::net::SocketAddr;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);

fn h2c(addr: SocketAddr, service: &str) -> Result<prost_reflect::DescriptorPool, String> {
    fetch(addr, &addr.to_string(), None, service, LIMIT).map_err(|e| {
        // A server that answers, whatever it says, was reached.
        assert!(matches!(e, FetchError::Refused(_)), "{e:?}");
        e.to_string()
    })
}

/// The pool holds blast.Echo/Say and what its message imports.
fn assert_echo(pool: &prost_reflect::DescriptorPool) {
    let svc = pool.get_service_by_name("blast.Echo").expect("blast.Echo");
    let say = svc.methods().find(|m| m.name() == "Say").expect("Say");
    assert_eq!(say.input().full_name(), "blast.EchoMessage");
    assert_eq!(say.output().full_name(), "blast.EchoMessage");
    assert!(!say.is_server_streaming() && !say.is_client_streaming());
    let sent = say.input().get_field_by_name("sent").expect("field sent");
    let Kind::Message(ts) = sent.kind() else {
        panic!("sent is a message")
    };
    assert_eq!(ts.full_name(), "google.protobuf.Timestamp");
    assert!(pool
        .get_file_by_name("google/protobuf/timestamp.proto")
        .is_some());
}

#[test]
fn v1_gives_the_service_and_its_imports() {
    let t = grpc_target(Reflection::Both, None);
    assert_echo(&h2c(t.addr(), "blast.Echo").unwrap());
    // Reflection streams are not calls.
    assert_eq!(t.requests(), 0);
    t.stop();
}

#[test]
fn a_server_with_only_v1alpha_is_asked_that() {
    let t = grpc_target(Reflection::V1alphaOnly, None);
    assert_echo(&h2c(t.addr(), "blast.Echo").unwrap());
    t.stop();
}

#[test]
fn a_server_without_reflection_is_a_clear_error() {
    let t = grpc_target(Reflection::Off, None);
    let err = h2c(t.addr(), "blast.Echo").unwrap_err();
    assert!(
        err.contains("serves no reflection service")
            && err.contains("v1 and v1alpha are both UNIMPLEMENTED"),
        "{err}"
    );
    t.stop();
}

#[test]
fn an_unknown_service_is_named() {
    let t = grpc_target(Reflection::Both, None);
    let err = h2c(t.addr(), "blast.Nope").unwrap_err();
    assert_eq!(
        err,
        "reflection: service blast.Nope: symbol not found: blast.Nope (code 5)"
    );
    t.stop();
}

#[test]
fn servers_that_are_not_grpc_are_named_so() {
    // HTTP/2 without gRPC: 200 and a body of x's.
    let t = target::start(TargetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        http2: true,
        ..Default::default()
    })
    .unwrap();
    let err = h2c(t.addr(), "blast.Echo").unwrap_err();
    assert!(err.contains("not a gRPC answer"), "{err}");
    t.stop();
    // HTTP/1.1 only: no HTTP/2 at all.
    let t = target::start(TargetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    })
    .unwrap();
    let err = h2c(t.addr(), "blast.Echo").unwrap_err();
    assert!(err.starts_with("reflection: "), "{err}");
    t.stop();
}

fn tls_client(cacert: &std::path::Path) -> TlsClient {
    let opts = TlsOptions {
        cacert: Some(cacert.display().to_string()),
        alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        ..Default::default()
    };
    TlsClient::new("localhost", &opts).unwrap()
}

#[test]
fn over_tls_the_ca_is_checked() {
    let dir = Scratch::new("grpc-reflect-tls");
    let (cert, other) = (dir.join("target.pem"), dir.join("other.pem"));
    let t = grpc_target(Reflection::Both, Some(&cert));
    let authority = format!("localhost:{}", t.addr().port());
    let pool = fetch(
        t.addr(),
        &authority,
        Some(&tls_client(&cert)),
        "blast.Echo",
        LIMIT,
    );
    assert_echo(&pool.unwrap());
    // Another target's certificate as the CA: the handshake fails.
    let o = grpc_target(Reflection::Both, Some(&other));
    o.stop();
    let err = fetch(
        t.addr(),
        &authority,
        Some(&tls_client(&other)),
        "blast.Echo",
        LIMIT,
    )
    .unwrap_err();
    let FetchError::Unreached(err) = err else {
        panic!("{err:?}")
    };
    assert!(err.contains("TLS") && err.contains("certificate"), "{err}");
    t.stop();
}

#[test]
fn a_server_that_never_answers_times_out() {
    // Accepted by the kernel's backlog, never read.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let t0 = std::time::Instant::now();
    let err = fetch(
        addr,
        &addr.to_string(),
        None,
        "blast.Echo",
        Duration::from_millis(300),
    )
    .unwrap_err();
    let FetchError::Unreached(err) = err else {
        panic!("{err:?}")
    };
    assert!(err.contains("no answer") && err.contains("within"), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    drop(l);
}

#[test]
fn the_hidden_cli_switch_chooses_the_versions() {
    use crate::support::TargetProcess;
    let t = TargetProcess::start(&["--grpc", "--grpc-reflection", "v1alpha"]);
    let addr: SocketAddr = t.addr().parse().unwrap();
    assert_echo(&h2c(addr, "blast.Echo").unwrap());
    drop(t);
    let t = TargetProcess::start(&["--grpc", "--grpc-reflection", "off"]);
    let addr: SocketAddr = t.addr().parse().unwrap();
    let err = h2c(addr, "blast.Echo").unwrap_err();
    assert!(err.contains("serves no reflection service"), "{err}");
}
