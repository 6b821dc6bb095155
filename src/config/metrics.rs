//! The live-metrics flags of a run (`--metrics-listen`, `--metrics-token`,
//! `--metrics-linger`, `--prometheus-remote-write`, `--prometheus-header`)
//! and their checks. The listener follows `blast serve`'s rule: loopback
//! unless a token guards it, since an open `/metrics` tells anyone what is
//! being tested and how it fares. Remote write speaks plain HTTP/1.1 to a
//! receiver resolved once, here, so a bad URL is exit 2 before the run.

use super::values::parse_duration;
use crate::error::{usage, Error};
use clap::Args;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

#[derive(Args, Debug, Clone, Default)]
pub struct MetricsArgs {
    /// Serve Prometheus metrics at http://ADDR/metrics while the run goes on; beyond loopback
    /// only with --metrics-token
    #[arg(id = "metrics_listen", long = "metrics-listen", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Bearer token the /metrics scraper must send (Authorization: Bearer T)
    #[arg(id = "metrics_token", long = "metrics-token", value_name = "T")]
    pub token: Option<String>,
    /// Keep serving the final values this long after the run, for the last scrape
    #[arg(id = "metrics_linger", long = "metrics-linger", value_name = "D", value_parser = parse_duration)]
    pub linger: Option<Duration>,
    /// Push the metrics every second with Prometheus remote write 1.0 to URL (http://)
    #[arg(
        id = "prometheus_remote_write",
        long = "prometheus-remote-write",
        value_name = "URL"
    )]
    pub remote_write: Option<String>,
    /// Header for the remote-write requests, 'Name: value' (repeatable), e.g. for auth
    #[arg(id = "prometheus_header", long = "prometheus-header", value_name = "H")]
    pub headers: Vec<String>,
}

/// A remote-write receiver, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteWrite {
    /// As given, for messages.
    pub url: String,
    pub addr: SocketAddr,
    /// The Host header's value.
    pub host: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

/// The live metrics asked for (all None: none).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    pub listen: Option<SocketAddr>,
    pub token: Option<String>,
    pub linger: Duration,
    pub remote: Option<RemoteWrite>,
}

impl Metrics {
    pub fn from_args(a: &MetricsArgs) -> Result<Metrics, Error> {
        let token = match a.token.as_deref().map(str::trim) {
            Some("") => return Err(usage("--metrics-token is empty")),
            t => t.map(str::to_string),
        };
        if let Some(addr) = a.listen {
            if !addr.ip().is_loopback() && token.is_none() {
                return Err(usage(format!(
                    "--metrics-listen {addr}: beyond loopback the metrics need --metrics-token T, \
                     since an open /metrics shows anyone the test"
                )));
            }
        }
        if a.listen.is_none() && a.linger.is_some() {
            return Err(usage("--metrics-linger needs --metrics-listen"));
        }
        if a.remote_write.is_none() && !a.headers.is_empty() {
            return Err(usage("--prometheus-header needs --prometheus-remote-write"));
        }
        let remote = match &a.remote_write {
            None => None,
            Some(url) => Some(remote_write(url, &a.headers)?),
        };
        Ok(Metrics {
            listen: a.listen,
            token,
            linger: a.linger.unwrap_or_default(),
            remote,
        })
    }
}

fn remote_write(url: &str, headers: &[String]) -> Result<RemoteWrite, Error> {
    let bad = |why: &str| usage(format!("--prometheus-remote-write '{url}': {why}"));
    let uri: http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => return Err(bad("https is not supported: give an http:// receiver")),
        _ => return Err(bad("give an http:// URL")),
    }
    let host = uri.host().ok_or_else(|| bad("no host"))?;
    let port = uri.port_u16().unwrap_or(80);
    let addr = (host.trim_matches(['[', ']']), port)
        .to_socket_addrs()
        .map_err(|e| bad(&format!("cannot resolve {host}: {e}")))?
        .next()
        .ok_or_else(|| bad(&format!("{host} has no address")))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let headers = headers
        .iter()
        .map(|h| header(h))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RemoteWrite {
        url: url.to_string(),
        addr,
        host: uri.authority().map_or(host, |a| a.as_str()).to_string(),
        path,
        headers,
    })
}

/// `Name: value`, checked as `-H` is: a token name, a value without a line break.
fn header(h: &str) -> Result<(String, String), Error> {
    let bad = |why: &str| usage(format!("--prometheus-header '{h}': {why}"));
    let (name, value) = h.split_once(':').ok_or_else(|| bad("give 'Name: value'"))?;
    let name = name.trim();
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(bad("the name is not a header name"));
    }
    let value = value.trim();
    if value.contains(['\r', '\n']) || http::HeaderValue::from_str(value).is_err() {
        return Err(bad("the value is not a header value"));
    }
    Ok((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(listen: &str, token: Option<&str>) -> Result<Metrics, Error> {
        Metrics::from_args(&MetricsArgs {
            listen: Some(listen.parse().unwrap()),
            token: token.map(str::to_string),
            ..Default::default()
        })
    }

    #[test]
    fn beyond_loopback_needs_a_token() {
        let e = parse("0.0.0.0:9100", None).unwrap_err().to_string();
        assert!(e.contains("--metrics-listen 0.0.0.0:9100"), "{e}");
        assert!(parse("0.0.0.0:9100", Some("t")).is_ok());
        assert!(parse("127.0.0.1:0", None).is_ok());
        assert!(parse("[::1]:0", None).is_ok());
        assert!(parse("127.0.0.1:0", Some(" ")).is_err());
    }

    #[test]
    fn remote_write_url_and_headers() {
        let m = Metrics::from_args(&MetricsArgs {
            remote_write: Some("http://127.0.0.1:9090/api/v1/write".into()),
            headers: vec!["Authorization: Bearer x".into()],
            ..Default::default()
        })
        .unwrap();
        let r = m.remote.unwrap();
        assert_eq!(
            (r.host.as_str(), r.path.as_str()),
            ("127.0.0.1:9090", "/api/v1/write")
        );
        assert_eq!(r.headers, [("Authorization".into(), "Bearer x".into())]);
        for (url, h) in [
            ("https://127.0.0.1/", "A: b"),
            ("ftp://x/", "A: b"),
            ("http://127.0.0.1/", "no colon"),
            ("http://127.0.0.1/", "bad name: b"),
        ] {
            let e = Metrics::from_args(&MetricsArgs {
                remote_write: Some(url.into()),
                headers: vec![h.into()],
                ..Default::default()
            });
            assert!(e.is_err(), "{url} {h}");
        }
    }
}
