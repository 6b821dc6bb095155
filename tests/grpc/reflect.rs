//! `--grpc-reflect` (issue 21, acceptance 3): the descriptors from the
//! server's reflection service instead of a .proto. The same `-n` run gives
//! the same counts, on the server's side and in the report, against the
//! Python grpcio server (reflection v1alpha only, imports sent along) and
//! against `blast target --grpc` (v1 and v1alpha); a server without
//! reflection, a service it does not know and --proto beside it are exit 2,
//! a server not reached or a TLS failure exit 3, each one line naming
//! --grpc-reflect.

use super::{blast, json_of, server};
use crate::support::grpcio::{python_or_skip, GrpcServer};
use crate::support::nginx::make_certificates;
use crate::support::{run, Scratch, TargetProcess};
use crate::u;
use serde_json::json;
use std::time::Duration;

const SAY: [&str; 9] = [
    "-n",
    "2000",
    "-c",
    "4",
    "-t",
    "2",
    "--json",
    "--grpc",
    "test.Echo/Say",
];

#[test]
fn reflection_gives_the_counts_of_the_proto() {
    let Some(s) = server() else { return };
    let body = ["-b", r#"{"text": "hi", "n": 3}"#];
    let with_proto = json_of(&blast(
        &s,
        &[&SAY[..], &body].concat(),
        Duration::from_secs(60),
    ));
    let after_proto = s.log("say.log").len();
    let url = s.url();
    let reflected = json_of(&run(&[&SAY[..], &body, &["--grpc-reflect", &url]].concat()));
    let log = s.log("say.log");
    assert_eq!(after_proto, 2000);
    assert_eq!(log.len() - after_proto, 2000, "the server's count");
    for j in [&with_proto, &reflected] {
        assert_eq!(u(j, "requests"), 2000, "{j}");
        assert_eq!(u(j, "grpc_status.OK"), 2000, "{j}");
        assert_eq!(u(j, "errors.grpc"), 0, "{j}");
    }
    let want = json!({"text": "hi", "n": 3});
    for line in &log[after_proto..] {
        assert_eq!(line["msg"], want, "{line}");
    }
}

#[test]
fn reflection_of_the_built_in_target() {
    let t = TargetProcess::start(&["--grpc"]);
    let url = format!("http://{}", t.addr());
    let r = run(&[
        "-n",
        "1000",
        "-c",
        "4",
        "-t",
        "1",
        "--json",
        "--grpc",
        "blast.Echo/Say",
        "-b",
        r#"{"text": "hi"}"#,
        "--grpc-reflect",
        &url,
    ]);
    let j = json_of(&r);
    assert_eq!(u(&j, "grpc_status.OK"), 1000, "{j}");
    assert_eq!(t.served(), 1000, "reflection's streams are not calls");
}

/// One line on stderr, naming the flag, and the exit code.
fn refused(args: &[&str], code: i32, words: &[&str]) {
    let r = run(args);
    assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("blast: --grpc-reflect: "),
        "{}",
        r.stderr
    );
    for w in words {
        assert!(r.stderr.contains(w), "{w:?} not in {}", r.stderr);
    }
}

#[test]
fn what_reflection_cannot_give_is_one_line() {
    let t = TargetProcess::start(&["--grpc", "--grpc-reflection", "off"]);
    let url = format!("http://{}", t.addr());
    let call = ["-n", "10", "--grpc", "blast.Echo/Say", "--grpc-reflect"];
    refused(
        &[&call[..], &[&url]].concat(),
        2,
        &["serves no reflection service", "UNIMPLEMENTED"],
    );
    assert_eq!(t.served(), 0);
    let t = TargetProcess::start(&["--grpc"]);
    let url = format!("http://{}", t.addr());
    let nope = [
        "-n",
        "10",
        "--grpc",
        "blast.Nope/Say",
        "--grpc-reflect",
        &url,
    ];
    refused(&nope, 2, &["blast.Nope", "not found"]);
    let shout = [
        "-n",
        "10",
        "--grpc",
        "blast.Echo/Shout",
        "--grpc-reflect",
        &url,
    ];
    refused(&shout, 2, &["has no method Shout", "Say"]);
    // Nothing listens on a port just closed: exit 3, as a run's connect failure.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    refused(&[&call[..], &[&gone]].concat(), 3, &["cannot connect"]);
    let dir = Scratch::new("grpc-reflect-proto");
    let proto = dir.write("x.proto", "syntax = \"proto3\";\n");
    let r = run(&[&call[..], &["--proto", &proto, &url]].concat());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("--proto: not with --grpc-reflect"),
        "{}",
        r.stderr
    );
    assert_eq!(t.served(), 0);
}

/// Over TLS reflection is asked with the run's --cacert: the test CA
/// passes, another is exit 3 naming the certificate.
#[test]
fn reflection_over_tls_checks_the_ca() {
    let Some(py) = python_or_skip() else { return };
    let certs = Scratch::new("grpc-reflect-tls");
    make_certificates(&certs);
    let (crt, key) = (certs.path_str("server.crt"), certs.path_str("server.key"));
    let s = GrpcServer::start(&py, Some((&crt, &key)));
    let url = format!("grpcs://localhost:{}", s.port);
    let (ca, other) = (certs.path_str("ca.crt"), certs.path_str("other-ca.crt"));
    let args = ["-n", "100", "-c", "2", "--json", "--grpc", "test.Echo/Say"];
    let reflect = ["-b", r#"{"text": "tls"}"#, "--grpc-reflect", "--cacert"];
    let j = json_of(&run(&[&args[..], &reflect, &[&ca, &url]].concat()));
    assert_eq!(u(&j, "grpc_status.OK"), 100, "{j}");
    assert_eq!(s.log("say.log").len(), 100);
    refused(
        &[&args[..], &reflect, &[&other, &url]].concat(),
        3,
        &["TLS", "certificate"],
    );
    assert_eq!(s.log("say.log").len(), 100);
}
