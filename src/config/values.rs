//! Value parsers for the command line: durations ("500ms", "30s"), rates
//! and counts with k/M suffixes, percentages, sizes, start times.

use std::time::Duration;

/// "500ms", "30s", "2m", "1h", "1.5s", or a bare number of seconds (as wrk).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (try 500ms, 30s, 2m, 1h)"))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" => n,
        "ms" => n / 1e3,
        "us" => n / 1e6,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("'{s}' has an unknown unit (use ms, s, m or h)")),
    };
    if !secs.is_finite() || secs > 1e9 {
        return Err(format!("'{s}' is too long"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A rate in requests/s: "2000", "2.5k", "1M", "0.5". At least 0.001 (one
/// request in 17 minutes): below that a connection's next due time, as a
/// `Duration`, can overflow.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1e3),
        Some((i, 'm' | 'M')) => (&t[..i], 1e6),
        _ => (t, 1.0),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a rate in requests/s (e.g. 2000, 2.5k)"))?;
    let r = n * mult;
    if !(1e-3..=1e9).contains(&r) {
        return Err(format!(
            "'{s}' must be at least 0.001 and at most 1G requests/s"
        ));
    }
    Ok(r)
}

/// "5%" or "0.05" as a fraction.
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let f = match t.strip_suffix('%') {
        Some(p) => p.parse::<f64>().map(|p| p / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("'{s}' is not a percentage (e.g. 5%)"))?;
    if !(f > 0.0 && f < 1.0) {
        return Err(format!("'{s}' must be between 0% and 100%"));
    }
    Ok(f)
}

/// `--start-at`: unix seconds ("1764000000", "1764000000.5") or RFC 3339
/// ("2026-11-23T12:00:00Z", "2026-11-23T13:00:00.250+01:00"; `t` or a space
/// for `T`, `z` for `Z`), read by the `time` crate so that a day the month
/// lacks (2026-02-31) or an offset out of range (+99:99) is refused rather
/// than carried into another day. A leap second (23:59:60, only at the end
/// of a month in UTC) is read as the last nanosecond before the next
/// minute, as `time` does.
pub fn parse_start_at(s: &str) -> Result<std::time::SystemTime, String> {
    use std::time::UNIX_EPOCH;
    use time::format_description::well_known::Rfc3339;
    let t = s.trim();
    let since_epoch = if let Ok(n) = t.parse::<f64>() {
        Duration::try_from_secs_f64(n).ok()
    } else {
        let at = time::OffsetDateTime::parse(t, &Rfc3339).map_err(|e| {
            format!("'{s}' is not a valid RFC 3339 time ({e}); e.g. 2026-11-23T12:00:00Z, or unix seconds")
        })?;
        u64::try_from(at.unix_timestamp_nanos())
            .ok()
            .map(Duration::from_nanos)
    };
    since_epoch
        .and_then(|d| UNIX_EPOCH.checked_add(d))
        .ok_or_else(|| {
            format!("'{s}' is out of range (unix seconds from 1970 on, or an RFC 3339 time)")
        })
}

/// A count with an optional metric suffix: "400", "10k", "1M". Must be >= 1.
pub fn parse_count(s: &str) -> Result<u64, String> {
    let n = parse_metric(s, 1000)?;
    if n == 0 {
        return Err("must be at least 1".to_string());
    }
    Ok(n)
}

/// A size in bytes: "13", "64k" (1024), "50M".
pub fn parse_size(s: &str) -> Result<u64, String> {
    parse_metric(s, 1024)
}

fn parse_metric(s: &str, base: u64) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], base),
        Some((i, 'm' | 'M')) => (&t[..i], base * base),
        Some((i, 'g' | 'G')) => (&t[..i], base * base * base),
        _ => (t, 1),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number (suffixes k, M, G allowed)"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large"))
}

/// `--max-body`: as a `size` check writes sizes (`512KB`, `1MiB`, `4096`),
/// or with the k/M/G suffixes of other sizes (1024); more than 0.
pub fn parse_max_body(s: &str) -> Result<u64, String> {
    let n = crate::proto::check::size_amount(s.trim())
        .or_else(|| parse_size(s).ok())
        .ok_or_else(|| format!("'{s}' is not a size (e.g. 64KiB, 1MiB, 10MB)"))?;
    if n == 0 || n > 1 << 32 {
        return Err(format!("'{s}': give 1 byte to 4 GiB"));
    }
    Ok(n)
}

/// `blast target --stream N`: 0 (off) or a count ("50", "1k").
pub fn parse_tokens(s: &str) -> Result<u64, String> {
    if s.trim() == "0" {
        return Ok(0);
    }
    parse_count(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parser() {
        assert_eq!(parse_tokens("0"), Ok(0));
        assert_eq!(parse_tokens("50"), Ok(50));
        assert_eq!(parse_tokens("1k"), Ok(1000));
        assert!(parse_tokens("x").is_err());
        assert!(parse_tokens("-1").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("400"), Ok(400));
        assert_eq!(parse_count("10k"), Ok(10_000));
        assert_eq!(parse_count("1M"), Ok(1_000_000));
        assert!(parse_count("0").is_err());
        assert!(parse_count("-5").is_err());
        assert!(parse_count("ten").is_err());
        assert!(parse_count("99999999999999999999").is_err());
    }

    #[test]
    fn rates_and_percents() {
        assert_eq!(parse_rate("2000"), Ok(2000.0));
        assert_eq!(parse_rate("2.5k"), Ok(2500.0));
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("-3").is_err());
        assert!(parse_rate("fast").is_err());
        // A rate so low that a connection's next due time overflows a
        // Duration (Schemathesis sent 5e-324 to POST /find: a panic).
        assert!(parse_rate("5e-324").is_err());
        assert!(parse_rate("0.0009").is_err());
        assert_eq!(parse_rate("0.001"), Ok(0.001));
        assert_eq!(parse_percent("5%"), Ok(0.05));
        assert_eq!(parse_percent("0.1"), Ok(0.1));
        assert!(parse_percent("0%").is_err());
        assert!(parse_percent("x").is_err());
    }

    #[test]
    fn start_at_times() {
        use std::time::UNIX_EPOCH;
        let secs = |s: &str| {
            parse_start_at(s)
                .unwrap()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs_f64()
        };
        assert_eq!(secs("1764000000"), 1_764_000_000.0);
        assert_eq!(secs("1970-01-01T00:00:00Z"), 0.0);
        assert_eq!(secs("2026-11-23T12:00:00Z"), 1_795_435_200.0);
        assert_eq!(secs("2026-11-23T13:00:00.250+01:00"), 1_795_435_200.25);
        assert_eq!(secs("2000-02-29T23:59:59-00:30"), 951_870_599.0);
        assert_eq!(secs("2026-11-23 13:00:00+01:00"), 1_795_435_200.0);
        assert_eq!(secs("2026-11-23t12:00:00z"), 1_795_435_200.0);
        // A leap second: the nanosecond before the next minute.
        assert_eq!(secs("2016-12-31T23:59:60Z"), 1_483_228_799.999_999_999);
        for bad in [
            "tomorrow",
            "2026-13-01T00:00:00Z",
            "2026-11-23T12:00:00",
            "2026-02-31T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2027-02-29T00:00:00Z",
            "2026-11-23T12:00:00+99:99",
            "2026-11-23T12:00:00+23:60",
            "2026-11-23T23:59:60Z",
            "1969-12-31T23:59:59Z",
            "1e300",
            "inf",
            "-5",
        ] {
            assert!(parse_start_at(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("64k"), Ok(65536));
        assert_eq!(parse_size("50M"), Ok(50 * 1024 * 1024));
    }
}
