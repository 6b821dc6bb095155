//! The `--openai` request bodies, through `Config::from_args`. In a file of
//! their own since they name `Config`, which `config/mod.rs` builds with
//! `openai`.

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
