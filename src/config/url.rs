//! The target URL: `http[s]://host[:port][/path][?query]`, its address,
//! and the one percent-decoder. A `+` means two things in a URL: in a path
//! or userinfo it is a plus; in a form-encoded query value (what a browser
//! sends for `?token=`) it is a space. Both rules live here, side by side,
//! so that a caller picks one by name and the two cannot drift apart.

use crate::error::{usage, Error};
use std::net::{SocketAddr, ToSocketAddrs};

/// A parsed `http://` or `https://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// `https://`: speak TLS.
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Origin-form request target (path and query), never empty.
    pub target: String,
}

impl Url {
    /// The Host header value: host, plus the port when it is not the
    /// scheme's default (80, or 443 for https).
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == self.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    pub fn default_port(&self) -> u16 {
        if self.tls {
            443
        } else {
            80
        }
    }
}

/// Parse `http://host[:port][/path][?query]`.
pub fn parse_url(raw: &str) -> Result<Url, Error> {
    let bad = |why: &str| usage(format!("invalid URL '{raw}': {why}"));
    let s = raw.trim();
    let (scheme, rest) = s
        .split_once("://")
        .ok_or_else(|| bad("no scheme (expected http://host[:port]/path)"))?;
    let tls = match scheme.to_ascii_lowercase().as_str() {
        // gRPC's names for the same two (`--grpc` checks they go together).
        "http" | "grpc" => false,
        "https" | "grpcs" => true,
        _ => {
            return Err(bad(&format!(
                "unsupported scheme '{scheme}' (use http:// or https://)"
            )))
        }
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err(bad(
            "user:password@ is not supported; send an Authorization header with -H",
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| bad("unclosed '[' in host"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._:%".contains(&b))
    {
        return Err(bad(&format!("invalid host '{host}'")));
    }
    let port = match port {
        None if tls => 443,
        None => 80,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(bad(&format!("invalid port '{p}'"))),
        },
    };
    let tail = tail.split('#').next().unwrap_or("");
    let target = if tail.is_empty() {
        "/".to_string()
    } else if tail.starts_with('?') {
        format!("/{tail}")
    } else {
        tail.to_string()
    };
    if target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(bad(
            "spaces or control characters in the path (percent-encode them)",
        ));
    }
    Ok(Url {
        tls,
        host,
        port,
        target,
    })
}

/// A host's one lookup: every address it gave, in the resolver's order.
/// `blast serve` checks all of them against `--allow-target` and hands the
/// lookup to the run (`PoolArgs::pinned`), so the address a run connects
/// to is one that was checked, never the answer of a second lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub host: String,
    pub port: u16,
    /// Never empty.
    pub addrs: Vec<SocketAddr>,
}

impl Resolved {
    /// The address a run connects to: the first IPv4 one, as wrk's
    /// getaddrinfo order usually gives on load boxes, else the first.
    pub fn chosen(&self) -> SocketAddr {
        let v4 = self.addrs.iter().find(|a| a.is_ipv4());
        *v4.unwrap_or(&self.addrs[0])
    }
}

/// Look `u`'s host up: every address it has.
pub fn lookup(u: &Url) -> Result<Resolved, Error> {
    let cannot =
        |why: String| Error::Unreachable(format!("cannot resolve host '{}': {why}", u.host));
    let addrs: Vec<SocketAddr> = (u.host.as_str(), u.port)
        .to_socket_addrs()
        .map_err(|e| cannot(e.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(cannot("no addresses".into()));
    }
    Ok(Resolved {
        host: u.host.clone(),
        port: u.port,
        addrs,
    })
}

/// The address a run on `u` connects to: `pinned`'s, when the caller
/// already looked the host up (and checked what it found), else one
/// lookup's.
pub fn resolve(u: &Url, pinned: Option<&Resolved>) -> Result<SocketAddr, Error> {
    match pinned {
        None => Ok(lookup(u)?.chosen()),
        Some(p) if (p.host.as_str(), p.port) == (u.host.as_str(), u.port) => Ok(p.chosen()),
        // A second lookup here could answer differently: refuse instead.
        Some(p) => Err(usage(format!(
            "the run's target {}:{} is not the host that was checked ({}:{})",
            u.host, u.port, p.host, p.port
        ))),
    }
}

/// `%XX` decoded in a URL component (path, userinfo), as Go's `url.User`
/// and RFC 3986 read it: `+` stays a plus.
pub fn percent_decode(s: &str) -> String {
    decode(s, b'+')
}

/// `%XX` decoded in a form-encoded query value
/// (`application/x-www-form-urlencoded`, as `URLSearchParams` reads it):
/// `+` is a space.
pub fn form_decode(s: &str) -> String {
    decode(s, b' ')
}

/// `%XX` as its byte, `plus` for `+`; a `%` not followed by two hex digits
/// is kept as written; invalid UTF-8 becomes U+FFFD.
fn decode(s: &str, plus: u8) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(plus),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plus_is_a_plus_in_a_url_and_a_space_in_a_form() {
        assert_eq!(percent_decode("a+b%2Bc%20d"), "a+b+c d");
        assert_eq!(form_decode("a+b%2Bc%20d"), "a b+c d");
    }

    #[test]
    fn escapes_decode_and_broken_ones_stay() {
        for d in [percent_decode, form_decode] {
            assert_eq!(d("us%40r%3ap%3Aw"), "us@r:p:w");
            assert_eq!(d("50%"), "50%");
            assert_eq!(d("%4"), "%4");
            assert_eq!(d("%zz%41"), "%zzA");
            assert_eq!(d("%41"), "A");
            assert_eq!(d("%C3%A9"), "\u{e9}");
            assert_eq!(d("%FF"), "\u{fffd}");
        }
    }

    #[test]
    fn urls() {
        let u = parse_url("http://svc:8080/predict?x=1#frag").unwrap();
        assert_eq!(
            u,
            Url {
                tls: false,
                host: "svc".into(),
                port: 8080,
                target: "/predict?x=1".into()
            }
        );
        assert_eq!(u.host_header(), "svc:8080");
        let u = parse_url("HTTP://example.com").unwrap();
        assert_eq!(
            (u.port, u.target.as_str(), u.host_header()),
            (80, "/", "example.com".to_string())
        );
        let u = parse_url("http://[::1]:9000?q").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("::1", 9000, "/?q")
        );
        assert_eq!(u.host_header(), "[::1]:9000");
        let u = parse_url("https://svc/").unwrap();
        assert_eq!((u.tls, u.port, u.host_header()), (true, 443, "svc".into()));
        let u = parse_url("https://svc:80/").unwrap();
        assert_eq!(u.host_header(), "svc:80");
        for bad in [
            "svc:8080",
            "ftp://x/",
            "wss://x/",
            "http://:80/",
            "http://x:0/",
            "http://x:99999/",
            "http://x/a b",
            "http://u:p@x/",
        ] {
            let e = parse_url(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn a_pinned_lookup_is_used_as_it_is_and_only_for_its_host() {
        let u = parse_url("http://svc:8080/").unwrap();
        let at = |s: &str| s.parse::<SocketAddr>().unwrap();
        let pinned = Resolved {
            host: "svc".into(),
            port: 8080,
            addrs: vec![
                at("[fd00::1]:8080"),
                at("10.0.0.7:8080"),
                at("10.0.0.8:8080"),
            ],
        };
        assert_eq!(resolve(&u, Some(&pinned)).unwrap(), at("10.0.0.7:8080"));
        let v6 = Resolved {
            addrs: vec![at("[fd00::1]:8080")],
            ..pinned.clone()
        };
        assert_eq!(resolve(&u, Some(&v6)).unwrap(), at("[fd00::1]:8080"));
        let other = parse_url("http://svc:8081/").unwrap();
        assert_eq!(resolve(&other, Some(&pinned)).unwrap_err().exit_code(), 2);
        let local = parse_url("http://127.0.0.1:9/").unwrap();
        assert_eq!(resolve(&local, None).unwrap(), at("127.0.0.1:9"));
        assert_eq!(lookup(&local).unwrap().addrs, [at("127.0.0.1:9")]);
    }
}
