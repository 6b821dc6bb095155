//! Numbers, times and sizes as wrk prints them (its `units.c`), shared by
//! the live progress line, the SLO verdicts and every report.

/// A table of units as wrk's `units.c` has them: below `0.85 * scale` the
/// amount stays in the current unit; the last entry of `units` is never reached.
struct Units {
    scale: f64,
    base: &'static str,
    units: &'static [&'static str],
}

const TIME_US: Units = Units {
    scale: 1000.0,
    base: "us",
    units: &["ms", "s"],
};
const TIME_S: Units = Units {
    scale: 60.0,
    base: "s",
    units: &["m", "h"],
};
const BINARY: Units = Units {
    scale: 1024.0,
    base: "",
    units: &["K", "M", "G", "T", "P"],
};
const METRIC: Units = Units {
    scale: 1000.0,
    base: "",
    units: &["k", "M", "G", "T", "P"],
};

fn format_units(n: f64, u: &Units, precision: usize) -> String {
    let mut amt = if n.is_finite() { n } else { 0.0 };
    let mut unit = u.base;
    let threshold = u.scale * 0.85;
    let mut i = 0;
    while i + 1 < u.units.len() && amt >= threshold {
        amt /= u.scale;
        unit = u.units[i];
        i += 1;
    }
    format!("{amt:.precision$}{unit}")
}

/// Microseconds as wrk prints a latency: `635.91us`, `0.89ms`, `1.50s`, `2.00m`.
pub fn format_time_us(us: f64) -> String {
    if us >= 1_000_000.0 {
        format_units(us / 1_000_000.0, &TIME_S, 2)
    } else {
        format_units(us, &TIME_US, 2)
    }
}

/// Seconds with no decimals, as wrk prints the test length: `30s`, `2m`.
pub fn format_time_s(s: f64) -> String {
    format_units(s, &TIME_S, 0)
}

/// Whole seconds as a clock reading people say: `42s`, `1m42s`, `2m`,
/// `1h0m5s` (where a run broke, how long stages last).
pub fn format_clock(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

/// A count with thousands separators, as people write it: `25,040`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Powers of 1000: `56.20k`.
pub fn format_metric(n: f64) -> String {
    format_units(n, &METRIC, 2)
}

/// Powers of 1024: `17.76M` (the caller appends `B`).
pub fn format_binary(n: f64) -> String {
    format_units(n, &BINARY, 2)
}

#[cfg(test)]
mod tests {
    #[test]
    fn clock_readings() {
        for (n, s) in [
            (0, "0s"),
            (42, "42s"),
            (102, "1m42s"),
            (120, "2m"),
            (3605, "1h0m5s"),
        ] {
            assert_eq!(super::format_clock(n), s);
        }
    }

    #[test]
    fn thousands_separators() {
        for (n, s) in [(0, "0"), (999, "999"), (1_000, "1,000"), (25_040, "25,040")] {
            assert_eq!(super::thousands(n), s);
        }
        assert_eq!(super::thousands(1_048_576), "1,048,576");
    }
}
