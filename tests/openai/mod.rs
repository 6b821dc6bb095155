//! `--openai MODEL`: the request body an OpenAI-compatible streaming
//! endpoint expects, checked by a Python server written here that parses
//! and validates every body as such a server would, logs it, and answers a
//! stream whose usage says `completion_tokens = max_tokens`.

use crate::support::python::{blast_json, LoggedPyServer};
use crate::support::run;
use crate::u;
use serde_json::{json, Value};

/// Stdlib only. Each request's JSON body is checked for what an
/// OpenAI-compatible server requires (model; chat `messages` of role and
/// content, or a completions `prompt`; stream true; stream_options
/// include_usage true; integer max_tokens) and logged, one JSON line per
/// request with its path and Authorization, to the file in argv[1]. A bad
/// body gets a 400; a good one `max_tokens` content chunks, a usage chunk
/// and `[DONE]`.
const SERVER: &str = r#"
import http.server, socketserver, json, sys, threading
log, lock = open(sys.argv[1], "a"), threading.Lock()
def check(path, b):
    assert isinstance(b.get("model"), str) and b["model"], "model"
    if path.endswith("/v1/completions"):
        assert isinstance(b.get("prompt"), str), "prompt"
    else:
        m = b.get("messages")
        assert isinstance(m, list) and m, "messages"
        for x in m:
            assert isinstance(x.get("role"), str) and "content" in x, "message"
    assert b.get("stream") is True, "stream"
    assert b.get("stream_options", {}).get("include_usage") is True, "include_usage"
    assert type(b.get("max_tokens")) is int and b["max_tokens"] > 0, "max_tokens"
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        entry = {"path": self.path, "auth": self.headers.get("Authorization"),
                 "type": self.headers.get("Content-Type"), "raw": raw.decode()}
        try:
            body = json.loads(raw)
            check(self.path.split("?")[0], body)
            entry["body"] = body
        except Exception as e:
            entry["error"] = repr(e)
        with lock:
            log.write(json.dumps(entry) + "\n")
            log.flush()
        if "error" in entry:
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        def send(data):
            d = ("data: " + (data if isinstance(data, str) else json.dumps(data)) + "\n\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(d), d))
        n = body["max_tokens"]
        send({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        for i in range(n):
            send({"choices": [{"index": 0, "delta": {"content": "t%d " % i}}]})
        send({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
        send({"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": n, "total_tokens": n + 4}})
        send("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
"#;

/// The server, its log file, and a scratch directory for prompt files.
struct OpenAiServer(LoggedPyServer);

impl OpenAiServer {
    fn start(name: &str) -> OpenAiServer {
        OpenAiServer(LoggedPyServer::start(SERVER, &format!("openai-{name}")))
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.0.server.port)
    }

    /// A file in the scratch directory, written now.
    fn file(&self, name: &str, text: &str) -> String {
        self.0.file(name, text)
    }

    /// Every request logged so far; each must have passed the checks.
    fn log(&self) -> Vec<Value> {
        let all = self.0.log();
        for e in &all {
            assert!(e.get("error").is_none(), "the server refused: {e}");
        }
        all
    }
}

/// Chat: a URL with no path gets /v1/chat/completions; every body is the
/// chat request with the model, the prompt as a user message, streaming
/// with usage, and max_tokens; -H Authorization arrives; the report counts
/// requests x max_tokens output tokens, from the usage chunk.
#[test]
fn chat_body_is_what_an_openai_server_expects() {
    let s = OpenAiServer::start("chat");
    let url = s.url("");
    let j = blast_json(&[
        "-n",
        "4",
        "-c",
        "2",
        "--openai",
        "test-model",
        "--prompt",
        "Say hello, \"world\"",
        "--max-tokens",
        "5",
        "-H",
        "Authorization: Bearer x",
        &url,
    ]);
    assert_eq!(j["url"], format!("{url}/v1/chat/completions"), "{j}");
    assert_eq!(u(&j, "requests"), 4, "{j}");
    assert_eq!(u(&j, "streamed_responses"), 4, "{j}");
    assert_eq!(u(&j, "output_tokens"), 20, "{j}");
    assert_eq!(j["token_count_source"], "usage", "{j}");
    let log = s.log();
    assert_eq!(log.len(), 4, "{log:?}");
    let want = json!({
        "model": "test-model",
        "messages": [{"role": "user", "content": "Say hello, \"world\""}],
        "stream": true,
        "stream_options": {"include_usage": true},
        "max_tokens": 5,
    });
    for e in &log {
        assert_eq!(e["path"], "/v1/chat/completions", "{e}");
        assert_eq!(e["auth"], "Bearer x", "{e}");
        assert_eq!(e["type"], "application/json", "{e}");
        assert_eq!(e["body"], want, "{e}");
    }
}

/// A /v1/completions URL gets `prompt`, not `messages`; the prompt comes
/// from a one-line --prompts file; max_tokens defaults to 128. A dataset
/// line's own chat messages are sent as they are.
#[test]
fn completions_url_prompts_file_and_dataset() {
    let s = OpenAiServer::start("completions");
    let prompts = s.file("prompts.txt", "Once upon a time\n\n");
    let url = s.url("/v1/completions");
    let j = blast_json(&[
        "-n",
        "3",
        "-c",
        "1",
        "--openai",
        "m2",
        "--prompts",
        &prompts,
        &url,
    ]);
    assert_eq!(u(&j, "output_tokens"), 3 * 128, "{j}");
    assert_eq!(j["token_count_source"], "usage", "{j}");
    let log = s.log();
    assert_eq!(log.len(), 3, "{log:?}");
    for e in &log {
        assert_eq!(e["path"], "/v1/completions", "{e}");
        assert_eq!(
            e["body"],
            json!({
                "model": "m2",
                "prompt": "Once upon a time",
                "stream": true,
                "stream_options": {"include_usage": true},
                "max_tokens": 128,
            }),
            "{e}"
        );
    }

    let messages = json!([
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a colour."}
    ]);
    let dataset = s.file("d.jsonl", &format!("{}\n", json!({ "messages": messages })));
    let url = s.url("/v1/chat/completions");
    let j = blast_json(&[
        "-n",
        "2",
        "-c",
        "1",
        "--openai",
        "m3",
        "--dataset",
        &dataset,
        "--max-tokens",
        "2",
        &url,
    ]);
    assert_eq!(u(&j, "output_tokens"), 4, "{j}");
    let log = s.log();
    assert_eq!(log.len(), 5, "{log:?}");
    for e in &log[3..] {
        assert_eq!(e["body"]["messages"], messages, "{e}");
        assert_eq!(e["body"]["model"], "m3", "{e}");
    }
}

/// Several prompts (`--prompt`, `--prompts`, `--dataset` together) are
/// variants of one request: round-robin by default, so with one connection
/// each is sent in turn; `--data-order random --seed` repeats its draw.
#[test]
fn several_prompts_are_sent_in_turn() {
    let s = OpenAiServer::start("several");
    let two = s.file("two.txt", "first\nsecond\n");
    let msgs = s.file(
        "msgs.jsonl",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"third\"}]}\n",
    );
    let url = s.url("/v1/chat/completions");
    let content = |e: &Value| {
        e["body"]["messages"][0]["content"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let j = blast_json(&[
        "-n",
        "6",
        "-c",
        "1",
        "--max-tokens",
        "1",
        "--openai",
        "m",
        "--prompts",
        &two,
        "--dataset",
        &msgs,
        &url,
    ]);
    assert_eq!(j["config"]["method"], "POST", "{j}");
    let sent: Vec<String> = s.log().iter().map(content).collect();
    assert_eq!(
        sent,
        ["first", "second", "third", "first", "second", "third"]
    );
    let random = |seed: &str| {
        let before = s.log().len();
        blast_json(&[
            "-n",
            "30",
            "-c",
            "1",
            "--max-tokens",
            "1",
            "--openai",
            "m",
            "--prompts",
            &two,
            "--data-order",
            "random",
            "--seed",
            seed,
            &url,
        ]);
        s.log()[before..].iter().map(content).collect::<Vec<_>>()
    };
    let (a, b) = (random("5"), random("5"));
    assert_eq!(a, b);
    assert!(
        a.contains(&"first".to_string()) && a.contains(&"second".to_string()),
        "{a:?}"
    );
}

/// Exit 2, before any request: a body flag with --openai, --data with
/// --openai, files missing or malformed (named, with the
/// line), messages for a completions endpoint, --prompt without --openai.
#[test]
fn openai_refusals() {
    let s = OpenAiServer::start("refusals");
    let two = s.file("two.txt", "first\nsecond\n");
    let empty = s.file("empty.txt", "\n");
    let bad = s.file("bad.jsonl", "{\"prompt\": \"ok\"}\n{\"text\": 1}\n");
    let msgs = s.file(
        "msgs.jsonl",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n",
    );
    let chat = s.url("/v1/chat/completions");
    let completions = s.url("/v1/completions");
    for (args, url, needle) in [
        (
            vec!["--openai", "m", "-b", "{}"],
            &chat,
            "-b: not with --openai",
        ),
        (
            vec!["--openai", "m", "-F", "a=b"],
            &chat,
            "-F: not with --openai",
        ),
        (
            vec!["--openai", "m", "--prompts", &two, "--data", &two],
            &chat,
            "--data: not with --openai",
        ),
        (
            vec!["--openai", "m", "--prompts", &empty],
            &chat,
            "empty.txt': no prompts",
        ),
        (
            vec!["--openai", "m", "--dataset", &bad],
            &chat,
            "bad.jsonl' line 2",
        ),
        (
            vec!["--openai", "m", "--dataset", "/nonexistent/d.jsonl"],
            &chat,
            "/nonexistent/d.jsonl",
        ),
        (
            vec!["--openai", "m", "--dataset", &msgs],
            &completions,
            "need a chat endpoint",
        ),
        (
            vec!["--openai", "m", "--max-tokens", "0"],
            &chat,
            "--max-tokens",
        ),
        (vec!["--prompt", "x"], &chat, "--prompt needs --openai"),
    ] {
        let mut all = vec!["-n", "1"];
        all.extend(args.iter().copied());
        all.push(url);
        let r = run(&all);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(needle),
            "{args:?}: {} lacks {needle}",
            r.stderr
        );
    }
    assert!(s.log().is_empty(), "a refused run sent a request");
}
