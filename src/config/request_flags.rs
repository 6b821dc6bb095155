//! The request flags: headers, method, and the body from `-b`,
//! `--body-file` (a path or a URL fetched once) or `-F`. Only parsing and
//! checking lives here; `requests` turns the result into what a run sends,
//! and scenario and targets files reuse the same header, token and form rules.

use super::cli::RunArgs;
use crate::error::{usage, Error};
use crate::proto::h1::request::{self, FormPart, Header};
use crate::proto::tls::TlsOptions;

pub(super) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

pub(super) fn parse_header(h: &str) -> Result<Header, Error> {
    let (name, value) = h
        .split_once(':')
        .ok_or_else(|| usage(format!("-H '{h}': expected \"Name: value\"")))?;
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(usage(format!("-H '{h}': invalid header name '{name}'")));
    }
    let value = value.trim();
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(usage(format!(
            "-H '{name}': the value contains CR, LF or NUL"
        )));
    }
    Ok(Header {
        name: name.to_string(),
        value: value.to_string(),
    })
}

/// The body and its inferred Content-Type, from -b, --body-file or -F.
pub(super) fn load_body(a: &RunArgs, tls: &TlsOptions) -> Result<(Vec<u8>, Option<String>), Error> {
    let sources = [
        a.request.body.is_some(),
        a.request.body_file.is_some(),
        !a.request.form.is_empty(),
    ];
    if sources.iter().filter(|&&s| s).count() > 1 {
        return Err(usage(
            "-b, --body-file (BLAST_PAYLOAD) and -F: give only one body source",
        ));
    }
    if let Some(b) = &a.request.body {
        let bytes = b.as_bytes().to_vec();
        let t = request::content_type_for_inline(&bytes).to_string();
        return Ok((bytes, Some(t)));
    }
    if let Some(src) = &a.request.body_file {
        let data = if src.starts_with("http://") || src.starts_with("https://") {
            super::fetch::get(src, tls).map_err(|e| usage(format!("--body-file '{src}': {e}")))?
        } else {
            std::fs::read(src).map_err(|e| usage(format!("--body-file '{src}': {e}")))?
        };
        return Ok((data, Some(request::content_type_for_path(src).to_string())));
    }
    if !a.request.form.is_empty() {
        let parts = a
            .request
            .form
            .iter()
            .map(|f| parse_form(f, "-F"))
            .collect::<Result<Vec<_>, _>>()?;
        let (body, ct) = request::encode_multipart(&parts);
        return Ok((body, Some(ct)));
    }
    Ok((Vec::new(), None))
}

pub(super) fn parse_form(f: &str, flag: &str) -> Result<FormPart, Error> {
    let (name, value) = f
        .split_once('=')
        .ok_or_else(|| usage(format!("{flag} '{f}': expected name=value or name=@path")))?;
    if name.is_empty() {
        return Err(usage(format!("{flag} '{f}': empty field name")));
    }
    match value.strip_prefix('@') {
        Some(path) => {
            let data =
                std::fs::read(path).map_err(|e| usage(format!("{flag} '{f}': {path}: {e}")))?;
            let filename = std::path::Path::new(path)
                .file_name()
                .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned());
            Ok(FormPart::File {
                name: name.to_string(),
                filename,
                content_type: request::content_type_for_path(path).to_string(),
                data,
            })
        }
        None => Ok(FormPart::Text {
            name: name.to_string(),
            value: value.to_string(),
        }),
    }
}
