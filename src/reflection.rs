//! gRPC server reflection on the wire: the messages of
//! `grpc.reflection.v1` (v1alpha's are the same fields under another
//! package), written by hand with prost's derive rather than generated, and
//! gRPC's 5-byte message framing. A leaf, as `units` is, because both ends
//! speak it: the built-in target answers reflection (`target::grpc`) and the
//! client asks it (`proto::grpc_reflect`), and the target imports nothing of
//! the load generator's layers.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The bidi-streaming method of each version, as an HTTP/2 `:path`.
pub const V1_PATH: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
pub const V1ALPHA_PATH: &str = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

/// One question on the stream; `host` is unused by servers in practice.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ServerReflectionRequest {
    #[prost(string, tag = "1")]
    pub host: String,
    #[prost(oneof = "Request", tags = "3, 4, 5, 6, 7")]
    pub message_request: Option<Request>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Request {
    #[prost(string, tag = "3")]
    FileByFilename(String),
    #[prost(string, tag = "4")]
    FileContainingSymbol(String),
    #[prost(message, tag = "5")]
    FileContainingExtension(ExtensionRequest),
    #[prost(string, tag = "6")]
    AllExtensionNumbersOfType(String),
    #[prost(string, tag = "7")]
    ListServices(String),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExtensionRequest {
    #[prost(string, tag = "1")]
    pub containing_type: String,
    #[prost(int32, tag = "2")]
    pub extension_number: i32,
}

/// One answer, in the order the questions came.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ServerReflectionResponse {
    #[prost(string, tag = "1")]
    pub valid_host: String,
    #[prost(message, optional, tag = "2")]
    pub original_request: Option<ServerReflectionRequest>,
    #[prost(oneof = "Response", tags = "4, 5, 6, 7")]
    pub message_response: Option<Response>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Response {
    #[prost(message, tag = "4")]
    FileDescriptorResponse(FileDescriptorResponse),
    #[prost(message, tag = "5")]
    AllExtensionNumbersResponse(ExtensionNumberResponse),
    #[prost(message, tag = "6")]
    ListServicesResponse(ListServiceResponse),
    #[prost(message, tag = "7")]
    ErrorResponse(ErrorResponse),
}

/// Serialized `google.protobuf.FileDescriptorProto`s.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FileDescriptorResponse {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub file_descriptor_proto: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExtensionNumberResponse {
    #[prost(string, tag = "1")]
    pub base_type_name: String,
    #[prost(int32, repeated, tag = "2")]
    pub extension_number: Vec<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ListServiceResponse {
    #[prost(message, repeated, tag = "1")]
    pub service: Vec<ServiceResponse>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ServiceResponse {
    #[prost(string, tag = "1")]
    pub name: String,
}

/// `error_code` is a gRPC status code (5: NOT_FOUND).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ErrorResponse {
    #[prost(int32, tag = "1")]
    pub error_code: i32,
    #[prost(string, tag = "2")]
    pub error_message: String,
}

/// Largest message either end accepts: gRPC's usual default (4 MiB).
pub const MAX_MESSAGE: usize = 4 << 20;

/// `msg` behind gRPC's prefix: flag 0 (uncompressed), 4-byte big-endian length.
pub fn frame(msg: &impl prost::Message) -> Bytes {
    let len = msg.encoded_len();
    let mut out = BytesMut::with_capacity(5 + len);
    out.put_u8(0);
    out.put_u32(len as u32);
    msg.encode_raw(&mut out);
    out.freeze()
}

/// What `next_message` found at the front of a stream's buffer.
#[derive(Debug, PartialEq)]
pub enum Next {
    /// One whole message, taken off the buffer.
    Message(Bytes),
    /// Not all of it has arrived yet.
    Partial,
    /// Compressed (never asked for here) or over `MAX_MESSAGE`.
    Refused(&'static str),
}

/// Take the first whole message off `buf`, which gathers a stream's DATA.
pub fn next_message(buf: &mut BytesMut) -> Next {
    if buf.len() < 5 {
        return Next::Partial;
    }
    if buf[0] != 0 {
        return Next::Refused("compressed message (no grpc-encoding was agreed)");
    }
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if len > MAX_MESSAGE {
        return Next::Refused("message over 4 MiB");
    }
    if buf.len() < 5 + len {
        return Next::Partial;
    }
    buf.advance(5);
    Next::Message(buf.split_to(len).freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn frames_round_trip_in_pieces() {
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(Request::FileContainingSymbol("blast.Echo".into())),
        };
        let framed = frame(&req);
        assert_eq!(framed[0], 0);
        assert_eq!(framed.len(), 5 + req.encoded_len());
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&framed[..3]);
        assert_eq!(next_message(&mut buf), Next::Partial);
        buf.extend_from_slice(&framed[3..]);
        buf.extend_from_slice(&framed);
        for _ in 0..2 {
            let Next::Message(m) = next_message(&mut buf) else {
                panic!("a whole message is there")
            };
            assert_eq!(ServerReflectionRequest::decode(m).unwrap(), req);
        }
        assert!(buf.is_empty());
    }

    #[test]
    fn refuses_compressed_and_huge() {
        let mut buf = BytesMut::from(&[1u8, 0, 0, 0, 0][..]);
        assert!(matches!(next_message(&mut buf), Next::Refused(_)));
        let mut buf = BytesMut::from(&[0u8, 0xff, 0, 0, 0][..]);
        assert!(matches!(next_message(&mut buf), Next::Refused(_)));
    }
}
