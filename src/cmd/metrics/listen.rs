//! `--metrics-listen`: a small HTTP/1.1 listener on std threads that
//! answers `GET /metrics` (404 elsewhere, 405 for another method) and
//! closes each connection after its answer. Scrapers are few and come
//! once a second: a thread per connection, at most `MAX_OPEN` at once (a
//! 503 beyond), a head of at most `MAX_HEAD` bytes that must arrive within
//! `HEAD_READ`, as `blast serve` bounds its callers. The token is compared
//! in constant time (`serve::token`).

use crate::serve::token::same;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MAX_OPEN: usize = 16;
const MAX_HEAD: usize = 16 * 1024;
const HEAD_READ: Duration = Duration::from_secs(10);

/// What the listener answers `/metrics` with: (OpenMetrics asked) ->
/// (content type, body).
pub type Render = Arc<dyn Fn(bool) -> (&'static str, String) + Send + Sync>;

/// Serve until the process ends (the thread is detached).
pub fn spawn(listener: TcpListener, token: Option<String>, render: Render) {
    let open = Arc::new(AtomicUsize::new(0));
    let token = Arc::new(token);
    let _ = std::thread::Builder::new()
        .name("blast-metrics".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                if open.fetch_add(1, Ordering::SeqCst) >= MAX_OPEN {
                    open.fetch_sub(1, Ordering::SeqCst);
                    let _ = answer(&stream, 503, "text/plain", "busy: try again\n", &[]);
                    continue;
                }
                let (open, token, render) = (open.clone(), token.clone(), render.clone());
                let spawned = std::thread::Builder::new()
                    .name("blast-metrics-conn".into())
                    .spawn(move || {
                        serve(&stream, token.as_deref(), &render);
                        open.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    // The closure (and its count) never ran.
                    continue;
                }
            }
        });
}

fn serve(stream: &TcpStream, token: Option<&str>, render: &Render) {
    let Some(head) = read_head(stream) else {
        return;
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    if !matches!(req.parse(&head), Ok(httparse::Status::Complete(_))) {
        let _ = answer(stream, 400, "text/plain", "bad request\n", &[]);
        return;
    }
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
    };
    if let Some(token) = token {
        let given = header("authorization")
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map_or("", |(_, t)| t.trim());
        if !same(given.as_bytes(), token.as_bytes()) {
            let body = "missing or wrong token: send Authorization: Bearer TOKEN\n";
            let _ = answer(
                stream,
                401,
                "text/plain",
                body,
                &[("WWW-Authenticate", "Bearer")],
            );
            return;
        }
    }
    let path = req.path.unwrap_or("/").split('?').next().unwrap_or("/");
    if path != "/metrics" {
        let _ = answer(stream, 404, "text/plain", "only /metrics is here\n", &[]);
        return;
    }
    if req.method != Some("GET") {
        let _ = answer(stream, 405, "text/plain", "GET only\n", &[("Allow", "GET")]);
        return;
    }
    let openmetrics = crate::report::prom::text::wants_openmetrics(header("accept"));
    let (ctype, body) = render(openmetrics);
    let _ = answer(stream, 200, ctype, &body, &[]);
}

/// The request's head (through its blank line), or None when it is too
/// large, too slow or cut.
fn read_head(mut stream: &TcpStream) -> Option<Vec<u8>> {
    let until = Instant::now() + HEAD_READ;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let left = until.checked_duration_since(Instant::now())?;
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        let n = stream.read(&mut buf).ok().filter(|&n| n > 0)?;
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_HEAD {
            let _ = answer(stream, 431, "text/plain", "head too large\n", &[]);
            return None;
        }
    }
    Some(head)
}

fn answer(
    mut stream: &TcpStream,
    status: u16,
    ctype: &str,
    body: &str,
    extra: &[(&str, &str)],
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let _ = stream.set_write_timeout(Some(HEAD_READ));
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}
