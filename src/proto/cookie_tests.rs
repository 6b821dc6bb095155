use super::*;

/// A wall clock and a monotonic clock that agree: 2026-01-01T00:00:00Z.
fn clocks() -> (Instant, SystemTime) {
    (
        Instant::now(),
        UNIX_EPOCH + Duration::from_secs(1_767_225_600),
    )
}

fn header(j: &Jar, path: &str, now: Instant) -> String {
    let mut out = Vec::new();
    let wrote = j.header_into(path, now, &mut out);
    assert_eq!(wrote, !out.is_empty());
    String::from_utf8(out).unwrap()
}

#[test]
fn name_value_sent_back_in_order() {
    let (now, wall) = clocks();
    let mut j = Jar::new();
    j.store_at("sid=abc123; HttpOnly; Secure", "/login", now, wall);
    j.store_at(" theme = dark ; Path=/", "/login", now, wall);
    // sid's default path is "/" (the directory of /login).
    assert_eq!(header(&j, "/", now), "Cookie: sid=abc123; theme=dark\r\n");
    j.store_at("lang=en", "/a/b/c", now, wall);
    assert_eq!(
        header(&j, "/a/b/x", now),
        "Cookie: lang=en; sid=abc123; theme=dark\r\n"
    );
    let mut v = Vec::new();
    assert!(j.value_into("/a/bc", now, &mut v));
    assert_eq!(v, b"sid=abc123; theme=dark");
    // Nothing written when nothing applies; what was in `out` stays.
    let mut out = b"GET / HTTP/1.1\r\n".to_vec();
    assert!(!Jar::new().header_into("/", now, &mut out));
    assert_eq!(out, b"GET / HTTP/1.1\r\n");
}

#[test]
fn ignored_lines_and_values_kept_as_sent() {
    let (now, wall) = clocks();
    let mut j = Jar::new();
    for bad in ["novalue", "=x", " =x; Path=/", ""] {
        j.store_at(bad, "/", now, wall);
    }
    assert!(j.is_empty());
    j.store_at("a=; Path=/", "/", now, wall);
    j.store_at("b=\"q=1\"; Path=/", "/", now, wall);
    assert_eq!(header(&j, "/", now), "Cookie: a=; b=\"q=1\"\r\n");
}

#[test]
fn default_path_rule() {
    assert_eq!(default_path("/"), "/");
    assert_eq!(default_path(""), "/");
    assert_eq!(default_path("x"), "/");
    assert_eq!(default_path("/login"), "/");
    assert_eq!(default_path("/api/login"), "/api");
    assert_eq!(default_path("/api/v1/"), "/api/v1");
    assert_eq!(default_path("/api/login?next=/a/b"), "/api");
    // A Path attribute that is not absolute falls back to the default.
    let (now, wall) = clocks();
    let mut j = Jar::new();
    j.store_at("a=1; Path=relative", "/api/login", now, wall);
    j.store_at("b=1; Path=", "/api/login", now, wall);
    assert_eq!(header(&j, "/api", now), "Cookie: a=1; b=1\r\n");
    assert_eq!(header(&j, "/", now), "");
}

#[test]
fn path_matching() {
    assert!(path_matches("/", "/anything"));
    assert!(path_matches("/docs", "/docs"));
    assert!(path_matches("/docs", "/docs/"));
    assert!(path_matches("/docs", "/docs/web"));
    assert!(!path_matches("/docs", "/docsx"));
    assert!(!path_matches("/docs", "/"));
    assert!(path_matches("/docs/", "/docs/web"));
    assert!(!path_matches("/docs/", "/docs"));
    assert!(path_matches("/", ""));
    let (now, wall) = clocks();
    let mut j = Jar::new();
    j.store_at("d=1; Path=/docs", "/", now, wall);
    assert_eq!(header(&j, "/docs/a?x=/", now), "Cookie: d=1\r\n");
    assert_eq!(header(&j, "/docsx", now), "");
    assert_eq!(header(&j, "/other?p=/docs", now), "");
}

#[test]
fn same_name_and_path_replaces_keeping_its_place() {
    let (now, wall) = clocks();
    let mut j = Jar::new();
    j.store_at("a=1; Path=/", "/", now, wall);
    j.store_at("b=2; Path=/", "/", now, wall);
    j.store_at("a=3; Path=/", "/", now, wall);
    j.store_at("a=4; Path=/x", "/", now, wall);
    assert_eq!(j.len(), 3);
    assert_eq!(header(&j, "/x", now), "Cookie: a=4; a=3; b=2\r\n");
}

#[test]
fn max_age_expiry_and_deletion() {
    let (now, wall) = clocks();
    let mut j = Jar::new();
    j.store_at("s=1; Max-Age=10", "/", now, wall);
    assert_eq!(
        header(&j, "/", now + Duration::from_secs(9)),
        "Cookie: s=1\r\n"
    );
    assert_eq!(header(&j, "/", now + Duration::from_secs(10)), "");
    for del in ["s=; Max-Age=0", "s=; Max-Age=-1"] {
        j.store_at("s=1", "/", now, wall);
        j.store_at(del, "/", now, wall);
        assert!(j.is_empty(), "{del}");
    }
    // Only the cookie of that name and path goes.
    j.store_at("s=1; Path=/a", "/", now, wall);
    j.store_at("t=1", "/", now, wall);
    j.store_at("s=; Max-Age=0", "/", now, wall);
    assert_eq!(j.len(), 2);
    // An unparsable Max-Age is ignored; a huge one lasts.
    j.store_at("u=1; Max-Age=1x", "/", now, wall);
    j.store_at("v=1; Max-Age=99999999999999999999", "/", now, wall);
    let later = now + Duration::from_secs(86_400 * 365);
    assert_eq!(header(&j, "/", later), "Cookie: t=1; u=1; v=1\r\n");
    // Expired cookies are dropped as new ones arrive.
    j.store_at("w=1; Max-Age=1", "/", now, wall);
    j.store_at("x=1", "/", now + Duration::from_secs(2), wall);
    assert!(!header(&j, "/", now + Duration::from_secs(2)).contains("w=1"));
    assert_eq!(j.len(), 5);
}

#[test]
fn expires_dates_and_max_age_precedence() {
    let (now, wall) = clocks();
    let mut j = Jar::new();
    j.store_at("a=1; Expires=Thu, 01 Jan 2026 00:01:00 GMT", "/", now, wall);
    assert_eq!(
        header(&j, "/", now + Duration::from_secs(59)),
        "Cookie: a=1\r\n"
    );
    assert_eq!(header(&j, "/", now + Duration::from_secs(60)), "");
    j.store_at("a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "/", now, wall);
    assert!(j.is_empty());
    // Max-Age wins over Expires, whichever comes first.
    j.store_at(
        "b=1; Max-Age=100; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        "/",
        now,
        wall,
    );
    j.store_at(
        "c=1; Expires=Fri, 01 Jan 2100 00:00:00 GMT; Max-Age=0",
        "/",
        now,
        wall,
    );
    assert_eq!(header(&j, "/", now), "Cookie: b=1\r\n");
    // An unparsable date is ignored: a session cookie.
    j.store_at("d=1; Expires=tomorrow", "/", now, wall);
    assert_eq!(header(&j, "/", now), "Cookie: b=1; d=1\r\n");
}

#[test]
fn cookie_date_formats() {
    let t = |s: &str| parse_date(s).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs());
    let want = Some(784_111_777); // 1994-11-06T08:49:37Z
    assert_eq!(t("Sun, 06 Nov 1994 08:49:37 GMT"), want);
    assert_eq!(t("Sunday, 06-Nov-94 08:49:37 GMT"), want);
    assert_eq!(t("Sun Nov  6 08:49:37 1994"), want);
    assert_eq!(t("sun, 6 NOV 1994 8:49:37 gmt"), want);
    assert_eq!(t("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
    assert_eq!(t("Wed, 01 Jan 2025 00:00:00 GMT"), Some(1_735_689_600));
    assert_eq!(t("Tue, 29 Feb 2028 12:00:00 GMT"), Some(1_835_438_400));
    assert_eq!(
        t("Mon, 01 Jan 69 00:00:00 GMT"),
        Some(3_124_224_000),
        "69 is 2069"
    );
    for bad in [
        "",
        "Sun, 06 Nov 1994",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nox 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1600 08:49:37 GMT",
    ] {
        assert_eq!(t(bad), None, "{bad}");
    }
}

#[test]
fn clear_forgets_everything() {
    let (now, wall) = clocks();
    let mut j = Jar::new();
    j.store_at("a=1", "/", now, wall);
    j.store("b=2", "/", now);
    assert_eq!(j.len(), 2);
    j.clear();
    assert!(j.is_empty());
    assert_eq!(header(&j, "/", now), "");
}

/// A hostile target cannot grow the jar or the Cookie header without end:
/// past §6.1's 50 cookies the oldest goes, and one over 4096 bytes is
/// ignored.
#[test]
fn the_jar_is_bounded() {
    let (now, wall) = clocks();
    let mut j = Jar::new();
    for i in 0..10_000 {
        j.store_at(&format!("c{i}=v"), "/", now, wall);
    }
    assert_eq!(j.len(), MAX_COOKIES);
    let h = header(&j, "/", now);
    assert!(h.contains("c9999=v") && h.contains("c9950=v"), "{h}");
    assert!(!h.contains("c9949=v") && !h.contains("c0=v"), "{h}");
    // Replacing a kept cookie keeps its place and evicts nothing.
    j.store_at("c9950=w", "/", now, wall);
    assert_eq!(j.len(), MAX_COOKIES);
    assert!(header(&j, "/", now).contains("c9950=w"));
    let big = "x".repeat(MAX_COOKIE_BYTES);
    let mut j = Jar::new();
    j.store_at(&format!("b={big}"), "/", now, wall);
    assert!(j.is_empty());
    j.store_at(&format!("b={}", &big[2..]), "/", now, wall);
    assert_eq!(j.len(), 1);
}
