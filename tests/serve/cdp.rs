//! Headless Chromium driven through the DevTools protocol, with no
//! dependency: `--remote-debugging-port=0` prints the port on stderr, the
//! page's WebSocket address comes from `/json/list`, and the WebSocket is a
//! std `TcpStream` (the handshake, masked text frames out, plain frames in).

use crate::support::Scratch;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A headless Chromium and a DevTools session on its first page.
pub struct Browser {
    _process: Process,
    ws: BufReader<TcpStream>,
    next_id: u64,
}

/// The browser's process, killed with its group (by its id) and its
/// profile removed when dropped (kept, as every `Scratch`, for a failing test).
struct Process {
    child: Child,
    /// Removed after the kill, as the field drops.
    _profile: Scratch,
}

impl Drop for Process {
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // The browser and its helpers share the process group it leads.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Browser {
    pub fn launch(width: u32, height: u32) -> Browser {
        let profile = Scratch::new("ui-profile");
        let child = crate::support::chromium(&profile)
            .args([
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                &format!("--window-size={width},{height}"),
                "about:blank",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("spawn chromium");
        let mut process = Process {
            child,
            _profile: profile,
        };
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID"
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = process.child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(rest) = line.split("ws://").nth(1) {
                        let _ = tx.send(rest.split('/').next().unwrap_or("").to_string());
                        sent = true;
                    }
                }
            }
        });
        let host = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("chromium did not print its DevTools address");
        let addr: SocketAddr = host.parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let page = loop {
            let list = json_list(addr);
            let pages: Value = serde_json::from_str(&list).unwrap_or(Value::Null);
            let found = pages.as_array().and_then(|a| {
                a.iter()
                    .find(|p| p["type"] == "page")
                    .and_then(|p| p["webSocketDebuggerUrl"].as_str())
                    .map(str::to_string)
            });
            if let Some(f) = found {
                break f;
            }
            assert!(Instant::now() < deadline, "no page in {list}");
            std::thread::sleep(Duration::from_millis(100));
        };
        let path = format!(
            "/{}",
            page.split_once("//").unwrap().1.split_once('/').unwrap().1
        );
        let ws = handshake(addr, &path);
        Browser {
            _process: process,
            ws,
            next_id: 0,
        }
    }

    /// Call `method` and return its result (events in between are dropped).
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        match self.try_call(method, params) {
            Ok(v) => v,
            Err(e) => panic!("{method}: {e}"),
        }
    }

    /// Call `method`: its result, or the error the browser answered.
    fn try_call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        send(self.ws.get_mut(), msg.as_bytes());
        loop {
            let m: Value = serde_json::from_slice(&recv(&mut self.ws)).unwrap();
            if m["id"] == id {
                return match m["error"].is_null() {
                    true => Ok(m["result"].clone()),
                    false => Err(m["error"].clone()),
                };
            }
        }
    }

    /// The value of a JavaScript expression (promises awaited).
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(
            r["exceptionDetails"].is_null(),
            "{expr}: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Poll `expr` until it is truthy; its value.
    pub fn wait_for(&mut self, expr: &str, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            // A page that is navigating (a reload through the 401 page)
            // has no context to evaluate in for a moment: not yet, not a
            // failure.
            let params = json!({"expression": expr, "returnByValue": true, "awaitPromise": true});
            let v = match self.try_call("Runtime.evaluate", params) {
                Ok(r) if r["exceptionDetails"].is_null() => r["result"]["value"].clone(),
                Ok(r) => panic!("{expr}: {}", r["exceptionDetails"]),
                Err(e) if navigating(&e) => Value::Null,
                Err(e) => panic!("Runtime.evaluate: {e}"),
            };
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            assert!(Instant::now() < deadline, "still not true: {expr}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url }));
    }

    /// A real click (mouse down and up) in the middle of element `#id`.
    pub fn click(&mut self, id: &str) {
        let r = self.eval(&format!(
            "(() => {{ const e = document.getElementById('{id}'); e.scrollIntoView({{block: 'center'}}); \
             const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
        ));
        let (x, y) = (r[0].as_f64().unwrap(), r[1].as_f64().unwrap());
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    /// A PNG of the page as it shows now.
    pub fn screenshot(&mut self) -> Vec<u8> {
        use base64::Engine;
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap()
    }
}

/// `GET /json/list`: the browser's targets. Its server keeps the
/// connection open, so the body is read by its length.
fn json_list(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET /json/list HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut r = BufReader::new(s);
    let (mut line, mut len) = (String::new(), 0);
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).unwrap();
    String::from_utf8_lossy(&body).into_owned()
}

fn handshake(addr: SocketAddr, path: &str) -> BufReader<TcpStream> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 101"), "no WebSocket: {line}");
    while line != "\r\n" {
        line.clear();
        r.read_line(&mut line).unwrap();
    }
    r
}

/// One text frame, masked as a client's must be.
fn send(s: &mut TcpStream, payload: &[u8]) {
    let mask = [0x5a, 0x13, 0xc7, 0x2e];
    let mut f = vec![0x81];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n < 65536 => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&f).unwrap();
}

/// One whole message (its fragments joined); pings are answered.
fn recv(r: &mut BufReader<TcpStream>) -> Vec<u8> {
    let mut msg = Vec::new();
    loop {
        let mut h = [0u8; 2];
        r.read_exact(&mut h).unwrap();
        let (fin, op) = (h[0] & 0x80 != 0, h[0] & 0x0f);
        let mut len = u64::from(h[1] & 0x7f);
        if len == 126 {
            let mut b = [0u8; 2];
            r.read_exact(&mut b).unwrap();
            len = u64::from(u16::from_be_bytes(b));
        } else if len == 127 {
            let mut b = [0u8; 8];
            r.read_exact(&mut b).unwrap();
            len = u64::from_be_bytes(b);
        }
        let mut mask = [0u8; 4];
        if h[1] & 0x80 != 0 {
            r.read_exact(&mut mask).unwrap();
        }
        let mut data = vec![0u8; len as usize];
        r.read_exact(&mut data).unwrap();
        if h[1] & 0x80 != 0 {
            for (i, b) in data.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
        }
        match op {
            0x8 => panic!("the browser closed the DevTools connection"),
            0x9 => {
                let s = r.get_mut();
                let mut f = vec![0x8a, 0x80 | data.len() as u8, 0, 0, 0, 0];
                f.extend_from_slice(&data);
                s.write_all(&f).unwrap();
            }
            0xa => {}
            _ => {
                msg.extend_from_slice(&data);
                if fin {
                    return msg;
                }
            }
        }
    }
}

/// The error the browser gives while the page it evaluates in is replaced.
fn navigating(e: &Value) -> bool {
    let m = e["message"].as_str().unwrap_or("");
    m.contains("navigated or closed") || m.contains("Cannot find context")
}
