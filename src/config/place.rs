//! Where a request goes, settled before it is encoded: the run's one
//! origin (see `plan`), its origin-form target, and `user:password@` in a
//! URL turned into an Authorization header as Go's URL.User is.

use super::plan::{Common, Placed, ReqSpec, Target};
use super::url::{parse_url, percent_decode, Url};
use crate::error::{usage, Error};
use base64::Engine as _;

/// Settle where `s` goes: its origin-form target (still a template) and its
/// headers with `user:password@` turned into Authorization.
pub(super) fn place<'a>(
    s: &'a ReqSpec,
    c: &Common,
    origin: &mut Option<(Url, String)>,
) -> Result<Placed<'a>, Error> {
    // -H first, unless the request has its own of that name.
    let mut headers: Vec<(String, String)> = c
        .headers
        .iter()
        .filter(|h| {
            !s.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(&h.name))
        })
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    headers.extend(s.headers.iter().cloned());
    let target = match &s.target {
        Target::Exact(t) => t.clone(),
        Target::Path(p) => join(c.url.map_or("/", |u| u.target.as_str()), p),
        Target::Url(raw) => {
            let (bare, user) = split_userinfo(raw);
            let u = parse_url(&bare).map_err(|e| usage(format!("{}: {e}", s.at)))?;
            if let Some(user) = user {
                if !headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
                {
                    headers.push(("Authorization".into(), basic_auth(&user)));
                }
            }
            match origin {
                None => *origin = Some((u.clone(), s.at.clone())),
                // The command line's URL aims every request.
                Some((_, first)) if first.is_empty() => {}
                Some((o, first)) => {
                    if (o.tls, &o.host, o.port) != (u.tls, &u.host, u.port) {
                        return Err(usage(format!(
                            "{}: {bare} is not on the origin of {first} ({}): a run speaks to one origin; give a URL on the command line to aim every request at it",
                            s.at,
                            origin_of(o)
                        )));
                    }
                }
            }
            u.target
        }
    };
    Ok(Placed {
        spec: s,
        target,
        headers,
    })
}

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
