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
mod body_tests {
    use crate::config::{cli::Cli, Config};
    use clap::Parser;

    fn config(v: &[&str]) -> Result<Config, crate::error::Error> {
        let mut all = vec!["blast"];
        all.extend_from_slice(v);
        Config::from_args(&Cli::try_parse_from(all).unwrap().run, || Ok(()))
    }

    fn request(v: &[&str]) -> String {
        String::from_utf8(config(v).unwrap().load.mix.first().bytes.to_vec()).unwrap()
    }

    #[test]
    fn chat_and_completions_bodies() {
        let c = config(&["--openai", "m", "http://127.0.0.1:1/"]).unwrap();
        assert_eq!(c.url, "http://127.0.0.1:1/v1/chat/completions");
        assert_eq!(c.method, "POST");
        let r = request(&["--openai", "m", "http://127.0.0.1:1"]);
        assert!(
            r.starts_with("POST /v1/chat/completions HTTP/1.1\r\n"),
            "{r}"
        );
        assert!(r.contains("Content-Type: application/json\r\n"), "{r}");
        let body = r.split("\r\n\r\n").nth(1).unwrap();
        assert_eq!(
            body,
            format!(
                r#"{{"model":"m","messages":[{{"role":"user","content":"{}"}}],"stream":true,"stream_options":{{"include_usage":true}},"max_tokens":128}}"#,
                super::DEFAULT_PROMPT
            )
        );
        let r = request(&[
            "--openai",
            "m",
            "--prompt",
            "hi",
            "--max-tokens",
            "7",
            "http://127.0.0.1:1/v1/completions",
        ]);
        assert!(r.starts_with("POST /v1/completions HTTP/1.1\r\n"), "{r}");
        assert!(r.ends_with(
            r#"{"model":"m","prompt":"hi","stream":true,"stream_options":{"include_usage":true},"max_tokens":7}"#
        ), "{r}");
    }

    #[test]
    fn refusals() {
        for (flags, needle) in [
            (&["--prompt", "x"][..], "--prompt needs --openai"),
            (&["--openai", "m", "-b", "{}"][..], "-b: not with --openai"),
            (&["--openai", "m", "-F", "a=b"][..], "-F: not with --openai"),
            (
                &["--openai", "m", "--prompts", "/nonexistent/p.txt"][..],
                "/nonexistent/p.txt",
            ),
            (
                &[
                    "--openai",
                    "m",
                    "--prompt",
                    "a",
                    "--dataset",
                    "/nonexistent/d.jsonl",
                ][..],
                "/nonexistent/d.jsonl",
            ),
        ] {
            let mut v = flags.to_vec();
            v.push("http://127.0.0.1:1/");
            let e = config(&v).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{e}");
            assert!(e.to_string().contains(needle), "{e} lacks {needle}");
        }
    }
}
