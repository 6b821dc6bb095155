//! Streamed responses (Server-Sent Events, as OpenAI-compatible LLM
//! endpoints answer): time to first token, inter-token latency, time per
//! output token and output tokens, against a Python server written here
//! (what users point blast at is rarely written in Rust) whose schedule is
//! the truth.

use crate::support::python::PyServer;
use crate::support::{engines, run_line, Scratch};
use crate::u;
use serde_json::Value;

/// A stdlib-only OpenAI-compatible streaming server: every request gets a
/// role chunk at once, then `tokens` content chunks (the first after
/// `first` seconds, then one every `gap`), a finish chunk, a usage chunk
/// (unless `usage` is off) and `[DONE]`, chunked. With `cut` > 0 it closes
/// the connection in the middle of content chunk number `cut`.
const SERVER: &str = r#"
import http.server, socketserver, json, sys, time
import threading
tokens, first, gap, usage, cut, slow_every = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "on", int(sys.argv[5]), int(sys.argv[6])
count, lock, log = [0], threading.Lock(), open(sys.argv[7], "a") if len(sys.argv) > 7 else None
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.do_GET()
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        def send(data, partial=False):
            d = ("data: " + (data if isinstance(data, str) else json.dumps(data)) + ("" if partial else "\n\n")).encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(d), d))
            self.wfile.flush()
        with lock:
            count[0] += 1
            n = count[0]
        slow = slow_every > 0 and n % slow_every == 0
        if log:
            with lock:
                log.write("%d %s\n" % (n, "slow" if slow else "fast"))
                log.flush()
        send({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        time.sleep(first + (0.3 if slow else 0))
        for i in range(tokens):
            if i:
                time.sleep(gap)
            chunk = {"choices": [{"index": 0, "delta": {"content": "tok%d " % i}}]}
            if cut and i + 1 == cut:
                send(chunk, partial=True)
                self.close_connection = True
                return
            send(chunk)
        send({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if usage:
            send({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": tokens, "total_tokens": tokens + 3}})
        send("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
"#;

struct SseServer(PyServer);

impl SseServer {
    fn start(tokens: u32, first_ms: u32, gap_ms: u32, usage: bool, cut: u32) -> SseServer {
        Self::start_with(tokens, first_ms, gap_ms, usage, cut, 0, None)
    }

    /// `slow_every` > 0: every such request's first token comes 300 ms
    /// later; each request is logged ("N fast|slow") to `log`.
    fn start_with(
        tokens: u32,
        first_ms: u32,
        gap_ms: u32,
        usage: bool,
        cut: u32,
        slow_every: u32,
        log: Option<&std::path::Path>,
    ) -> SseServer {
        let mut args = vec![
            tokens.to_string(),
            (f64::from(first_ms) / 1000.0).to_string(),
            (f64::from(gap_ms) / 1000.0).to_string(),
            if usage { "on" } else { "off" }.to_string(),
            cut.to_string(),
            slow_every.to_string(),
        ];
        args.extend(log.map(|p| p.display().to_string()));
        SseServer(PyServer::start(SERVER, args))
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/chat/completions", self.0.port)
    }
}

fn blast(flags: &str, url: &str) -> Value {
    let r = run_line(&format!("--json {flags}"), url);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.json()
}

fn p50_ms(j: &Value, key: &str) -> f64 {
    j[key]["p50"]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing: {j}"))
        / 1000.0
}

/// Tokens counted both ways, and the timing the server's schedule gives:
/// first token after 150 ms, one every 20 ms.
#[test]
fn tokens_and_timing_from_a_python_sse_server() {
    for usage in [true, false] {
        let s = SseServer::start(10, 150, 20, usage, 0);
        for engine in engines() {
            let j = blast(&format!("-n 6 -c 2 -t 1 --engine {engine}"), &s.url());
            assert_eq!(u(&j, "requests"), 6, "{j}");
            assert_eq!(u(&j, "streamed_responses"), 6, "{j}");
            assert_eq!(u(&j, "output_tokens"), 60, "{j}");
            let source = if usage { "usage" } else { "events" };
            assert_eq!(j["token_count_source"], source, "{j}");
            // Python's sleeps on a shared machine: a few ms late, never early.
            let (ttft, itl, tpot) = (
                p50_ms(&j, "ttft_us"),
                p50_ms(&j, "itl_us"),
                p50_ms(&j, "tpot_us"),
            );
            assert!(
                (150.0..=165.0).contains(&ttft),
                "{engine}: ttft {ttft}: {j}"
            );
            assert!((19.5..=23.0).contains(&itl), "{engine}: itl {itl}: {j}");
            assert!((19.5..=23.0).contains(&tpot), "{engine}: tpot {tpot}: {j}");
            let tps = j["output_tokens_per_s"].as_f64().unwrap();
            assert!(tps > 0.0, "{j}");
            eprintln!("{engine} usage={usage}: TTFT {ttft} ms, ITL {itl} ms, TPOT {tpot} ms");
        }
    }
}

/// A stream cut in the middle of an event is a read error with its cause,
/// and none of its tokens or timings are recorded.
#[test]
fn a_stream_cut_mid_event_records_no_metrics() {
    let s = SseServer::start(10, 10, 5, true, 4);
    for engine in engines() {
        let j = blast(&format!("-n 3 -c 1 -t 1 --engine {engine}"), &s.url());
        assert_eq!(u(&j, "requests"), 0, "{j}");
        assert_eq!(u(&j, "errors.read"), 3, "{j}");
        assert_eq!(j["error_details"][0]["cause"], "read: EOF mid-body", "{j}");
        assert_eq!(j["streamed_responses"], Value::Null, "{j}");
        assert_eq!(j["ttft_us"], Value::Null, "{j}");
    }
}

/// Plain responses leave the streaming keys null and print no streaming
/// lines.
#[test]
fn plain_responses_have_no_streaming_keys() {
    let j = blast("-n 5 -c 1 -t 1", &crate::ok_server().url());
    for k in [
        "ttft_us",
        "itl_us",
        "tpot_us",
        "output_tokens",
        "token_count_source",
    ] {
        assert_eq!(j[k], Value::Null, "{k}: {j}");
    }
    let s = SseServer::start(3, 0, 0, true, 0);
    let r = run_line("-n 2 -c 1 -t 1", &s.url());
    assert!(
        r.stdout
            .contains("  Streaming: 6 output tokens in 2 responses (counted from usage), "),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("    TTFT p50 "), "{}", r.stdout);
}

/// The truth blast's own target gives: 50 tokens, the first after 200 ms,
/// one every 20 ms. TTFT, ITL and TPOT within 5%, tokens exact, counted from
/// the usage event or from the events; over HTTP/1.1 and h2c.
#[test]
fn streaming_truth_against_blast_target() {
    use blast::target::{self, StreamOptions, TargetOptions};
    use std::time::Duration;
    for (usage, http2) in [(true, false), (false, false), (true, true)] {
        let t = target::start(TargetOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            http2,
            stream: Some(StreamOptions {
                tokens: 50,
                first_token: Duration::from_millis(200),
                token_interval: Duration::from_millis(20),
                usage,
            }),
            ..Default::default()
        })
        .unwrap();
        let url = format!("http://{}/v1/chat/completions", t.addr());
        let h2 = if http2 { "--http2" } else { "" };
        let j = blast(&format!("{h2} -n 8 -c 4 -t 1"), &url);
        let served = t.requests();
        t.stop();
        assert_eq!(u(&j, "requests"), 8, "{j}");
        assert_eq!(served, 8);
        assert_eq!(u(&j, "output_tokens"), 400, "{j}");
        let source = if usage { "usage" } else { "events" };
        assert_eq!(j["token_count_source"], source, "{j}");
        let (ttft, itl, tpot) = (
            p50_ms(&j, "ttft_us"),
            p50_ms(&j, "itl_us"),
            p50_ms(&j, "tpot_us"),
        );
        let within = |v: f64, want: f64| (v - want).abs() <= want * 0.05;
        let what = format!("usage={usage} http2={http2}: TTFT {ttft} ITL {itl} TPOT {tpot}");
        assert!(within(ttft, 200.0), "{what}: {j}");
        assert!(within(itl, 20.0), "{what}: {j}");
        assert!(within(tpot, 20.0), "{what}: {j}");
        eprintln!("{what}");
    }
}

/// Goodput: requests meeting every per-request condition of --slo, counted
/// against the server's own log of which requests it answered slowly.
#[test]
fn goodput_matches_the_servers_log() {
    let dir = Scratch::new("goodput");
    let log = dir.join("server.log");
    // Every third request's first token comes 300 ms late.
    let s = SseServer::start_with(5, 20, 5, true, 0, 3, Some(&log));
    let r = run_line("--json -n 9 -c 1 -t 1 --slo ttft<200ms,tpot<50ms", &s.url());
    // The slow ones break ttft<200ms: the SLO fails (exit 1), the report stands.
    assert_eq!(r.code, 1, "{}", r.stderr);
    let j = r.json();
    let text = std::fs::read_to_string(&log).unwrap();
    let fast = text.lines().filter(|l| l.ends_with(" fast")).count() as f64;
    assert_eq!(text.lines().count(), 9, "{text}");
    let secs = j["duration_s"].as_f64().unwrap();
    let goodput = j["goodput_rps"].as_f64().unwrap();
    assert!(
        (goodput * secs - fast).abs() < 1e-6,
        "goodput {goodput} req/s over {secs} s, server answered {fast} fast: {j}"
    );
    assert_eq!(fast, 6.0);
    let ttft = j["slo"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["condition"] == "ttft<200ms");
    assert_eq!(ttft.unwrap()["pass"], false, "{j}");
}

/// `--stream` times a body as Server-Sent Events even when the server does
/// not say it is one (no Content-Type here).
#[test]
fn stream_flag_parses_unlabelled_bodies() {
    use crate::support::{Behavior, Server};
    let ev = |c: &str| format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{c}\"}}}}]}}\n\n");
    let body = format!("{}{}data: [DONE]\n\n", ev("a"), ev("b"));
    let s = Server::start(Behavior::Fixed {
        status: 200,
        body: body.into_bytes(),
    });
    let j = blast("-n 4 -c 1 -t 1", &s.url());
    assert_eq!(j["streamed_responses"], Value::Null, "{j}");
    for engine in engines() {
        let j = blast(
            &format!("--stream -n 4 -c 1 -t 1 --engine {engine}"),
            &s.url(),
        );
        assert_eq!(u(&j, "streamed_responses"), 4, "{j}");
        assert_eq!(u(&j, "output_tokens"), 8, "{j}");
        assert_eq!(j["token_count_source"], "events", "{j}");
    }
}
