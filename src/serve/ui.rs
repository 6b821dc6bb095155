//! The web UI: one page at `/`, with its script inlined from the files in
//! `ui/` (`include_str!`), so the binary serves it alone: no CDN, no build
//! step, nothing fetched but the API. Being one request also makes it one
//! thing to authorize.
//!
//! A browser cannot put `Authorization: Bearer` on a page it navigates to,
//! so with a token the page is also served for `/?token=TOKEN` (compared in
//! constant time, as the header is). The page keeps the token in
//! sessionStorage, takes it out of the address bar, and sends it in the
//! header on every API call; the API itself takes only the header. Without
//! the token, `/` answers 401 with a small page that asks for it (and that
//! reopens the UI on a reload, from the token the tab kept). No cookie is
//! set, so another site's page cannot make the browser call the API.

use super::token::same;
use crate::config::url::form_decode;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};
use std::convert::Infallible;

const INDEX: &str = include_str!("ui/index.html");
const CHART: &str = include_str!("ui/chart.js");
const APP: &str = include_str!("ui/app.js");
const LOGIN: &str = include_str!("ui/login.html");

/// Scripts and styles are inline; the page may talk to this server only.
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; \
    style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data: blob:; \
    frame-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page with its scripts in place.
pub fn page() -> String {
    INDEX.replacen("/*SCRIPT*/", &format!("{CHART}\n{APP}"), 1)
}

/// `GET /`: the UI, or the 401 page when a token is set and neither the
/// header (`bearer`) nor `?token=` in `query` holds it.
pub fn serve(
    token: Option<&str>,
    bearer: &str,
    query: &str,
) -> Response<BoxBody<Bytes, Infallible>> {
    let allowed = match token {
        None => true,
        Some(t) => {
            let given = query_token(query);
            same(bearer.as_bytes(), t.as_bytes())
                || given.is_some_and(|g| same(g.as_bytes(), t.as_bytes()))
        }
    };
    let (status, text) = if allowed {
        (StatusCode::OK, page())
    } else {
        (StatusCode::UNAUTHORIZED, LOGIN.to_string())
    };
    let mut r = Response::new(Full::new(Bytes::from(text)).boxed());
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    // The token may be in the address: never send it on.
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if !allowed {
        h.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

/// The value of `token=` in a query string, decoded as a form field is
/// (`+` is a space): the page's script reads the same `?token=` with
/// `URLSearchParams`, which does so, and both must see one token.
fn query_token(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(form_decode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_out_of_the_query_decoded() {
        assert_eq!(query_token("a=1&token=s%2Fe+c%3dr"), Some("s/e c=r".into()));
        assert_eq!(query_token("token=abc"), Some("abc".into()));
        assert_eq!(query_token("token=50%"), Some("50%".into()));
        assert_eq!(query_token("tokens=abc"), None);
    }

    #[test]
    fn the_page_holds_its_scripts_and_nothing_external() {
        let p = page();
        assert!(!p.contains("/*SCRIPT*/"));
        assert!(p.contains("function drawChart"));
        assert!(p.contains("function follow"));
        assert!(!p.contains("src=\"http") && !p.contains("href=\"http"));
        for f in [INDEX, CHART, APP, LOGIN] {
            assert!(f.lines().count() < 600);
        }
    }
}
