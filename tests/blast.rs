//! Integration tests: real servers on 127.0.0.1:0, the real blast binary,
//! and assertions on what the server actually received against what blast
//! reports. Engine-dependent behaviour runs on both engines; the io_uring
//! variant skips (with a message) where the kernel refuses io_uring, and
//! fails under `CI=true`, as every test that needs something of the machine
//! does (`support::capability`).
//!
//! One test binary, one module per subject: `faults` (SPEC's fault table on
//! both engines), `cli` (flags, bodies, exit codes, the reports' layout),
//! `cli_hardening` (issue 18: a silent TLS handshake, SIGTERM, `--start-at`,
//! Transfer-Encoding, the temp-dir certificate, the API's large numbers),
//! `open_loop` (-R, SLOs, find), `hlog` (interval logs and merge),
//! `reports` (CSV, HTML in a browser, compare), `scenario` (--scenario,
//! --targets and --data against a logging server), `tls` (HTTPS against nginx
//! and `blast target --tls`), `limits` (ulimit -n, --source, errno-named
//! causes, io_uring refused), `h2` (HTTP/2: -m streams, GOAWAY, RST_STREAM, ALPN),
//! `mix_target` (scenarios and data rows against `blast target --record`),
//! `injection` (input that turns into something else where it lands: CSV
//! formula cells, URL values, data-file line ends, multipart names),
//! `serve` (the HTTP API of `blast serve` against `blast target`, and its
//! web UI in headless Chromium), `serve_schema` (that API against its
//! OpenAPI description, by Schemathesis), `serve_hardening` (`blast serve`
//! against hostile callers: foreign Hosts, cross-site calls, slow bodies, big
//! heads, stalled downloads), `stream_reports` (the streaming CSV, HTML
//! and `blast report` of a run against `blast target --stream`), `stream`,
//! `stream_target` and `openai` (streamed LLM responses), `grpc` (`--grpc`
//! against a Python grpcio server that logs what it received), `arrival`
//! (Poisson and gamma arrivals), `pipeline` (`--pipeline N`: HTTP/1.1
//! pipelining against `blast target`, nginx and misbehaving servers), and
//! `layout` (the source tree itself: no import cycle, no file over 500
//! lines, README's length, every link).

use serde_json::Value;
use support::{run, Behavior, Server};

/// Generate `epoll` and `uring` tests from one function taking the engine.
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn epoll() {
                    super::$name("epoll");
                }
                #[test]
                fn uring() {
                    if crate::support::uring_available() {
                        super::$name("uring");
                    }
                }
            }
        )*
    };
}

mod allow;
mod arrival;
mod captures;
mod checks;
mod checks_locust;
mod cli;
mod cli_hardening;
mod faults;
mod grpc;
mod grpc_target;
mod h2;
mod hlog;
mod injection;
mod layout;
mod limits;
mod metrics;
mod mix_target;
mod open_loop;
mod openai;
mod pipeline;
mod reports;
mod scenario;
mod serve;
mod serve_hardening;
mod serve_schema;
mod stages;
mod stream;
mod stream_reports;
mod stream_target;
mod support;
mod tls;

fn u(v: &Value, path: &str) -> u64 {
    let mut cur = v;
    for k in path.split('.') {
        cur = &cur[k];
    }
    cur.as_u64()
        .unwrap_or_else(|| panic!("{path} is not a number in {v}"))
}

/// Run blast with space-separated `args` on `engine`, expect exit 0, and
/// return its JSON report.
pub fn json_run(engine: &str, args: &str, url: &str) -> Value {
    let mut all: Vec<&str> = args.split_whitespace().collect();
    all.extend(["--engine", engine, "--json", url]);
    let r = run(&all);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.json()
}

pub fn ok_server() -> Server {
    Server::start(Behavior::Fixed {
        status: 200,
        body: b"hello".to_vec(),
    })
}
