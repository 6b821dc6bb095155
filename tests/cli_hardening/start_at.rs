//! `--start-at` in RFC 3339 is read by the `time` crate: a day the month
//! does not have and an offset out of range are refused naming the flag
//! (they used to become another, past, time), and the forms that worked
//! still do.

use crate::ok_server;
use crate::support::run;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn refused(at: &str) -> String {
    let r = run(&["-n", "1", "--start-at", at, "http://127.0.0.1:9/"]);
    assert_eq!(r.code, 2, "{at}: {}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("--start-at"), "{}", r.stderr);
    r.stderr
}

#[test]
fn a_day_the_month_lacks_is_refused() {
    let e = refused("2026-02-31T12:00:00Z");
    assert!(e.contains("not a valid RFC 3339 time"), "{e}");
    assert!(e.contains("day"), "{e}");
    refused("2026-04-31T00:00:00+01:00");
    refused("2027-02-29T00:00:00Z");
}

#[test]
fn an_offset_out_of_range_is_refused() {
    let e = refused("2026-12-06T12:00:00+99:99");
    assert!(e.contains("not a valid RFC 3339 time"), "{e}");
    refused("2026-12-06T12:00:00+23:60");
}

/// `YYYY-MM-DD hh:mm:ss` in UTC for `t`, with `sep` between date and time
/// (the `time` crate's calendar, not a copy of the store's).
fn rfc3339(t: SystemTime, sep: char, offset: &str) -> String {
    let t = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}{sep}{:02}:{:02}:{:02}{offset}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Valid forms still start the run: unix seconds, `Z`, a space for `T`,
/// and a zero offset written out.
#[test]
fn valid_forms_still_start_the_run() {
    let s = ok_server();
    let forms: [fn(SystemTime) -> String; 4] = [
        |t| t.duration_since(UNIX_EPOCH).unwrap().as_secs().to_string(),
        |t| rfc3339(t, 'T', "Z"),
        |t| rfc3339(t, ' ', "+00:00"),
        |t| rfc3339(t, 't', "z"),
    ];
    for form in forms {
        let at = form(SystemTime::now() + Duration::from_secs(1));
        let before = s.requests();
        let r = run(&["-n", "1", "-c", "1", "-t", "1", "--start-at", &at, &s.url()]);
        assert_eq!(r.code, 0, "{at}: {}", r.stderr);
        assert_eq!(s.requests(), before + 1, "{at}");
    }
}

/// Unix seconds out of range were a panic (exit 101) in Duration's float
/// conversion.
#[test]
fn unix_seconds_out_of_range_are_refused() {
    let e = refused("1e300");
    assert!(e.contains("is out of range"), "{e}");
    refused("inf");
}
