//! The resolver on canned answers: imports asked by name, or sent along,
//! errors named, and a pool that must hold the service.

use super::resolver::Resolver;
use crate::reflection::{
    ErrorResponse, FileDescriptorResponse, Request, Response, ServerReflectionRequest,
    ServerReflectionResponse,
};
use prost::Message;
use prost_types::{
    DescriptorProto, FileDescriptorProto, MethodDescriptorProto, ServiceDescriptorProto,
};

fn file(name: &str, deps: &[&str], message: &str) -> FileDescriptorProto {
    FileDescriptorProto {
        name: Some(name.into()),
        package: Some("p".into()),
        dependency: deps.iter().map(|d| d.to_string()).collect(),
        message_type: vec![DescriptorProto {
            name: Some(message.into()),
            ..Default::default()
        }],
        syntax: Some("proto3".into()),
        ..Default::default()
    }
}

/// `svc.proto` imports `a.proto`, which imports `b.proto`.
fn service_file() -> FileDescriptorProto {
    let mut f = file("svc.proto", &["a.proto"], "Req");
    f.service = vec![ServiceDescriptorProto {
        name: Some("Svc".into()),
        method: vec![MethodDescriptorProto {
            name: Some("Call".into()),
            input_type: Some(".p.Req".into()),
            output_type: Some(".p.A".into()),
            ..Default::default()
        }],
        ..Default::default()
    }];
    f
}

fn answer(
    asked: &ServerReflectionRequest,
    files: &[FileDescriptorProto],
) -> ServerReflectionResponse {
    ServerReflectionResponse {
        valid_host: String::new(),
        original_request: Some(asked.clone()),
        message_response: Some(Response::FileDescriptorResponse(FileDescriptorResponse {
            file_descriptor_proto: files.iter().map(|f| f.encode_to_vec()).collect(),
        })),
    }
}

fn by_name(name: &str) -> FileDescriptorProto {
    match name {
        "a.proto" => file("a.proto", &["b.proto"], "A"),
        "b.proto" => file("b.proto", &[], "B"),
        other => panic!("asked for {other}"),
    }
}

#[test]
fn asks_for_each_import_once_by_name() {
    let mut r = Resolver::new("p.Svc");
    let first = r.next().unwrap();
    assert_eq!(
        first.message_request,
        Some(Request::FileContainingSymbol("p.Svc".into()))
    );
    r.take(answer(&first, &[service_file()])).unwrap();
    let mut asked = Vec::new();
    while let Some(q) = r.next() {
        let Some(Request::FileByFilename(name)) = &q.message_request else {
            panic!("by name: {q:?}")
        };
        asked.push(name.clone());
        r.take(answer(&q, &[by_name(name)])).unwrap();
    }
    assert_eq!(asked, ["a.proto", "b.proto"]);
    let pool = r.pool().unwrap();
    let svc = pool.get_service_by_name("p.Svc").unwrap();
    assert_eq!(svc.methods().next().unwrap().name(), "Call");
    assert!(pool.get_message_by_name("p.B").is_some());
}

#[test]
fn imports_sent_along_are_not_asked_again() {
    let mut r = Resolver::new("p.Svc");
    let first = r.next().unwrap();
    let all = [service_file(), by_name("a.proto"), by_name("b.proto")];
    r.take(answer(&first, &all)).unwrap();
    assert!(r.next().is_none());
    assert!(r.pool().is_ok());
}

#[test]
fn a_not_found_names_the_service() {
    let mut r = Resolver::new("p.Nope");
    let first = r.next().unwrap();
    let err = r
        .take(ServerReflectionResponse {
            valid_host: String::new(),
            original_request: Some(first),
            message_response: Some(Response::ErrorResponse(ErrorResponse {
                error_code: 5,
                error_message: "symbol not found: p.Nope".into(),
            })),
        })
        .unwrap_err();
    assert_eq!(
        err,
        "reflection: service p.Nope: symbol not found: p.Nope (code 5)"
    );
}

#[test]
fn files_without_the_service_or_an_import_are_refused() {
    // The server names a file that does not define the service.
    let mut r = Resolver::new("p.Other");
    let first = r.next().unwrap();
    r.take(answer(&first, &[by_name("b.proto")])).unwrap();
    let err = r.pool().unwrap_err();
    assert!(err.contains("do not define service p.Other"), "{err}");
    // An import the server never sends makes the pool fail to build.
    let mut r = Resolver::new("p.Svc");
    let first = r.next().unwrap();
    r.take(answer(&first, &[service_file()])).unwrap();
    let err = r.pool().unwrap_err();
    assert!(err.contains("do not build"), "{err}");
}
