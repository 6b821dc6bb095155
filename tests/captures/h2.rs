//! Captures and cookies over `--http2`: each stream lane is a user of its
//! own. Lanes share a connection, so the server cannot tell them apart by
//! connection; it tells them apart by the token. Each login issues a fresh
//! random token that must then come back exactly once per later step, in
//! order (login -> first step -> second step): a lane that sent another
//! lane's token, an old token or none advances a token out of order and is
//! counted as a mismatch. The server is the `h2` crate's (h2c).

use super::{name_u, COOKIES, SEQUENCE};
use crate::support::{listen, Listening, Scratch};
use crate::u;
use bytes::Bytes;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct State {
    /// Issued token -> steps taken since its login.
    issued: HashMap<String, u8>,
    logins: u64,
    no_token: u64,
    ok: u64,
    mismatch: u64,
    old_on_login: u64,
    requests: u64,
}

struct Server {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _listening: Listening,
}

impl Server {
    /// `cookie`: the token is a session cookie, else JSON `access_token`
    /// sent back as a Bearer header, in the path and in the body. Every
    /// `every`th login answers without a token (0: never).
    fn start(cookie: bool, every: u64) -> Server {
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let listening = listen(move |tcp| serve(tcp, cookie, every, st.clone()));
        Server {
            addr: listening.addr,
            state,
            _listening: listening,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn stats(&self) -> Value {
        let s = self.state.lock().unwrap();
        serde_json::json!({
            "requests": s.requests, "logins": s.logins, "no_token": s.no_token,
            "ok": s.ok, "mismatch": s.mismatch, "old_on_login": s.old_on_login,
        })
    }
}

async fn serve(tcp: tokio::net::TcpStream, cookie: bool, every: u64, st: Arc<Mutex<State>>) {
    let Ok(mut conn) = h2::server::handshake(tcp).await else {
        return;
    };
    while let Some(Ok((req, respond))) = conn.accept().await {
        tokio::spawn(answer(req, respond, cookie, every, st.clone()));
    }
}

async fn answer(
    req: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    cookie: bool,
    every: u64,
    st: Arc<Mutex<State>>,
) {
    let (parts, mut body) = req.into_parts();
    let mut data = Vec::new();
    while let Some(Ok(chunk)) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk.len());
        data.extend_from_slice(&chunk);
    }
    let header = |n: &str| parts.headers.get(n).and_then(|v| v.to_str().ok());
    let path = parts.uri.path().to_string();
    let mut set_cookie = None;
    let (status, reply) = {
        let mut s = st.lock().unwrap();
        s.requests += 1;
        if path == "/login" {
            s.logins += 1;
            s.old_on_login += header("cookie").is_some() as u64;
            let k = s.logins;
            if every > 0 && k.is_multiple_of(every) {
                s.no_token += 1;
                (200, r#"{"error": "try again"}"#.to_string())
            } else {
                let tok = format!("{:016x}{k:x}", rand_u64());
                s.issued.insert(tok.clone(), 0);
                if cookie {
                    set_cookie = Some(format!("session={tok}; Path=/"));
                    (200, "{}".to_string())
                } else {
                    (200, serde_json::json!({ "access_token": tok }).to_string())
                }
            }
        } else {
            // The step's place in its run: the first after login or not.
            let first = path == "/api/profile" || path == "/api/a";
            let tok = if cookie {
                header("cookie").and_then(|c| c.strip_prefix("session="))
            } else {
                header("authorization").and_then(|a| a.strip_prefix("Bearer "))
            };
            let tok = tok.unwrap_or("").to_string();
            let mut good = s.issued.get(&tok) == Some(&(!first as u8));
            if !cookie && !first {
                let body: Value = serde_json::from_slice(&data).unwrap_or_default();
                good &= path.ends_with(&format!("/{tok}"));
                good &= body == serde_json::json!({"token": tok, "n": 1});
            }
            if good {
                s.ok += 1;
                *s.issued.get_mut(&tok).unwrap() += 1;
                (200, r#"{"ok": true}"#.to_string())
            } else {
                s.mismatch += 1;
                (401, r#"{"error": "not your token"}"#.to_string())
            }
        }
    };
    let mut resp = http::Response::builder().status(status);
    if let Some(c) = set_cookie {
        resp = resp.header("set-cookie", c);
    }
    let resp = resp
        .header("content-type", "application/json")
        .body(())
        .unwrap();
    if let Ok(mut s) = respond.send_response(resp, false) {
        let _ = s.send_data(Bytes::from(reply), true);
    }
}

/// Enough randomness that tokens are not guessable from each other.
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

fn blast(dir: &Scratch, text: &str, args: &[&str], url: &str) -> Value {
    let scenario = dir.write("s.toml", text);
    let mut all = vec!["--json", "--http2", "--timeout", "10s", "--scenario"];
    all.push(&scenario);
    all.extend_from_slice(args);
    all.push(url);
    let r = crate::support::runner::run_cmd(
        crate::support::runner::command(&all),
        std::time::Duration::from_secs(120),
    );
    assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    r.json()
}

/// 10,000 sequences at -c 5 -m 10 (50 lanes on 5 connections): every later
/// request carries the token its own lane was issued, in order.
#[test]
fn tokens_flow_per_stream_lane() {
    let s = Server::start(false, 0);
    let dir = Scratch::new("captures-h2-tokens");
    let args = ["-c", "5", "-m", "10", "-t", "1", "-n", "30000"];
    let v = blast(&dir, SEQUENCE, &args, &s.url());
    let st = s.stats();
    assert_eq!(u(&st, "mismatch"), 0, "{st}");
    assert_eq!(u(&st, "requests"), 30_000, "{st}");
    assert_eq!(u(&v, "requests"), 30_000);
    assert_eq!(u(&v, "errors.status") + u(&v, "errors.check"), 0, "{v}");
    assert_eq!(u(&v, "skipped"), 0);
    assert_eq!(u(&st, "logins"), name_u(&v, "login", "requests"));
    assert!(
        u(&st, "logins") >= 10_000 && u(&st, "logins") <= 10_050,
        "{st}"
    );
}

/// Every 10th login answers without a token: that login fails with
/// `check` and its lane's next two steps are skipped, not sent.
#[test]
fn a_capture_that_finds_nothing_skips_the_rest_of_the_run_over_h2() {
    let s = Server::start(false, 10);
    let dir = Scratch::new("captures-h2-skip");
    let args = ["-c", "2", "-m", "5", "-t", "1", "-n", "3000"];
    let v = blast(&dir, SEQUENCE, &args, &s.url());
    let st = s.stats();
    let failed = u(&st, "no_token");
    assert!(failed >= 100, "{st}");
    assert_eq!(u(&st, "mismatch"), 0, "{st}");
    assert_eq!(u(&st, "requests"), 3000, "{st}");
    assert_eq!(u(&v, "errors.check"), failed, "{v}");
    assert_eq!(name_u(&v, "profile", "skipped"), failed);
    assert_eq!(name_u(&v, "order", "skipped"), failed);
    assert_eq!(u(&v, "skipped"), 2 * failed);
}

/// With cookies each lane's later requests carry its own session, in
/// order, and a login (a new run) carries none.
#[test]
fn cookies_go_back_per_stream_lane() {
    let s = Server::start(true, 0);
    let dir = Scratch::new("captures-h2-cookies");
    let text = format!("cookies = true\n{COOKIES}");
    let args = ["-c", "4", "-m", "5", "-t", "1", "-n", "6000"];
    let v = blast(&dir, &text, &args, &s.url());
    let st = s.stats();
    assert_eq!(u(&v, "requests"), 6000);
    assert_eq!(u(&st, "requests"), 6000, "{st}");
    assert_eq!(u(&st, "mismatch"), 0, "{st}");
    assert_eq!(u(&st, "old_on_login"), 0, "{st}");
    assert_eq!(u(&st, "ok") + u(&st, "logins"), 6000, "{st}");
    assert!(u(&st, "logins") >= 1990, "{st}");
}
