//! Captures and cookies in scenario sequences (issue 17 §2), checked from
//! both sides: a Python standard-library server that issues a random token
//! (or session cookie) per login, remembers it for that TCP connection, and
//! counts every later request that did not carry exactly its own; blast's
//! report must agree with the server's counts.

mod h2;

use crate::support::python::LoggedPyServer;
use crate::support::run;
use crate::u;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;

/// argv: log path (unused), mode (`token` or `cookie`), N (every Nth login
/// answers without a token; 0: never). `GET /__stats` answers the counts.
const SERVER: &str = r#"
import http.server, socketserver, json, sys, threading, secrets
# -c 50 connects at once: a backlog of 5 (the default) would drop SYNs.
socketserver.TCPServer.request_queue_size = 256
mode, every = sys.argv[2], int(sys.argv[3])
lock = threading.Lock()
st = {"requests": 0, "logins": 0, "no_token": 0, "api": 0, "ok": 0,
      "mismatch": 0, "missing": 0, "wrong": 0, "old_on_login": 0}
issued = {}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def reply(self, code, body, extra=()):
        b = body.encode()
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def do_GET(self):
        if self.path == "/__stats":
            with lock:
                b = json.dumps(st)
            return self.reply(200, b)
        self.api(b"")
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if n else b""
        if self.path == "/login":
            return self.login()
        self.api(body)
    def login(self):
        conn = self.client_address
        tok = secrets.token_hex(12)
        with lock:
            st["requests"] += 1
            st["logins"] += 1
            k = st["logins"]
            st["old_on_login"] += self.headers.get("Cookie") is not None
            if every and k % every == 0:
                st["no_token"] += 1
                issued.pop(conn, None)
                tok = None
            else:
                issued[conn] = tok
        if tok is None:
            return self.reply(200, '{"error": "try again"}')
        if mode == "cookie":
            return self.reply(200, "{}", [("Set-Cookie", "session=%s; Path=/" % tok)])
        self.reply(200, json.dumps({"access_token": tok}))
    def api(self, body):
        conn = self.client_address
        with lock:
            st["requests"] += 1
            st["api"] += 1
            mine = issued.get(conn)
        good = mine is not None
        if mode == "token":
            good = good and self.headers.get("Authorization") == "Bearer " + mine
            if self.command == "POST":
                good = good and self.path.endswith("/" + mine)
                good = good and json.loads(body) == {"token": mine, "n": 1}
            key = "ok" if good else "mismatch"
        else:
            c = self.headers.get("Cookie")
            key = "missing" if c is None else "ok" if good and c == "session=" + mine else "wrong"
        with lock:
            st[key] += 1
        if mode == "token" and not good:
            return self.reply(401, '{"error": "not your token"}')
        self.reply(200, '{"ok": true}')
"#;

/// login -> GET with the token in a header -> POST with it in the path,
/// a header and the body (whose Content-Length follows the token's).
const SEQUENCE: &str = r#"
[[sequence]]
[[sequence.step]]
name = "login"
method = "POST"
path = "/login"
body = '{"user": "u"}'
capture = { token = "json /access_token" }

[[sequence.step]]
name = "profile"
path = "/api/profile"
headers = { Authorization = "Bearer {{token}}" }

[[sequence.step]]
name = "order"
method = "POST"
path = "/api/orders/{{token}}"
headers = { Authorization = "Bearer {{ token }}" }
body = '{"token": "{{token}}", "n": 1}'
"#;

struct Login(LoggedPyServer);

impl Login {
    fn start(mode: &str, every: u32, tag: &str) -> Login {
        let dir = crate::support::Scratch::new(&format!("captures-{tag}"));
        let server = crate::support::python::PyServer::start(
            SERVER,
            [
                dir.join("log.jsonl").display().to_string(),
                mode.to_string(),
                every.to_string(),
            ],
        );
        Login(LoggedPyServer { server, dir })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.0.server.port)
    }

    fn file(&self, name: &str, text: &str) -> String {
        self.0.file(name, text)
    }

    /// The server's counts, asked on a connection of the test's own.
    fn stats(&self) -> Value {
        let mut s = TcpStream::connect(("127.0.0.1", self.0.server.port)).unwrap();
        s.write_all(b"GET /__stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"))
    }
}

fn blast(args: &[&str]) -> Value {
    let mut all = vec!["--json", "--timeout", "10s"];
    all.extend_from_slice(args);
    let r = crate::support::runner::run_cmd(
        crate::support::runner::command(&all),
        std::time::Duration::from_secs(120),
    );
    assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    r.json()
}

fn name_u(v: &Value, name: &str, key: &str) -> u64 {
    v["by_name"][name][key]
        .as_u64()
        .unwrap_or_else(|| panic!("by_name.{name}.{key} in {v}"))
}

both_engines!(tokens_flow_to_later_steps_on_their_connection);

/// 10,000 sequences (30,000 requests) at -c 50: every later request carries
/// the token its own connection was issued, as the server counts it.
fn tokens_flow_to_later_steps_on_their_connection(engine: &str) {
    let s = Login::start("token", 0, &format!("tokens-{engine}"));
    let scenario = s.file("login.toml", SEQUENCE);
    let n = "30000";
    let v = blast(&[
        "--engine",
        engine,
        "-c",
        "50",
        "-t",
        "2",
        "-n",
        n,
        "--scenario",
        &scenario,
        &s.url(),
    ]);
    let st = s.stats();
    assert_eq!(u(&st, "mismatch"), 0, "{st}");
    assert_eq!(u(&st, "requests"), 30_000, "{st}");
    assert_eq!(u(&v, "requests"), 30_000);
    assert_eq!(u(&v, "errors.status") + u(&v, "errors.check"), 0, "{v}");
    assert_eq!(u(&v, "skipped"), 0);
    assert_eq!(
        u(&st, "ok"),
        name_u(&v, "profile", "requests") + name_u(&v, "order", "requests")
    );
    assert_eq!(u(&st, "logins"), name_u(&v, "login", "requests"));
    // -n ends the run wherever it is in a sequence: whole runs at most a
    // connection's one short.
    assert!(
        u(&st, "logins") >= 10_000 && u(&st, "logins") <= 10_050,
        "{st}"
    );
}

/// Every 10th login answers without a token: exactly those logins fail
/// with `check` (the capture's own detail), the two later steps of each
/// are skipped (counted per name, not sent: the server never sees an
/// empty token), and -n counts only what was sent.
#[test]
fn a_capture_that_finds_nothing_skips_the_rest_of_the_run() {
    let s = Login::start("token", 10, "skip");
    let scenario = s.file("login.toml", SEQUENCE);
    let v = blast(&[
        "-c",
        "10",
        "-t",
        "1",
        "-n",
        "3000",
        "--scenario",
        &scenario,
        &s.url(),
    ]);
    let st = s.stats();
    let failed = u(&st, "no_token");
    assert!(failed >= 100, "{st}");
    assert_eq!(u(&st, "mismatch"), 0, "{st}");
    assert_eq!(u(&st, "requests"), 3000, "{st}");
    assert_eq!(u(&v, "requests"), 3000);
    assert_eq!(u(&v, "errors.check"), failed, "{v}");
    assert_eq!(u(&v, "errors.status"), 0, "{v}");
    assert_eq!(name_u(&v, "login", "skipped"), 0);
    assert_eq!(name_u(&v, "profile", "skipped"), failed);
    assert_eq!(name_u(&v, "order", "skipped"), failed);
    assert_eq!(u(&v, "skipped"), 2 * failed);
    let login = &v["by_name"]["login"];
    assert_eq!(login["errors"]["check"], failed);
    let details = login["error_details"].as_array().unwrap();
    assert!(
        details.iter().any(|d| d["cause"]
            .as_str()
            .is_some_and(|c| c.contains("capture token: json /access_token not found"))
            && d["count"] == failed),
        "{details:?}"
    );
    // The text report says so too.
    let r = run(&[
        "-c",
        "10",
        "-t",
        "1",
        "-n",
        "300",
        "--scenario",
        &scenario,
        &s.url(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("  Skipped: "), "{}", r.stdout);
}

const COOKIES: &str = r#"
[[sequence]]
[[sequence.step]]
name = "login"
method = "POST"
path = "/login"
[[sequence.step]]
name = "a"
path = "/api/a"
[[sequence.step]]
name = "b"
path = "/api/b/c"
"#;

/// With cookies, each later request carries exactly its connection's
/// session and no other's, and a login (a new run) carries none; without,
/// every later request lacks it.
#[test]
fn cookies_go_back_per_user_and_a_new_run_starts_without() {
    let s = Login::start("cookie", 0, "cookies");
    let on = s.file("on.toml", &format!("cookies = true\n{COOKIES}"));
    let v = blast(&[
        "-c",
        "20",
        "-t",
        "2",
        "-n",
        "6000",
        "--scenario",
        &on,
        &s.url(),
    ]);
    let st = s.stats();
    assert_eq!(u(&v, "requests"), 6000);
    assert_eq!(u(&st, "requests"), 6000, "{st}");
    assert_eq!(u(&st, "wrong"), 0, "{st}");
    assert_eq!(u(&st, "missing"), 0, "{st}");
    assert_eq!(u(&st, "old_on_login"), 0, "{st}");
    assert_eq!(u(&st, "ok"), u(&st, "api"), "{st}");
    assert!(u(&st, "logins") >= 1990, "{st}");

    // --cookies does the same for a scenario without the key.
    let s = Login::start("cookie", 0, "cookies-flag");
    let off = s.file("off.toml", COOKIES);
    blast(&[
        "-c",
        "5",
        "-n",
        "600",
        "--cookies",
        "--scenario",
        &off,
        &s.url(),
    ]);
    let st = s.stats();
    assert_eq!(u(&st, "requests"), 600, "{st}");
    let api = u(&st, "api");
    assert!(api >= 390, "{st}");
    assert_eq!(
        (u(&st, "ok"), u(&st, "wrong"), u(&st, "missing")),
        (api, 0, 0)
    );

    let s = Login::start("cookie", 0, "cookies-off");
    let off = s.file("off.toml", COOKIES);
    blast(&["-c", "5", "-n", "600", "--scenario", &off, &s.url()]);
    let st = s.stats();
    assert!(u(&st, "api") >= 390, "{st}");
    assert_eq!(u(&st, "missing"), u(&st, "api"), "{st}");
    assert_eq!(u(&st, "ok"), 0, "{st}");
}

/// The README's example scenario runs as written against the login server.
#[test]
fn the_example_login_scenario_runs() {
    let s = Login::start("token", 0, "example");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/login.toml");
    let v = blast(&["-c", "4", "-n", "300", "--scenario", example, &s.url()]);
    let st = s.stats();
    assert_eq!((u(&v, "requests"), u(&st, "requests")), (300, 300));
    assert_eq!(u(&st, "mismatch"), 0, "{st}");
}

/// `--cookies` on one request (no sequence, so the jar lasts for the
/// connection): every request but each connection's first carries the
/// cookie the previous answer set.
#[test]
fn cookies_flag_on_one_request_keeps_the_jar_per_connection() {
    let s = Login::start("cookie", 0, "cookies-one");
    let url = format!("{}/login", s.url());
    blast(&[
        "-c",
        "2",
        "-t",
        "1",
        "-n",
        "40",
        "-X",
        "POST",
        "--cookies",
        &url,
    ]);
    let st = s.stats();
    assert_eq!(u(&st, "logins"), 40, "{st}");
    assert_eq!(u(&st, "old_on_login"), 38, "{st}");
}

/// Bad captures and cookie settings: exit 2, one line naming the file,
/// the line and the field.
#[test]
fn bad_captures_and_cookies_are_refused_at_load() {
    let dir = crate::support::Scratch::new("captures-bad");
    dir.write("users.csv", "user,token\nann,1\n");
    let step = |capture: &str, later: &str| {
        format!(
            "[[sequence]]\ndata = \"users.csv\"\n[[sequence.step]]\npath = \"/login\"\n{capture}\n[[sequence.step]]\npath = \"{later}\"\n"
        )
    };
    for (i, (text, needles)) in [
        (
            step("capture = { t = \"jsn /x\" }", "/a"),
            vec!["line 5", "capture t: unknown source \"jsn\""],
        ),
        (
            step("capture = { t = 'regex token=\\w+' }", "/a"),
            vec!["line 5", "capture t: regex", "has no group"],
        ),
        (
            step("capture = { token = \"json /t\" }", "/a"),
            vec!["line 5", "capture token: shadows the column 'token'"],
        ),
        (
            step("capture = { t = \"json /t\" }", "/a/{{later}}"),
            vec!["line 6", "the path uses {{later}}", "no column 'later'"],
        ),
        (
            // Used by the step that captures it: not yet there.
            "[[sequence]]\n[[sequence.step]]\npath = \"/login/{{t}}\"\ncapture = { t = \"json /t\" }\n".to_string(),
            vec!["line 2", "the path uses {{t}} before it is captured"],
        ),
        (
            format!("cookies = \"yes\"\n{}", step("", "/a")),
            vec!["line 1", "cookies = \"yes\": expected true or false"],
        ),
        (
            "[[request]]\npath = \"/\"\ncapture = { t = \"json /t\" }\n".to_string(),
            vec!["line 3", "only a [[sequence.step]] captures"],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let path = dir.write(&format!("bad{i}.toml"), &text);
        let r = run(&["--scenario", &path, "-n", "1", "http://127.0.0.1:9"]);
        assert_eq!(r.code, 2, "{text}\n{}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains(&path), "{}", r.stderr);
        for n in needles {
            assert!(r.stderr.contains(n), "{n:?} not in {}", r.stderr);
        }
    }
}
