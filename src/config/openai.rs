//! `--openai MODEL`: the request an OpenAI-compatible streaming endpoint
//! expects, built once like any other body. The URL's path picks the API:
//! one ending in `/v1/completions` gets `prompt`, anything else chat
//! `messages`; a URL with no path gets `/v1/chat/completions`.
//!
//! Each prompt (`--prompt`, the lines of `--prompts`, the lines of
//! `--dataset`) is one encoded body; several are variants of one named
//! request, chosen like data rows (`--data-order`).

use super::cli::RunArgs;
use super::url::Url;
use crate::error::{usage, Error};
use serde::Serialize;
use serde_json::Value;

/// The prompt sent when none is given.
pub const DEFAULT_PROMPT: &str = "Write a haiku about load testing.";

/// The endpoint `--openai` appends to a URL with no path.
const CHAT_PATH: &str = "/v1/chat/completions";

/// One prompt: plain text, or a dataset line's own chat `messages`.
#[derive(Clone, Debug, PartialEq)]
enum Prompt {
    Text(String),
    Messages(Vec<Value>),
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct Body<'a, M: Serialize> {
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<M>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<&'a str>,
    stream: bool,
    stream_options: StreamOptions,
    max_tokens: u32,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// One JSON body per prompt, and the URL as the report shows it.
pub(super) type Bodies = (Vec<Vec<u8>>, String);

/// The JSON bodies for `--openai`, one per prompt, with `url.target` set to
/// the endpoint, and `raw_url` as the report shows it (with the path
/// appended, if it was); None without `--openai` (and then its companion
/// flags are refused).
pub(super) fn bodies(a: &RunArgs, raw_url: &str, url: &mut Url) -> Result<Option<Bodies>, Error> {
    let r = &a.request;
    let Some(model) = &r.openai else {
        for (flag, given) in [
            ("--prompt", r.prompt.is_some()),
            ("--prompts", r.prompts.is_some()),
            ("--dataset", r.dataset.is_some()),
        ] {
            if given {
                return Err(usage(format!("{flag} needs --openai MODEL")));
            }
        }
        return Ok(None);
    };
    for (flag, given) in [
        ("-b", r.body.is_some()),
        ("--body-file (BLAST_PAYLOAD)", r.body_file.is_some()),
        ("-F", !r.form.is_empty()),
    ] {
        if given {
            return Err(usage(format!(
                "{flag}: not with --openai, which builds the body itself"
            )));
        }
    }
    if model.is_empty() {
        return Err(usage("--openai: give the model name"));
    }
    let prompts = prompts(a)?;
    let mut shown = raw_url.to_string();
    if url.target == "/" {
        url.target = CHAT_PATH.to_string();
        shown = format!("{}{CHAT_PATH}", raw_url.trim_end_matches('/'));
    }
    let path = url.target.split('?').next().unwrap_or_default();
    let completions = path.ends_with("/v1/completions");
    let mut out = Vec::with_capacity(prompts.len());
    for prompt in &prompts {
        out.push(body(prompt, model, completions, path, r.max_tokens)?);
    }
    Ok(Some((out, shown)))
}

/// One prompt's JSON body.
fn body(
    prompt: &Prompt,
    model: &str,
    completions: bool,
    path: &str,
    max_tokens: u32,
) -> Result<Vec<u8>, Error> {
    let stream_options = || StreamOptions {
        include_usage: true,
    };
    let out = match (prompt, completions) {
        (Prompt::Text(p), true) => serde_json::to_vec(&Body::<()> {
            model,
            messages: None,
            prompt: Some(p),
            stream: true,
            stream_options: stream_options(),
            max_tokens,
        }),
        (Prompt::Messages(_), true) => {
            return Err(usage(format!(
                "--dataset: chat messages need a chat endpoint, not {path} (which takes a prompt)"
            )))
        }
        (Prompt::Text(p), false) => serde_json::to_vec(&Body {
            model,
            messages: Some([Message {
                role: "user",
                content: p,
            }]),
            prompt: None,
            stream: true,
            stream_options: stream_options(),
            max_tokens,
        }),
        (Prompt::Messages(m), false) => serde_json::to_vec(&Body {
            model,
            messages: Some(m),
            prompt: None,
            stream: true,
            stream_options: stream_options(),
            max_tokens,
        }),
    };
    out.map_err(|e| usage(format!("--openai: {e}")))
}

/// The run's prompts: `--prompt`, then the prompts of `--prompts` and
/// `--dataset` (read and checked whole), or the default.
fn prompts(a: &RunArgs) -> Result<Vec<Prompt>, Error> {
    let r = &a.request;
    let mut all = Vec::new();
    if let Some(p) = &r.prompt {
        all.push(Prompt::Text(p.clone()));
    }
    if let Some(f) = &r.prompts {
        let text = read(f, "--prompts")?;
        let before = all.len();
        all.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| Prompt::Text(l.to_string())),
        );
        if all.len() == before {
            return Err(usage(format!("--prompts '{f}': no prompts in the file")));
        }
    }
    if let Some(f) = &r.dataset {
        let text = read(f, "--dataset")?;
        let before = all.len();
        for (i, line) in text.lines().enumerate() {
            if !line.trim().is_empty() {
                let p = dataset_line(line)
                    .map_err(|e| usage(format!("--dataset '{f}' line {}: {e}", i + 1)))?;
                all.push(p);
            }
        }
        if all.len() == before {
            return Err(usage(format!("--dataset '{f}': no prompts in the file")));
        }
    }
    if all.is_empty() {
        all.push(Prompt::Text(DEFAULT_PROMPT.into()));
    }
    Ok(all)
}

fn read(path: &str, flag: &str) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|e| usage(format!("{flag} '{path}': {e}")))?;
    String::from_utf8(bytes).map_err(|_| usage(format!("{flag} '{path}': not UTF-8 text")))
}

/// One JSONL line: `{"prompt": "..."}` or `{"messages": [{"role", "content"}, ...]}`.
fn dataset_line(line: &str) -> Result<Prompt, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON ({e})"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    if let Some(p) = obj.get("prompt") {
        return match p.as_str() {
            Some(s) => Ok(Prompt::Text(s.to_string())),
            None => Err("\"prompt\" is not a string".into()),
        };
    }
    let Some(m) = obj.get("messages") else {
        return Err("no \"prompt\" or \"messages\" field".into());
    };
    let list = m.as_array().ok_or("\"messages\" is not a list")?;
    if list.is_empty() {
        return Err("\"messages\" is empty".into());
    }
    for (i, msg) in list.iter().enumerate() {
        let role = msg.get("role").and_then(Value::as_str);
        let content = msg.get("content");
        if role.is_none() || content.is_none_or(Value::is_null) {
            return Err(format!(
                "messages[{i}] needs a \"role\" string and a \"content\""
            ));
        }
    }
    Ok(Prompt::Messages(list.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_lines() {
        assert_eq!(
            dataset_line(r#"{"prompt": "hi"}"#),
            Ok(Prompt::Text("hi".into()))
        );
        let m = dataset_line(r#"{"messages": [{"role": "user", "content": "x"}]}"#).unwrap();
        assert!(matches!(m, Prompt::Messages(v) if v.len() == 1));
        for (line, needle) in [
            ("nope", "not JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"prompt": 3}"#, "not a string"),
            (r#"{"text": "x"}"#, "no \"prompt\""),
            (r#"{"messages": []}"#, "empty"),
            (r#"{"messages": [{"role": "user"}]}"#, "messages[0]"),
        ] {
            let e = dataset_line(line).unwrap_err();
            assert!(e.contains(needle), "{line}: {e}");
        }
    }
}

#[cfg(test)]
#[path = "openai_tests.rs"]
mod body_tests;
