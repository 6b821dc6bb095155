//! Encodes the request once, before the run. Every connection of every worker
//! writes these same bytes (wrk's shared request buffer): nothing about the
//! request is formatted on the hot path.

/// A header as the user gave it or as blast adds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// What goes on the wire, before encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestSpec {
    pub method: String,
    /// Origin-form target: path and query, e.g. `/predict?x=1`.
    pub target: String,
    /// `host` or `host:port` when the port is not the scheme's default.
    pub host: String,
    /// User headers in the order given; they replace defaults of the same name.
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
    /// Content-Type to send with the body when the user set none.
    pub body_type: Option<String>,
    pub close: bool,
}

/// Encode the request into one buffer: request line, headers, blank line, body.
pub fn encode(spec: &RequestSpec) -> Vec<u8> {
    let user_has = |name: &str| {
        spec.headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case(name))
    };
    let mut out = Vec::with_capacity(256 + spec.body.len());
    let mut line = |name: &str, value: &str| {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    };
    let mut defaults: Vec<(&str, String)> = vec![
        ("Host", spec.host.clone()),
        (
            "User-Agent",
            concat!("blast/", env!("CARGO_PKG_VERSION")).to_string(),
        ),
        ("Accept", "*/*".to_string()),
    ];
    if !spec.body.is_empty() || method_expects_body(&spec.method) {
        defaults.push(("Content-Length", spec.body.len().to_string()));
    }
    if let (false, Some(t)) = (spec.body.is_empty(), &spec.body_type) {
        defaults.push(("Content-Type", t.clone()));
    }
    if spec.close {
        defaults.push(("Connection", "close".to_string()));
    }
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(spec.method.as_bytes());
    head.push(b' ');
    head.extend_from_slice(spec.target.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in &defaults {
        if !user_has(name) {
            line(name, value);
        }
    }
    for h in &spec.headers {
        line(&h.name, &h.value);
    }
    head.extend_from_slice(&out);
    head.extend_from_slice(b"\r\n");
    head.extend_from_slice(&spec.body);
    head
}

fn method_expects_body(m: &str) -> bool {
    matches!(m, "POST" | "PUT" | "PATCH")
}

/// Content-Type for a body file, by its extension.
pub fn content_type_for_path(path: &str) -> &'static str {
    let lower = path.to_ascii_lowercase();
    let ext = lower
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .rsplit('.')
        .next()
        .unwrap_or("");
    match ext {
        "json" => "application/json",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

/// Content-Type for an inline `-b` body: JSON when it parses as JSON.
pub fn content_type_for_inline(body: &[u8]) -> &'static str {
    if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
        "application/json"
    } else {
        "application/octet-stream"
    }
}

/// One `-F` field, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormPart {
    Text {
        name: String,
        value: String,
    },
    File {
        name: String,
        filename: String,
        content_type: String,
        data: Vec<u8>,
    },
}

/// A multipart/form-data body and its Content-Type (with boundary).
pub fn encode_multipart(parts: &[FormPart]) -> (Vec<u8>, String) {
    let boundary = pick_boundary(parts);
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"\r\n");
        match p {
            FormPart::Text { name, value } => {
                out.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{}\"\r\n\r\n",
                        quote(name)
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(value.as_bytes());
            }
            FormPart::File {
                name,
                filename,
                content_type,
                data,
            } => {
                out.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
                        quote(name),
                        quote(filename),
                        content_type
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(data);
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"--\r\n");
    (out, format!("multipart/form-data; boundary={boundary}"))
}

/// A field or file name inside its quoted `name="..."`, encoded as the
/// WHATWG HTML standard has browsers do it (`"` as `%22`, CR as `%0D`, LF
/// as `%0A`, all else as written): servers read names that way, and a
/// backslash escape lets CR/LF through into the part's headers.
fn quote(s: &str) -> String {
    s.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A boundary that occurs in no part (checked, not hoped for).
fn pick_boundary(parts: &[FormPart]) -> String {
    let occurs = |b: &str| {
        parts.iter().any(|p| {
            let data: &[u8] = match p {
                FormPart::Text { value, .. } => value.as_bytes(),
                FormPart::File { data, .. } => data,
            };
            data.windows(b.len()).any(|w| w == b.as_bytes())
        })
    };
    let mut n: u64 = 0x5eed_b1a5_7000;
    loop {
        let b = format!("----blast-boundary-{n:x}");
        if !occurs(&b) {
            return b;
        }
        n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RequestSpec {
        RequestSpec {
            method: "GET".into(),
            target: "/a?b=1".into(),
            host: "127.0.0.1:8080".into(),
            headers: vec![],
            body: vec![],
            body_type: None,
            close: false,
        }
    }

    #[test]
    fn get_has_default_headers_only() {
        let got = String::from_utf8(encode(&spec())).unwrap();
        let want = format!(
            "GET /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: blast/{}\r\nAccept: */*\r\n\r\n",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(got, want);
    }

    #[test]
    fn user_headers_replace_defaults() {
        let mut s = spec();
        s.headers = vec![
            Header {
                name: "user-agent".into(),
                value: "me".into(),
            },
            Header {
                name: "X-A".into(),
                value: "1".into(),
            },
        ];
        let got = String::from_utf8(encode(&s)).unwrap();
        assert!(!got.contains("blast/"));
        assert!(got.contains("user-agent: me\r\n"));
        assert!(got.contains("X-A: 1\r\n"));
    }

    #[test]
    fn body_gets_length_and_type() {
        let mut s = spec();
        s.method = "POST".into();
        s.body = b"{\"a\":1}".to_vec();
        s.body_type = Some(content_type_for_inline(&s.body).into());
        s.close = true;
        let got = String::from_utf8(encode(&s)).unwrap();
        assert!(got.contains("Content-Length: 7\r\n"));
        assert!(got.contains("Content-Type: application/json\r\n"));
        assert!(got.contains("Connection: close\r\n"));
        assert!(got.ends_with("\r\n\r\n{\"a\":1}"));
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type_for_path("x/a.JSON"), "application/json");
        assert_eq!(content_type_for_path("a.jpeg"), "image/jpeg");
        assert_eq!(content_type_for_path("http://h/a.png?x=1"), "image/png");
        assert_eq!(content_type_for_path("a.bin"), "application/octet-stream");
        assert_eq!(content_type_for_path("noext"), "application/octet-stream");
        assert_eq!(content_type_for_inline(b"[1,2]"), "application/json");
        assert_eq!(content_type_for_inline(b"a=b"), "application/octet-stream");
    }

    #[test]
    fn multipart_layout() {
        let (body, ct) = encode_multipart(&[
            FormPart::Text {
                name: "a".into(),
                value: "1".into(),
            },
            FormPart::File {
                name: "f".into(),
                filename: "x.png".into(),
                content_type: "image/png".into(),
                data: vec![1, 2, 3],
            },
        ]);
        let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
        )));
        assert!(text
            .contains("filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n\u{1}\u{2}\u{3}\r\n"));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    }

    /// Issue 18: names are encoded as browsers encode them (WHATWG HTML),
    /// so neither can end the quoted string or add a header to the part.
    #[test]
    fn multipart_names_are_percent_encoded_as_browsers_do() {
        let (body, _) = encode_multipart(&[
            FormPart::Text {
                name: "a\"b\r\nX-Evil: 1\\".into(),
                value: "v".into(),
            },
            FormPart::File {
                name: "f\n".into(),
                filename: "q\"x\ry%22.txt".into(),
                content_type: "text/plain".into(),
                data: b"d".to_vec(),
            },
        ]);
        let text = String::from_utf8(body).unwrap();
        assert!(
            text.contains(
                "\r\nContent-Disposition: form-data; name=\"a%22b%0D%0AX-Evil: 1\\\"\r\n\r\nv\r\n"
            ),
            "{text:?}"
        );
        assert!(
            text.contains(
                "name=\"f%0A\"; filename=\"q%22x%0Dy%22.txt\"\r\nContent-Type: text/plain\r\n"
            ),
            "{text:?}"
        );
        assert!(!text.contains("\r\nX-Evil"));
    }
}
