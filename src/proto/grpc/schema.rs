//! What gRPC needs of descriptors, all before the run or off the hot
//! path: .proto files compiled in-process (protox, so no protoc), a method
//! found by `pkg.Service/Method`, a request's JSON (protobuf's canonical
//! mapping) encoded and framed, a response's messages decoded to JSON for
//! checks. Errors are one line naming the file and line, the method or the
//! field, for the caller to prefix with its flag.
//!
//! Whatever gives the pool (these files, or the server's reflection
//! service) the rest starts from `find`.

use super::{frame, messages, GrpcCall};
use miette::Diagnostic;
use prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, MessageDescriptor, MethodDescriptor, SerializeOptions,
};
use std::path::{Path, PathBuf};

/// Compile `files` with `imports` as the include paths (none given: each
/// file's own folder).
pub fn compile(files: &[String], imports: &[String]) -> Result<DescriptorPool, String> {
    let mut include: Vec<PathBuf> = imports.iter().map(PathBuf::from).collect();
    if include.is_empty() {
        for f in files {
            let dir = Path::new(f).parent().unwrap_or(Path::new(""));
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if !include.iter().any(|d| d == dir) {
                include.push(dir.to_path_buf());
            }
        }
    }
    let mut c = protox::Compiler::new(&include).map_err(|e| e.to_string())?;
    c.include_imports(true);
    for f in files {
        if !Path::new(f).is_file() {
            return Err(format!("--proto {f}: no such file"));
        }
        c.open_file(f).map_err(|e| located(&e, f, &include))?;
    }
    Ok(c.descriptor_pool())
}

/// `--proto FILE:LINE:COLUMN: what` for a compile error: the file the
/// error is in (an import, perhaps) and where.
fn located(e: &protox::Error, given: &str, include: &[PathBuf]) -> String {
    let name = e.file().unwrap_or(given);
    let path = include
        .iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(given));
    let offset = e.labels().and_then(|mut l| l.next()).map(|l| l.offset());
    let at = match (offset, std::fs::read_to_string(&path)) {
        (Some(o), Ok(text)) => {
            let before = &text[..o.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("{}:{line}:{col}", path.display())
        }
        _ => path.display().to_string(),
    };
    format!("--proto {at}: {e}")
}

/// The method `written` (`pkg.Service/Method`) in `pool`; the error names
/// what the pool has instead.
pub fn find(pool: &DescriptorPool, written: &str) -> Result<MethodDescriptor, String> {
    let (svc, method) = written
        .trim_start_matches('/')
        .split_once('/')
        .ok_or_else(|| format!("'{written}': give the method as PACKAGE.Service/Method"))?;
    let services: Vec<String> = pool.services().map(|s| s.full_name().to_string()).collect();
    let Some(s) = pool.get_service_by_name(svc) else {
        return Err(format!(
            "'{written}': no service {svc} in the descriptors; services found: {}",
            list(&services)
        ));
    };
    let found = s.methods().find(|m| m.name() == method);
    found.ok_or_else(|| {
        let names: Vec<String> = s.methods().map(|m| m.name().to_string()).collect();
        format!(
            "'{written}': service {svc} has no method {method}; its methods: {}",
            list(&names)
        )
    })
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// What the engine reads of `m`, or why blast cannot call it.
pub fn call_of(m: &MethodDescriptor, written: &str) -> Result<GrpcCall, String> {
    if m.is_client_streaming() {
        return Err(format!(
            "'{written}': a client-streaming method; blast sends unary and server-streaming calls"
        ));
    }
    Ok(GrpcCall {
        method: written.to_string(),
        output: m.output(),
        server_streaming: m.is_server_streaming(),
    })
}

/// `json` (protobuf's JSON mapping of `input`) as one framed message.
/// Unknown fields are refused: a misspelt field would silently send an
/// empty value.
pub fn encode_json(input: &MessageDescriptor, json: &[u8]) -> Result<Vec<u8>, String> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let msg = DynamicMessage::deserialize(input.clone(), &mut de)
        .and_then(|m| de.end().map(|()| m))
        .map_err(|e| format!("the body is not a {} in JSON: {e}", input.full_name()))?;
    Ok(frame(&msg.encode_to_vec()))
}

/// A response's framed messages as JSON into `out`: the message of a
/// unary call, an array of a stream's messages; every field, defaults
/// included.
pub fn to_json(
    output: &MessageDescriptor,
    framed: &[u8],
    streaming: bool,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    out.clear();
    let parts = messages(framed).ok_or("a message cut short")?;
    let mut decoded = Vec::with_capacity(parts.len());
    for (compressed, payload) in parts {
        if compressed {
            return Err("a compressed message (blast asks for none)".into());
        }
        let m = DynamicMessage::decode(output.clone(), payload)
            .map_err(|e| format!("not a {}: {e}", output.full_name()))?;
        decoded.push(m);
    }
    if !streaming && decoded.len() != 1 {
        return Err(format!("{} messages to a unary call", decoded.len()));
    }
    // Every field, defaults too: a check can test `json /n == 0`.
    let opts = SerializeOptions::new().skip_default_fields(false);
    if streaming {
        out.push(b'[');
    }
    for (i, m) in decoded.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut ser = serde_json::Serializer::new(&mut *out);
        m.serialize_with_options(&mut ser, &opts)
            .map_err(|e| e.to_string())?;
    }
    if streaming {
        out.push(b']');
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ECHO: &str = r#"syntax = "proto3";
package test;
message SayRequest { string text = 1; int32 n = 2; }
message SayReply { string text = 1; repeated string tags = 2; }
service Echo {
  rpc Say (SayRequest) returns (SayReply);
  rpc Tokens (SayRequest) returns (stream SayReply);
}
"#;

    fn pool(text: &str) -> (tempfile::TempDir, Result<DescriptorPool, String>) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("echo.proto");
        std::fs::write(&f, text).unwrap();
        let p = compile(&[f.display().to_string()], &[]);
        (dir, p)
    }

    #[test]
    fn a_method_is_found_and_its_json_encoded() {
        let (_d, p) = pool(ECHO);
        let p = p.unwrap();
        let m = find(&p, "test.Echo/Say").unwrap();
        let call = call_of(&m, "test.Echo/Say").unwrap();
        assert!(!call.server_streaming);
        assert!(
            call_of(&find(&p, "test.Echo/Tokens").unwrap(), "x")
                .unwrap()
                .server_streaming
        );
        let framed = encode_json(&m.input(), br#"{"text": "hi", "n": 3}"#).unwrap();
        // field 1 (string "hi"), field 2 (varint 3), behind the prefix.
        assert_eq!(framed, [0, 0, 0, 0, 6, 0x0a, 2, b'h', b'i', 0x10, 3]);
        let e = encode_json(&m.input(), br#"{"txt": "hi"}"#).unwrap_err();
        assert!(e.contains("txt") && e.contains("test.SayRequest"), "{e}");
        let mut out = Vec::new();
        let reply = encode_json(&m.output(), br#"{"text": "hi"}"#).unwrap();
        to_json(&m.output(), &reply, false, &mut out).unwrap();
        assert_eq!(out, br#"{"text":"hi","tags":[]}"#);
        let two = [reply.clone(), reply].concat();
        to_json(&m.output(), &two, true, &mut out).unwrap();
        assert_eq!(out, br#"[{"text":"hi","tags":[]},{"text":"hi","tags":[]}]"#);
        assert!(to_json(&m.output(), &two, false, &mut out).is_err());
    }

    #[test]
    fn errors_name_the_method_the_services_and_the_line() {
        let (_d, p) = pool(ECHO);
        let p = p.unwrap();
        let e = find(&p, "test.Echo/Shout").unwrap_err();
        assert!(
            e.contains("no method Shout") && e.contains("Say, Tokens"),
            "{e}"
        );
        let e = find(&p, "test.Nope/Say").unwrap_err();
        assert!(e.contains("services found: test.Echo"), "{e}");
        assert!(find(&p, "Say").is_err());
        let (_d, bad) = pool("syntax = \"proto3\";\nmessage A {\n  string x = 1\n}\n");
        let e = bad.unwrap_err();
        assert!(
            e.contains("echo.proto:4:1") || e.contains("echo.proto:3:"),
            "{e}"
        );
    }
}
