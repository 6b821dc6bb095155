//! The pieces of a request's URL that `plan` settles before encoding:
//! an origin as the reports show it, a relative path on the base URL, and
//! `user:password@` in a URL turned into an Authorization header as Go's
//! URL.User is.

use super::url::{percent_decode, Url};
use base64::Engine as _;

/// `scheme://host[:port]` of `u`.
pub fn origin_of(u: &Url) -> String {
    format!(
        "{}://{}",
        if u.tls { "https" } else { "http" },
        u.host_header()
    )
}

/// A relative path on the base URL's path, as Locust joins host and path:
/// `/api` + `/users` is `/api/users`.
pub(super) fn join(base: &str, path: &str) -> String {
    let base = base.split('?').next().unwrap_or("").trim_end_matches('/');
    let joined = if path.starts_with('/') || path.starts_with('?') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    };
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

/// `http://user:pass@host/x` -> (`http://host/x`, Some("user:pass")),
/// percent-decoded as Go's URL.User is.
pub fn split_userinfo(raw: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return (raw.to_string(), None);
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((user, host)) => (
            format!("{scheme}://{host}{tail}"),
            Some(percent_decode(user)),
        ),
        None => (raw.to_string(), None),
    }
}

/// `Basic base64(user:password)`, as Go's `SetBasicAuth` writes it.
pub(super) fn basic_auth(userinfo: &str) -> String {
    let pair = if userinfo.contains(':') {
        userinfo.to_string()
    } else {
        format!("{userinfo}:")
    };
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}
