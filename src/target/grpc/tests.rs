//! Reflection's answers from the compiled echo.proto, without a socket.

use super::reflect::answer;
use super::{Grpc, GrpcOptions, ECHO_FILE};
use crate::reflection::{
    frame, next_message, Next, Request, Response, ServerReflectionRequest, ServerReflectionResponse,
};
use bytes::BytesMut;
use prost::Message;
use prost_types::FileDescriptorProto;

fn ask(q: Request) -> Response {
    let g = Grpc::new(GrpcOptions::default()).unwrap();
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(q.clone()),
    };
    let mut framed = BytesMut::from(&frame(&req)[..]);
    let Next::Message(m) = next_message(&mut framed) else {
        panic!("framed")
    };
    let mut out = BytesMut::from(&answer(&g.pool, m).unwrap()[..]);
    let Next::Message(m) = next_message(&mut out) else {
        panic!("one framed answer")
    };
    let resp = ServerReflectionResponse::decode(m).unwrap();
    assert_eq!(resp.original_request.unwrap().message_request, Some(q));
    resp.message_response.unwrap()
}

fn files(r: Response) -> Vec<FileDescriptorProto> {
    let Response::FileDescriptorResponse(f) = r else {
        panic!("expected files, got {r:?}")
    };
    f.file_descriptor_proto
        .iter()
        .map(|b| FileDescriptorProto::decode(&b[..]).unwrap())
        .collect()
}

#[test]
fn every_symbol_of_the_echo_service_names_its_file_alone() {
    for symbol in ["blast.Echo", "blast.Echo.Say", "blast.EchoMessage"] {
        let f = files(ask(Request::FileContainingSymbol(symbol.into())));
        assert_eq!(f.len(), 1, "{symbol}");
        assert_eq!(f[0].name(), ECHO_FILE);
        assert_eq!(f[0].dependency, ["google/protobuf/timestamp.proto"]);
        assert_eq!(f[0].service[0].method[0].name(), "Say");
    }
}

#[test]
fn imports_come_by_file_name() {
    let f = files(ask(Request::FileByFilename(
        "google/protobuf/timestamp.proto".into(),
    )));
    assert_eq!(f[0].message_type[0].name(), "Timestamp");
}

#[test]
fn lists_the_echo_service() {
    let Response::ListServicesResponse(l) = ask(Request::ListServices(String::new())) else {
        panic!("a list")
    };
    let names: Vec<_> = l.service.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["blast.Echo"]);
}

#[test]
fn unknown_names_are_not_found() {
    for q in [
        Request::FileContainingSymbol("blast.Nope".into()),
        Request::FileContainingSymbol("blast.Echo.Nope".into()),
        Request::FileByFilename("nope.proto".into()),
    ] {
        let Response::ErrorResponse(e) = ask(q) else {
            panic!("an error")
        };
        assert_eq!(e.error_code, 5, "{}", e.error_message);
    }
}

#[test]
fn a_broken_question_ends_the_stream() {
    let g = Grpc::new(GrpcOptions::default()).unwrap();
    assert!(answer(&g.pool, bytes::Bytes::from_static(b"\xff\xff")).is_err());
}
