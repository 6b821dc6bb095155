//! A virtual user's cookie jar (`cookies = true`, `--cookies`): RFC 6265's
//! basics, for one lane talking to one origin.
//!
//! What is kept: name and value, Path (the default-path rule of §5.1.4 when
//! absent or not absolute), and expiry (Max-Age, which wins, else Expires;
//! `Max-Age<=0` or an Expires in the past deletes the cookie). What is not:
//! Domain, since a jar serves a single origin; Secure and HttpOnly, which
//! guard browsers' scripts and schemes, neither of which a lane has; SameSite.
//! Set-Cookie is parsed by §5.2's lenient algorithm (a line without `=` in its
//! first pair is ignored, an unparsable attribute is skipped) and Expires by
//! §5.1.1's date algorithm, which reads IMF-fixdate, RFC 850 and asctime dates
//! alike. This is a few dozen lines, so the `cookie` crate (and the `time`
//! crate features it would bring) did not earn a place.
//!
//! Expiry is held as an `Instant`, like every other time in blast; an Expires
//! date is placed on that clock once, when it is stored. Cookies are kept in
//! the order §5.4 sends them (longer paths first, then oldest first), so
//! writing the Cookie header is one pass that does not allocate.
//!
//! The jar is bounded as §6.1 lets a user agent bound it, since the target
//! may be hostile: a cookie whose name and value take over `MAX_COOKIE_BYTES`
//! is ignored, and past `MAX_COOKIES` the oldest one is evicted, so neither
//! the jar nor the Cookie header grows without end.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// §6.1's minimum a user agent supports per cookie (name and value here).
pub const MAX_COOKIE_BYTES: usize = 4096;
/// §6.1's minimum per domain; a jar serves one origin.
pub const MAX_COOKIES: usize = 50;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Cookie {
    name: String,
    value: String,
    path: String,
    /// None: until the jar is cleared (a session cookie).
    expires: Option<Instant>,
    /// When it was first stored, in the jar's count: the oldest goes first.
    born: u64,
}

/// One lane's cookies.
#[derive(Clone, Debug, Default)]
pub struct Jar {
    cookies: Vec<Cookie>,
    /// Cookies stored so far: the next one's `born`.
    stored: u64,
}

impl Jar {
    pub fn new() -> Jar {
        Jar::default()
    }

    pub fn len(&self) -> usize {
        self.cookies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// A new sequence run begins on this lane: forget everything.
    pub fn clear(&mut self) {
        self.cookies.clear();
    }

    /// Keep what one `Set-Cookie` value says, for a response to a request
    /// for `request_path` (query allowed) received at `now`.
    pub fn store(&mut self, set_cookie: &str, request_path: &str, now: Instant) {
        self.store_at(set_cookie, request_path, now, SystemTime::now());
    }

    /// `store` with the wall clock given (Expires is a wall-clock date).
    pub fn store_at(
        &mut self,
        set_cookie: &str,
        request_path: &str,
        now: Instant,
        wall: SystemTime,
    ) {
        let mut attrs = set_cookie.split(';');
        let Some((name, value)) = attrs.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() || name.len() + value.len() > MAX_COOKIE_BYTES {
            return;
        }
        let mut path = None;
        let mut max_age: Option<i64> = None;
        let mut expires: Option<SystemTime> = None;
        for a in attrs {
            let (k, v) = a.split_once('=').unwrap_or((a, ""));
            let (k, v) = (k.trim(), v.trim());
            if k.eq_ignore_ascii_case("path") {
                path = v.starts_with('/').then(|| v.to_string());
            } else if k.eq_ignore_ascii_case("max-age") {
                max_age = parse_max_age(v).or(max_age);
            } else if k.eq_ignore_ascii_case("expires") {
                expires = parse_date(v).or(expires);
            }
        }
        // Max-Age wins over Expires (§5.3 step 3).
        let expiry = match (max_age, expires) {
            (Some(s), _) if s <= 0 => Expiry::Gone,
            (Some(s), _) => Expiry::At(now.checked_add(Duration::from_secs(s as u64))),
            (None, Some(t)) => match t.duration_since(wall) {
                Ok(d) if !d.is_zero() => Expiry::At(now.checked_add(d)),
                _ => Expiry::Gone,
            },
            (None, None) => Expiry::At(None),
        };
        let path = path.unwrap_or_else(|| default_path(request_path).to_string());
        let Expiry::At(expires) = expiry else {
            self.cookies.retain(|c| !(c.name == name && c.path == path));
            return;
        };
        self.cookies.retain(|c| c.expires.is_none_or(|t| t > now));
        let old = self
            .cookies
            .iter()
            .position(|c| c.name == name && c.path == path);
        if let Some(i) = old {
            // A replaced cookie keeps its creation time, so its place (§5.3 step 11).
            let c = &mut self.cookies[i];
            c.value = value.to_string();
            c.expires = expires;
            return;
        }
        if self.cookies.len() >= MAX_COOKIES {
            let oldest = (0..self.cookies.len()).min_by_key(|&i| self.cookies[i].born);
            if let Some(i) = oldest {
                self.cookies.remove(i);
            }
        }
        let at = self
            .cookies
            .iter()
            .position(|c| c.path.len() < path.len())
            .unwrap_or(self.cookies.len());
        self.stored += 1;
        self.cookies.insert(
            at,
            Cookie {
                name: name.to_string(),
                value: value.to_string(),
                path,
                expires,
                born: self.stored,
            },
        );
    }

    /// Append `Cookie: a=b; c=d\r\n` with the cookies that apply to a
    /// request for `path` at `now`; false (nothing written) when none does.
    pub fn header_into(&self, path: &str, now: Instant, out: &mut Vec<u8>) -> bool {
        let start = out.len();
        out.extend_from_slice(b"Cookie: ");
        if !self.value_into(path, now, out) {
            out.truncate(start);
            return false;
        }
        out.extend_from_slice(b"\r\n");
        true
    }

    /// The header's value alone, `a=b; c=d` (for HTTP/2's header field).
    pub fn value_into(&self, path: &str, now: Instant, out: &mut Vec<u8>) -> bool {
        let path = path.split(['?', '#']).next().unwrap_or("");
        let mut any = false;
        for c in &self.cookies {
            if c.expires.is_some_and(|t| t <= now) || !path_matches(&c.path, path) {
                continue;
            }
            if any {
                out.extend_from_slice(b"; ");
            }
            out.extend_from_slice(c.name.as_bytes());
            out.push(b'=');
            out.extend_from_slice(c.value.as_bytes());
            any = true;
        }
        any
    }
}

enum Expiry {
    Gone,
    /// None: no expiry, or one too far away to hold.
    At(Option<Instant>),
}

/// §5.2.2: an optional `-` and digits only; anything else is ignored.
fn parse_max_age(v: &str) -> Option<i64> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        v.parse::<i64>()
            .unwrap_or(if v.starts_with('-') { -1 } else { i64::MAX }),
    )
}

/// §5.1.4: the directory of the request's path.
fn default_path(request_path: &str) -> &str {
    let p = request_path.split(['?', '#']).next().unwrap_or("");
    if !p.starts_with('/') {
        return "/";
    }
    match p.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &p[..i],
    }
}

/// §5.1.4: `/docs` matches `/docs`, `/docs/` and `/docs/x`, not `/docsx`.
fn path_matches(cookie_path: &str, path: &str) -> bool {
    let path = if path.is_empty() { "/" } else { path };
    match path.strip_prefix(cookie_path) {
        Some(rest) => rest.is_empty() || cookie_path.ends_with('/') || rest.starts_with('/'),
        None => false,
    }
}

/// §5.1.1's cookie-date: the first time, day, month and year tokens found,
/// in any order; None when one is missing or out of range.
fn parse_date(s: &str) -> Option<SystemTime> {
    let delim = |c: char| matches!(c, '\t' | ' '..='/' | ';'..='@' | '['..='`' | '{'..='~');
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    for tok in s.split(delim).filter(|t| !t.is_empty()) {
        if time.is_none() {
            if let Some(t) = time_token(tok) {
                time = Some(t);
                continue;
            }
        }
        if day.is_none() {
            if let Some(d) = digits(tok, 1, 2) {
                day = Some(d);
                continue;
            }
        }
        if month.is_none() {
            if let Some(m) = month_of(tok) {
                month = Some(m);
                continue;
            }
        }
        if year.is_none() {
            if let Some(y) = digits(tok, 2, 4) {
                year = Some(y);
            }
        }
    }
    let (h, mi, sec) = time?;
    let (day, month, mut year) = (day?, month?, year?);
    year += match year {
        70..=99 => 1900,
        0..=69 => 2000,
        _ => 0,
    };
    if !(1..=31).contains(&day) || year < 1601 || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + h * 3600 + mi * 60 + sec;
    if secs < 0 {
        return Some(UNIX_EPOCH);
    }
    UNIX_EPOCH.checked_add(Duration::from_secs(secs as u64))
}

/// `hh:mm:ss` (1 or 2 digits each), anything after the seconds' digits ignored.
fn time_token(tok: &str) -> Option<(i64, i64, i64)> {
    let mut it = tok.splitn(3, ':');
    let (h, m, rest) = (it.next()?, it.next()?, it.next()?);
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    Some((
        digits(h, 1, 2)?,
        digits(m, 1, 2)?,
        digits(&rest[..end], 1, 2)?,
    ))
}

/// `min..=max` leading digits, then no further digit.
fn digits(tok: &str, min: usize, max: usize) -> Option<i64> {
    let n = tok.find(|c: char| !c.is_ascii_digit()).unwrap_or(tok.len());
    (min..=max).contains(&n).then(|| tok[..n].parse().ok())?
}

fn month_of(tok: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let m = tok.get(..3)?;
    let i = MONTHS.iter().position(|n| n.eq_ignore_ascii_case(m))?;
    Some(i as i64 + 1)
}

/// Days from 1970-01-01 (Howard Hinnant's days_from_civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

#[cfg(test)]
#[path = "cookie_tests.rs"]
mod tests;
