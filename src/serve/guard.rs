//! What a call's head must pass before anything else looks at it: sizes,
//! the `Host` it names, and, for a call that changes something, that a
//! page on another site did not send it.
//!
//! A browser lets any page send a "simple" request (a POST of `text/plain`,
//! no preflight) to a loopback server, and DNS rebinding lets a page on
//! `evil.example` read the answers once its name points at 127.0.0.1. So:
//! only `Host` values that name this server are answered (its address, the
//! loopback names, `--allow-host` names), as Jupyter and the Docker API do;
//! a POST or DELETE whose `Origin` is another origin, or whose
//! `Sec-Fetch-Site` says `cross-site`, is refused; and a POST must be
//! `application/json`, which a page cannot send cross-origin without a
//! preflight this server never answers.

use super::api::Refusal;
use hyper::header::{CONTENT_TYPE, HOST, ORIGIN};
use hyper::http::request::Parts;
use hyper::Method;
use std::net::SocketAddr;

/// The longest request target (path and query).
pub const MAX_TARGET: usize = 8 << 10;
/// The longest header line (name and value).
pub const MAX_HEADER: usize = 8 << 10;
/// All header lines together.
pub const MAX_HEADERS: usize = 32 << 10;
/// hyper's own limit on a whole head, above ours with room for the request
/// line and line ends: past it hyper answers 431 itself (with no body).
pub const MAX_HEAD: usize = MAX_TARGET + MAX_HEADERS + 1024;

/// The names this server answers to, besides the loopback ones.
#[derive(Clone, Debug, Default)]
pub struct Hosts {
    /// `--allow-host`: names (any port), lowercased; `*` allows any.
    pub allowed: Vec<String>,
}

/// Check the head of a call that came in on `local`.
pub fn check(head: &Parts, local: SocketAddr, hosts: &Hosts) -> Result<(), Refusal> {
    sizes(head)?;
    let host = one_host(head)?;
    if !host_allowed(host, local, hosts) {
        return Err(forbidden(format!(
            "Host '{host}' is not this server's name: it answers to {local}, localhost, \
             127.0.0.1 and [::1] (any port), and names given with --allow-host \
             (a foreign Host is how DNS rebinding reaches a local server)"
        )));
    }
    if matches!(head.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let site = head.headers.get("sec-fetch-site").map(|v| v.as_bytes());
    if site.is_some_and(|v| v.eq_ignore_ascii_case(b"cross-site")) {
        return Err(forbidden(format!(
            "Sec-Fetch-Site: cross-site: a page on another site may not {} here",
            head.method
        )));
    }
    if let Some(origin) = head.headers.get(ORIGIN) {
        let origin = String::from_utf8_lossy(origin.as_bytes());
        if !same_origin(&origin, host) {
            return Err(forbidden(format!(
                "Origin '{origin}' is not this server's (http://{host}): a page on another \
                 origin may not {} here",
                head.method
            )));
        }
    }
    Ok(())
}

/// 415 unless the call's body is declared JSON (`application/json`, any
/// parameters).
pub fn json_body(head: &Parts) -> Result<(), Refusal> {
    let given = head.headers.get(CONTENT_TYPE).map(|v| v.as_bytes());
    let media = given.map(|v| {
        v.split(|&b| b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii()
    });
    if media.is_some_and(|m| m.eq_ignore_ascii_case(b"application/json")) {
        return Ok(());
    }
    let shown = given.map_or("none".to_string(), |v| {
        format!("'{}'", String::from_utf8_lossy(v))
    });
    Err(Refusal::new(
        415,
        None,
        format!(
            "Content-Type must be application/json, not {shown} \
             (with curl: --json BODY, or -H 'Content-Type: application/json' -d BODY)"
        ),
    ))
}

fn forbidden(error: String) -> Refusal {
    Refusal::new(403, None, error)
}

/// 414 for a long target, 431 for a long header or too many bytes of them.
fn sizes(head: &Parts) -> Result<(), Refusal> {
    let target = head.uri.path_and_query().map_or(0, |p| p.as_str().len())
        + head.uri.authority().map_or(0, |a| a.as_str().len());
    if target > MAX_TARGET {
        return Err(Refusal::new(
            414,
            None,
            format!("the request target is {target} bytes: at most 8 KiB ({MAX_TARGET})"),
        ));
    }
    let mut total = 0;
    for (name, value) in &head.headers {
        let line = name.as_str().len() + value.len();
        if line > MAX_HEADER {
            return Err(Refusal::new(
                431,
                None,
                format!(
                    "header {} is {line} bytes: at most 8 KiB ({MAX_HEADER}) each",
                    canonical(name.as_str())
                ),
            ));
        }
        total += line;
    }
    if total > MAX_HEADERS {
        return Err(Refusal::new(
            431,
            None,
            format!("the headers are {total} bytes: at most 32 KiB ({MAX_HEADERS}) in all"),
        ));
    }
    Ok(())
}

/// `x-big` as `X-Big`, the way a caller likely wrote it.
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The one `Host` value (HTTP/1.1 requires exactly one).
fn one_host(head: &Parts) -> Result<&str, Refusal> {
    let mut all = head.headers.get_all(HOST).iter();
    match (all.next(), all.next()) {
        (Some(h), None) => h
            .to_str()
            .map_err(|_| Refusal::new(400, None, "the Host header is not ASCII")),
        (None, _) => Err(Refusal::new(400, None, "no Host header")),
        (Some(_), Some(_)) => Err(Refusal::new(400, None, "more than one Host header")),
    }
}

/// `host` without its port: `[::1]:80` -> `[::1]`, `a:80` -> `a`.
fn name_of(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    host.rsplit_once(':').map_or(host, |(n, _)| n)
}

fn host_allowed(host: &str, local: SocketAddr, hosts: &Hosts) -> bool {
    let name = name_of(host).to_ascii_lowercase();
    host == local.to_string()
        || matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]")
        || hosts.allowed.iter().any(|a| a == "*" || *a == name)
}

/// Whether `origin` is `http://HOST` or `https://HOST` (behind a TLS
/// proxy), the host compared without case.
fn same_origin(origin: &str, host: &str) -> bool {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    rest.is_some_and(|r| r.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = hyper::Request::builder().method(method).uri("/benchmark");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn status(method: &str, headers: &[(&str, &str)]) -> u16 {
        let local: SocketAddr = "127.0.0.1:8089".parse().unwrap();
        let hosts = Hosts {
            allowed: vec!["blast.lan".into()],
        };
        check(&head(method, headers), local, &hosts).map_or_else(|r| r.status, |()| 200)
    }

    #[test]
    fn hosts_that_name_this_server_pass() {
        for h in [
            "127.0.0.1:8089",
            "localhost",
            "LOCALHOST:3000",
            "127.0.0.1",
            "[::1]:8089",
            "blast.lan:80",
        ] {
            assert_eq!(status("GET", &[("host", h)]), 200, "{h}");
        }
        for h in [
            "evil.example",
            "127.0.0.1.evil.example",
            "10.0.0.1:8089",
            "[::2]:8089",
        ] {
            assert_eq!(status("GET", &[("host", h)]), 403, "{h}");
        }
        assert_eq!(status("GET", &[]), 400);
        assert_eq!(status("GET", &[("host", "localhost"), ("host", "x")]), 400);
    }

    #[test]
    fn cross_site_changes_are_refused() {
        let h = ("host", "localhost:8089");
        assert_eq!(
            status("POST", &[h, ("origin", "http://localhost:8089")]),
            200
        );
        assert_eq!(
            status("POST", &[h, ("origin", "https://LOCALHOST:8089")]),
            200
        );
        assert_eq!(
            status("POST", &[h, ("origin", "http://localhost:8090")]),
            403
        );
        assert_eq!(status("DELETE", &[h, ("origin", "null")]), 403);
        assert_eq!(status("POST", &[h, ("sec-fetch-site", "cross-site")]), 403);
        assert_eq!(status("POST", &[h, ("sec-fetch-site", "same-origin")]), 200);
        // Reading is not refused for its Origin: the Host rule covers it.
        assert_eq!(status("GET", &[h, ("origin", "http://evil.example")]), 200);
    }

    #[test]
    fn only_json_bodies() {
        let ok = |ct: &str| json_body(&head("POST", &[("content-type", ct)])).is_ok();
        assert!(ok("application/json"));
        assert!(ok("Application/JSON ; charset=utf-8"));
        assert!(!ok("text/plain"));
        assert!(!ok("application/jsonx"));
        assert_eq!(json_body(&head("POST", &[])).unwrap_err().status, 415);
    }

    #[test]
    fn names_lose_their_port() {
        assert_eq!(name_of("[::1]:80"), "[::1]");
        assert_eq!(name_of("a.b:80"), "a.b");
        assert_eq!(name_of("a.b"), "a.b");
        assert_eq!(canonical("x-big"), "X-Big");
    }
}
