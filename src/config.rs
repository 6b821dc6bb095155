//! Validated, immutable run configuration. Every check on the user's input
//! happens here, before a thread starts (ripgrep's LowArgs -> HiArgs): the
//! URL, the flags that depend on each other, the body sources. The request is
//! encoded here, once.

use crate::cli::RunArgs;
use crate::error::{usage, Error};
use crate::request::{self, FormPart, Header, RequestSpec};
use crate::slo::Slo;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Uring,
    Epoll,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Uring => "uring",
            Engine::Epoll => "epoll",
        }
    }
}

/// A parsed `http://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    /// Origin-form request target (path and query), never empty.
    pub target: String,
}

impl Url {
    /// The Host header value: host, plus the port when it is not 80.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub url: String,
    pub parsed: Url,
    pub addr: SocketAddr,
    pub connections: u64,
    pub threads: u64,
    pub duration: Option<Duration>,
    pub requests: Option<u64>,
    /// Open-loop rate, requests/s over all threads (`-R`).
    pub rate: Option<f64>,
    pub ramp_up: Duration,
    pub slo: Option<Slo>,
    /// Report files: `--csv PREFIX`, `--html FILE`, `--hlog FILE`.
    pub csv: Option<String>,
    pub html: Option<String>,
    pub hlog: Option<String>,
    /// `--start-at`: wait for this wall-clock time before starting.
    pub start_at: Option<std::time::SystemTime>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub warmup: Duration,
    pub method: String,
    /// The encoded request every connection writes.
    pub request: Vec<u8>,
    pub head_request: bool,
    pub keepalive: bool,
    pub engine: Engine,
    pub latency: bool,
    pub json: bool,
    pub progress: bool,
    /// One-line notices for stderr (lowered -t, engine fallback).
    pub notices: Vec<String>,
}

impl Config {
    /// Validate raw flags. `uring_probe` says whether io_uring can run here
    /// (a parameter so tests can exercise both answers).
    pub fn from_args(
        a: &RunArgs,
        uring_probe: impl FnOnce() -> Result<(), String>,
    ) -> Result<Config, Error> {
        let raw_url = a
            .pool
            .url
            .as_deref()
            .ok_or_else(|| usage("no URL given: blast [OPTIONS] <URL> (or set BLAST_URL)"))?;
        let parsed = parse_url(raw_url)?;
        let mut notices = Vec::new();

        let connections = a.pool.connections;
        let mut threads = match a.pool.threads {
            Some(t) => t,
            None => std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
        };
        if threads > connections {
            if a.pool.threads.is_some() {
                notices.push(format!(
                    "-t {threads} is more than -c {connections}: using {connections} threads"
                ));
            }
            threads = connections;
        }
        if threads > 4096 {
            return Err(usage(format!("-t {threads}: at most 4096 threads")));
        }
        let duration = match (a.load.duration, a.load.requests) {
            (Some(d), _) => Some(d),
            (None, Some(_)) => None,
            (None, None) => Some(Duration::from_secs(10)),
        };
        if duration.is_some_and(|d| d.is_zero()) {
            return Err(usage("-d must be longer than 0"));
        }
        if a.request.timeout.is_zero() {
            return Err(usage("--timeout must be longer than 0"));
        }
        if a.request.connect_timeout.is_zero() {
            return Err(usage("--connect-timeout must be longer than 0"));
        }

        let slo = a
            .request
            .slo
            .as_deref()
            .map(Slo::parse)
            .transpose()
            .map_err(usage)?;
        for (flag, path) in [
            ("--csv", &a.load.csv),
            ("--html", &a.request.html),
            ("--hlog", &a.load.hlog),
        ] {
            if let Some(p) = path {
                check_writable(flag, p)?;
            }
        }
        let start_at = match &a.load.start_at {
            None => None,
            Some(t) => {
                let at =
                    crate::cli::parse_start_at(t).map_err(|e| usage(format!("--start-at {e}")))?;
                let now = std::time::SystemTime::now();
                if at + Duration::from_secs(5) < now {
                    return Err(usage(format!("--start-at '{t}' is in the past")));
                }
                if at > now + Duration::from_secs(86_400) {
                    return Err(usage(format!("--start-at '{t}' is more than a day away")));
                }
                Some(at)
            }
        };
        if let (Some(r), Some(d)) = (a.load.ramp_up, duration) {
            if r > d {
                return Err(usage(format!(
                    "--ramp-up {}s is longer than -d {}s",
                    r.as_secs_f64(),
                    d.as_secs_f64()
                )));
            }
        }
        let headers = a
            .request
            .headers
            .iter()
            .map(|h| parse_header(h))
            .collect::<Result<Vec<_>, _>>()?;
        let (body, body_type) = load_body(a)?;
        let method = match &a.request.method {
            Some(m) => {
                if m.is_empty() || !m.bytes().all(is_token_byte) {
                    return Err(usage(format!("-m '{m}': not a valid HTTP method")));
                }
                m.clone()
            }
            None if !body.is_empty() || !a.request.form.is_empty() => "POST".to_string(),
            None => "GET".to_string(),
        };
        let spec = RequestSpec {
            method: method.clone(),
            target: parsed.target.clone(),
            host: parsed.host_header(),
            headers,
            body,
            body_type,
            close: a.request.no_keepalive,
        };
        let request = request::encode(&spec);

        let engine = match a.request.engine.as_str() {
            "epoll" => Engine::Epoll,
            "uring" => {
                uring_probe().map_err(|e| {
                    Error::EngineUnavailable(format!(
                        "--engine uring: io_uring is unavailable here ({e})"
                    ))
                })?;
                Engine::Uring
            }
            _ => match uring_probe() {
                Ok(()) => Engine::Uring,
                Err(e) => {
                    notices.push(format!(
                        "io_uring is unavailable ({e}): using the epoll engine"
                    ));
                    Engine::Epoll
                }
            },
        };

        let addr = resolve(&parsed)?;
        Ok(Config {
            url: raw_url.to_string(),
            head_request: method.eq_ignore_ascii_case("HEAD"),
            parsed,
            addr,
            connections,
            threads,
            duration,
            requests: a.load.requests,
            rate: a.load.rate,
            ramp_up: a.load.ramp_up.unwrap_or(Duration::ZERO),
            slo,
            csv: a.load.csv.clone(),
            html: a.request.html.clone(),
            hlog: a.load.hlog.clone(),
            start_at,
            timeout: a.request.timeout,
            connect_timeout: a.request.connect_timeout,
            warmup: a.load.warmup.unwrap_or(Duration::ZERO),
            method,
            request,
            keepalive: !a.request.no_keepalive,
            engine,
            latency: a.request.latency,
            json: a.request.json,
            progress: !a.request.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            notices,
        })
    }

    /// Connections of worker `i`: the remainder goes to the first workers.
    pub fn connections_of(&self, i: u64) -> u64 {
        split(self.connections, self.threads, i)
    }

    /// Share of `-n` for worker `i`.
    pub fn requests_of(&self, i: u64) -> Option<u64> {
        self.requests.map(|n| split(n, self.threads, i))
    }
}

/// `blast find`: the run settings plus the search's own.
#[derive(Clone, Debug)]
pub struct FindConfig {
    pub run: Config,
    pub slo: Slo,
    pub start: f64,
    pub max: f64,
    pub step: Duration,
    pub precision: f64,
}

impl FindConfig {
    pub fn from_args(
        a: &crate::cli::FindArgs,
        uring_probe: impl FnOnce() -> Result<(), String>,
    ) -> Result<FindConfig, Error> {
        let args = crate::cli::RunArgs {
            pool: a.pool.clone(),
            // Rate, length and per-run outputs are the search's to choose.
            load: crate::cli::LoadArgs::default(),
            request: a.request.clone(),
        };
        let run = Config::from_args(&args, uring_probe)?;
        let slo = run
            .slo
            .clone()
            .ok_or_else(|| usage("blast find needs --slo, e.g. --slo \"p99<50ms,errors<1%\""))?;
        if a.max < a.start {
            return Err(usage(format!(
                "blast find: --max {} is below --start {}",
                a.max, a.start
            )));
        }
        if a.step_duration < Duration::from_millis(200) {
            return Err(usage("blast find: --step-duration must be at least 200ms"));
        }
        Ok(FindConfig {
            run,
            slo,
            start: a.start,
            max: a.max,
            step: a.step_duration,
            precision: a.precision,
        })
    }
}

/// `total / parts`, plus one for the first `total % parts` parts.
pub fn split(total: u64, parts: u64, i: u64) -> u64 {
    total / parts + u64::from(i < total % parts)
}

/// Parse `http://host[:port][/path][?query]`.
pub fn parse_url(raw: &str) -> Result<Url, Error> {
    let bad = |why: &str| usage(format!("invalid URL '{raw}': {why}"));
    let s = raw.trim();
    let (scheme, rest) = s
        .split_once("://")
        .ok_or_else(|| bad("no scheme (expected http://host[:port]/path)"))?;
    match scheme.to_ascii_lowercase().as_str() {
        "http" => {}
        "https" => {
            return Err(bad(
                "https is not supported yet (TLS comes in a later release); use http://",
            ))
        }
        _ => return Err(bad(&format!("unsupported scheme '{scheme}' (use http://)"))),
    }
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
    Ok(Url { host, port, target })
}

fn resolve(u: &Url) -> Result<SocketAddr, Error> {
    let addrs = (u.host.as_str(), u.port)
        .to_socket_addrs()
        .map_err(|e| Error::Unreachable(format!("cannot resolve host '{}': {e}", u.host)))?;
    let all: Vec<SocketAddr> = addrs.collect();
    // Prefer IPv4, as wrk's getaddrinfo order usually does on load boxes.
    all.iter()
        .find(|a| a.is_ipv4())
        .or(all.first())
        .copied()
        .ok_or_else(|| {
            Error::Unreachable(format!("cannot resolve host '{}': no addresses", u.host))
        })
}

/// A report file must be creatable before the run, so that nothing measured
/// is lost to a typo in its path. For `--csv` the path is a prefix.
fn check_writable(flag: &str, path: &str) -> Result<(), Error> {
    let p = std::path::Path::new(path);
    if path.is_empty() || p.is_dir() {
        return Err(usage(format!("{flag} '{path}': not a file name")));
    }
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        return Err(usage(format!(
            "{flag} '{path}': no directory {}",
            dir.display()
        )));
    }
    Ok(())
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn parse_header(h: &str) -> Result<Header, Error> {
    let (name, value) = h
        .split_once(':')
        .ok_or_else(|| usage(format!("-H '{h}': expected \"Name: value\"")))?;
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(usage(format!("-H '{h}': invalid header name '{name}'")));
    }
    let value = value.trim();
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(usage(format!(
            "-H '{name}': the value contains CR, LF or NUL"
        )));
    }
    Ok(Header {
        name: name.to_string(),
        value: value.to_string(),
    })
}

/// The body and its inferred Content-Type, from -b, --body-file or -F.
fn load_body(a: &RunArgs) -> Result<(Vec<u8>, Option<String>), Error> {
    let sources = [
        a.request.body.is_some(),
        a.request.body_file.is_some(),
        !a.request.form.is_empty(),
    ];
    if sources.iter().filter(|&&s| s).count() > 1 {
        return Err(usage(
            "-b, --body-file (BLAST_PAYLOAD) and -F: give only one body source",
        ));
    }
    if let Some(b) = &a.request.body {
        let bytes = b.as_bytes().to_vec();
        let t = request::content_type_for_inline(&bytes).to_string();
        return Ok((bytes, Some(t)));
    }
    if let Some(src) = &a.request.body_file {
        let data = if src.starts_with("http://") || src.starts_with("https://") {
            crate::fetch::get(src).map_err(|e| usage(format!("--body-file '{src}': {e}")))?
        } else {
            std::fs::read(src).map_err(|e| usage(format!("--body-file '{src}': {e}")))?
        };
        return Ok((data, Some(request::content_type_for_path(src).to_string())));
    }
    if !a.request.form.is_empty() {
        let parts = a
            .request
            .form
            .iter()
            .map(|f| parse_form(f))
            .collect::<Result<Vec<_>, _>>()?;
        let (body, ct) = request::encode_multipart(&parts);
        return Ok((body, Some(ct)));
    }
    Ok((Vec::new(), None))
}

fn parse_form(f: &str) -> Result<FormPart, Error> {
    let (name, value) = f
        .split_once('=')
        .ok_or_else(|| usage(format!("-F '{f}': expected name=value or name=@path")))?;
    if name.is_empty() {
        return Err(usage(format!("-F '{f}': empty field name")));
    }
    match value.strip_prefix('@') {
        Some(path) => {
            let data = std::fs::read(path).map_err(|e| usage(format!("-F '{f}': {path}: {e}")))?;
            let filename = std::path::Path::new(path)
                .file_name()
                .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned());
            Ok(FormPart::File {
                name: name.to_string(),
                filename,
                content_type: request::content_type_for_path(path).to_string(),
                data,
            })
        }
        None => Ok(FormPart::Text {
            name: name.to_string(),
            value: value.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn args(v: &[&str]) -> RunArgs {
        let mut all = vec!["blast"];
        all.extend_from_slice(v);
        Cli::try_parse_from(all).unwrap().run
    }

    fn ok() -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn urls() {
        let u = parse_url("http://svc:8080/predict?x=1#frag").unwrap();
        assert_eq!(
            u,
            Url {
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
        for bad in [
            "svc:8080",
            "ftp://x/",
            "https://x/",
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
    fn split_gives_remainder_to_first() {
        let parts: Vec<u64> = (0..3).map(|i| split(10, 3, i)).collect();
        assert_eq!(parts, vec![4, 3, 3]);
        assert_eq!(parts.iter().sum::<u64>(), 10);
    }

    #[test]
    fn threads_lowered_to_connections() {
        let c =
            Config::from_args(&args(&["-c", "2", "-t", "8", "http://127.0.0.1:1/"]), ok).unwrap();
        assert_eq!(c.threads, 2);
        assert_eq!(c.notices.len(), 1);
    }

    #[test]
    fn requests_without_duration_has_no_time_limit() {
        let c = Config::from_args(&args(&["-n", "5", "http://127.0.0.1:1/"]), ok).unwrap();
        assert_eq!(c.duration, None);
        let c = Config::from_args(&args(&["http://127.0.0.1:1/"]), ok).unwrap();
        assert_eq!(c.duration, Some(Duration::from_secs(10)));
    }

    #[test]
    fn engine_fallback_and_refusal() {
        let c = Config::from_args(&args(&["http://127.0.0.1:1/"]), || Err("EPERM".into())).unwrap();
        assert_eq!(c.engine, Engine::Epoll);
        assert!(c.notices[0].contains("epoll"));
        let e = Config::from_args(&args(&["--engine", "uring", "http://127.0.0.1:1/"]), || {
            Err("EPERM".into())
        })
        .unwrap_err();
        assert_eq!(e.exit_code(), 3);
    }

    #[test]
    fn bad_headers_and_bodies() {
        for (flags, needle) in [
            (
                &["-H", "NoColon", "http://127.0.0.1:1/"][..],
                "-H 'NoColon'",
            ),
            (
                &["-H", "Bad Name: x", "http://127.0.0.1:1/"][..],
                "invalid header name",
            ),
            (
                &["-b", "x", "-F", "a=b", "http://127.0.0.1:1/"][..],
                "only one body source",
            ),
            (
                &["--body-file", "/nonexistent/x.json", "http://127.0.0.1:1/"][..],
                "/nonexistent/x.json",
            ),
            (
                &["-F", "novalue", "http://127.0.0.1:1/"][..],
                "-F 'novalue'",
            ),
            (&["-m", "GE T", "http://127.0.0.1:1/"][..], "-m 'GE T'"),
        ] {
            let e = Config::from_args(&args(flags), ok).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(needle), "{e} lacks {needle}");
        }
    }

    #[test]
    fn rate_ramp_and_slo() {
        let c = Config::from_args(
            &args(&[
                "-R",
                "2k",
                "--ramp-up",
                "2s",
                "-d",
                "5s",
                "--slo",
                "p99<5ms",
                "http://127.0.0.1:1/",
            ]),
            ok,
        )
        .unwrap();
        assert_eq!(c.rate, Some(2000.0));
        assert_eq!(c.ramp_up, Duration::from_secs(2));
        assert_eq!(c.slo.unwrap().conditions.len(), 1);
        let e =
            Config::from_args(&args(&["--slo", "p42<1ms", "http://127.0.0.1:1/"]), ok).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("p42"), "{e}");
        let e = Config::from_args(
            &args(&["--ramp-up", "20s", "-d", "5s", "http://127.0.0.1:1/"]),
            ok,
        )
        .unwrap_err();
        assert!(e.to_string().contains("--ramp-up"), "{e}");
    }

    #[test]
    fn body_makes_post() {
        let c = Config::from_args(&args(&["-b", "{}", "http://127.0.0.1:1/"]), ok).unwrap();
        assert_eq!(c.method, "POST");
        let req = String::from_utf8(c.request).unwrap();
        assert!(req.starts_with("POST / HTTP/1.1\r\n"));
        assert!(req.contains("Content-Type: application/json\r\n"));
    }
}
