//! Server reflection's answers, from the descriptors compiled at start.
//! `file_containing_symbol` sends the one file that defines the symbol, not
//! its imports: a client asks for those by name (`file_by_filename`), as
//! the gRPC reflection protocol allows, so the target exercises that path
//! of a client (grpc-go sends the imports along; both are correct).

use bytes::Bytes;
use prost::Message;
use prost_reflect::{DescriptorPool, FileDescriptor};

use crate::reflection::{
    frame, ErrorResponse, ExtensionNumberResponse, FileDescriptorResponse, ListServiceResponse,
    Request, Response, ServerReflectionRequest, ServerReflectionResponse, ServiceResponse,
};

/// gRPC status codes of reflection's own error answers.
const INVALID_ARGUMENT: i32 = 3;
const NOT_FOUND: i32 = 5;

/// The framed answer to one framed question.
pub(super) fn answer(pool: &DescriptorPool, msg: Bytes) -> Result<Bytes, &'static str> {
    let req = ServerReflectionRequest::decode(msg).map_err(|_| "undecodable reflection request")?;
    let resp = match &req.message_request {
        Some(Request::FileByFilename(name)) => match pool.get_file_by_name(name) {
            Some(f) => files(&f),
            None => error(NOT_FOUND, format!("file not found: {name}")),
        },
        Some(Request::FileContainingSymbol(symbol)) => match containing(pool, symbol) {
            Some(f) => files(&f),
            None => error(NOT_FOUND, format!("symbol not found: {symbol}")),
        },
        Some(Request::ListServices(_)) => Response::ListServicesResponse(ListServiceResponse {
            service: pool
                .services()
                .map(|s| ServiceResponse {
                    name: s.full_name().to_string(),
                })
                .collect(),
        }),
        // The echo service declares no extensions.
        Some(Request::AllExtensionNumbersOfType(t)) if pool.get_message_by_name(t).is_some() => {
            Response::AllExtensionNumbersResponse(ExtensionNumberResponse {
                base_type_name: t.clone(),
                extension_number: Vec::new(),
            })
        }
        Some(Request::AllExtensionNumbersOfType(t)) => {
            error(NOT_FOUND, format!("type not found: {t}"))
        }
        Some(Request::FileContainingExtension(e)) => error(
            NOT_FOUND,
            format!(
                "extension not found: {} {}",
                e.containing_type, e.extension_number
            ),
        ),
        None => error(INVALID_ARGUMENT, "empty request".to_string()),
    };
    Ok(frame(&ServerReflectionResponse {
        valid_host: req.host.clone(),
        original_request: Some(req),
        message_response: Some(resp),
    }))
}

/// The file that defines a service, method, message, enum or extension.
fn containing(pool: &DescriptorPool, symbol: &str) -> Option<FileDescriptor> {
    if let Some(s) = pool.get_service_by_name(symbol) {
        return Some(s.parent_file());
    }
    if let Some(m) = pool.get_message_by_name(symbol) {
        return Some(m.parent_file());
    }
    if let Some(e) = pool.get_enum_by_name(symbol) {
        return Some(e.parent_file());
    }
    if let Some(x) = pool.get_extension_by_name(symbol) {
        return Some(x.parent_file());
    }
    let (service, method) = symbol.rsplit_once('.')?;
    let s = pool.get_service_by_name(service)?;
    let found = s.methods().any(|m| m.name() == method);
    found.then(|| s.parent_file())
}

fn files(f: &FileDescriptor) -> Response {
    Response::FileDescriptorResponse(FileDescriptorResponse {
        file_descriptor_proto: vec![f.file_descriptor_proto().encode_to_vec()],
    })
}

fn error(code: i32, message: String) -> Response {
    Response::ErrorResponse(ErrorResponse {
        error_code: code,
        error_message: message,
    })
}
