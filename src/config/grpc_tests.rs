//! `--grpc` through `Config::from_args`: what a call is made of before the
//! run, and the inputs refused.

use super::*;
use crate::config::cli::Cli;
use crate::config::Config;
use clap::Parser;

const ECHO: &str = r#"syntax = "proto3";
package test;
message SayRequest { string text = 1; int32 n = 2; }
message SayReply { string text = 1; }
service Echo { rpc Say (SayRequest) returns (SayReply); }
"#;

fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(d.path().join(name), text).unwrap();
    }
    d
}

fn config(d: &tempfile::TempDir, v: &[&str]) -> Result<Config, Error> {
    let proto = d.path().join("echo.proto").display().to_string();
    let mut all = vec!["blast", "--proto", &proto];
    all.extend_from_slice(v);
    let a = Cli::try_parse_from(all).unwrap().run;
    Config::from_args(&a, || Ok(()))
}

fn refused(r: Result<Config, Error>) -> String {
    match r {
        Err(Error::Usage(m)) => m,
        Err(e) => panic!("not a usage error: {e:?}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn a_call_is_framed_and_headed_before_the_run() {
    let d = folder(&[("echo.proto", ECHO)]);
    let c = config(
        &d,
        &[
            "--grpc",
            "test.Echo/Say",
            "-b",
            r#"{"text": "hi"}"#,
            "--grpc-timeout",
            "250ms",
            "grpc://127.0.0.1:1",
        ],
    )
    .unwrap();
    assert_eq!(c.load.info.protocol, "h2c");
    let v = c.load.mix.first();
    let h2 = v.h2.as_ref().unwrap();
    assert_eq!(&h2.body[..], [0, 0, 0, 0, 4, 0x0a, 2, b'h', b'i']);
    let call = h2.grpc.as_ref().unwrap();
    assert!(!call.server_streaming);
    let head = h2.head();
    assert_eq!(head.method(), http::Method::POST);
    assert_eq!(head.uri().path(), "/test.Echo/Say");
    assert_eq!(head.headers()["content-type"], "application/grpc");
    assert_eq!(head.headers()["te"], "trailers");
    assert_eq!(head.headers()["grpc-timeout"], "250000u");
    // What gRPC's own clients send: no HTTP accept or content-length.
    assert!(head.headers().get("accept").is_none());
    assert!(head.headers().get("content-length").is_none());
    assert!(head.headers()["user-agent"]
        .to_str()
        .unwrap()
        .starts_with("blast/"));
    let c = config(&d, &["--grpc", "test.Echo/Say", "grpcs://localhost:1"]).unwrap();
    assert_eq!(c.load.info.protocol, "h2");
    // No body: the empty message.
    assert_eq!(
        &c.load.mix.first().h2.as_ref().unwrap().body[..],
        [0, 0, 0, 0, 0]
    );
}

#[test]
fn flags_that_do_not_fit_a_call_are_refused() {
    let d = folder(&[("echo.proto", ECHO)]);
    let url = "http://127.0.0.1:1";
    for (args, want) in [
        (
            vec!["--grpc", "test.Echo/Say", "-X", "GET", url],
            "-X: not with --grpc",
        ),
        (
            vec!["--grpc", "test.Echo/Say", "-F", "a=b", url],
            "-F: not with --grpc",
        ),
        (vec!["-b", "{}", url], "--proto: needs --grpc"),
        (
            vec!["--grpc", "test.Echo/Say", "-b", r#"{"n": "x"}"#, url],
            "test.SayRequest",
        ),
        (
            vec!["--grpc", "test.Echo/Say", "--engine", "tokio-uring", url],
            "--engine tokio-uring",
        ),
    ] {
        let m = refused(config(&d, &args));
        assert!(m.contains(want), "{args:?}: {m}");
    }
}

#[test]
fn scenarios_mix_calls_and_http_on_one_origin_over_http2() {
    let scenario = r#"
[[request]]
name = "call"
grpc = "test.Echo/Say"
body = '{"text": "x"}'

[[request]]
path = "/health"
"#;
    let d = folder(&[("echo.proto", ECHO), ("s.toml", scenario)]);
    let s = d.path().join("s.toml").display().to_string();
    let url = "http://127.0.0.1:1";
    let c = config(&d, &["--http2", "--scenario", &s, url]).unwrap();
    let v = &c.load.mix.variants;
    assert!(v[0].h2.as_ref().unwrap().grpc.is_some());
    assert!(v[1].h2.as_ref().unwrap().grpc.is_none());
    // HTTP requests keep HTTP's defaults; -H still adds a call's.
    assert_eq!(v[1].h2.as_ref().unwrap().head().headers()["accept"], "*/*");
    let c = config(&d, &["--grpc", "test.Echo/Say", "-H", "accept: x/y", url]).unwrap();
    let head = c.load.mix.first().h2.as_ref().unwrap().head();
    assert_eq!(head.headers()["accept"], "x/y");
    assert!(head.headers().get("te").is_some_and(|v| v == "trailers"));
    let m = refused(config(&d, &["--scenario", &s, url]));
    assert!(
        m.contains("s.toml line 2") && m.contains("needs HTTP/2"),
        "{m}"
    );
    let elsewhere = scenario
        .replace("path = \"/health\"", "url = \"http://127.0.0.1:2/health\"")
        .replace("grpc = ", "url = \"http://127.0.0.1:1\"\ngrpc = ");
    let d2 = folder(&[("echo.proto", ECHO), ("s.toml", &elsewhere)]);
    let s2 = d2.path().join("s.toml").display().to_string();
    let m = refused(config(&d2, &["--http2", "--scenario", &s2]));
    assert!(m.contains("not on the origin"), "{m}");
    let with_path = scenario.replace("grpc = ", "path = \"/x\"\ngrpc = ");
    let d3 = folder(&[("echo.proto", ECHO), ("s.toml", &with_path)]);
    let s3 = d3.path().join("s.toml").display().to_string();
    let m = refused(config(&d3, &["--http2", "--scenario", &s3, url]));
    assert!(m.contains("s.toml line 2") && m.contains("not path"), "{m}");
}

#[test]
fn a_call_captures_nothing() {
    let scenario = r#"
[[sequence]]
[[sequence.step]]
grpc = "test.Echo/Say"
capture = { id = "json /text" }
"#;
    let d = folder(&[("echo.proto", ECHO), ("s.toml", scenario)]);
    let s = d.path().join("s.toml").display().to_string();
    let m = refused(config(
        &d,
        &["--http2", "--scenario", &s, "http://127.0.0.1:1"],
    ));
    assert!(
        m.contains("s.toml line 5") && m.contains("not from a grpc call"),
        "{m}"
    );
}

#[test]
fn a_call_takes_no_captured_value() {
    let scenario = r#"
[[sequence]]
[[sequence.step]]
path = "/login"
capture = { token = "json /token" }
[[sequence.step]]
grpc = "test.Echo/Say"
body = '{"text": "{{token}}"}'
"#;
    let d = folder(&[("echo.proto", ECHO), ("s.toml", scenario)]);
    let s = d.path().join("s.toml").display().to_string();
    let m = refused(config(
        &d,
        &["--http2", "--scenario", &s, "http://127.0.0.1:1"],
    ));
    assert!(m.contains("{{token}}, a captured value"), "{m}");
}
