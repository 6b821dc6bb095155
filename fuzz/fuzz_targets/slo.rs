//! `--slo`: an objectives expression (`p99<50ms,errors<1%`, per-name
//! `login:p95<200ms`). One accepted has a condition per comma-separated
//! part, each with a finite threshold.
#![no_main]
use blast::stats::slo::Slo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(expr) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(slo) = Slo::parse(expr) {
        assert_eq!(slo.conditions.len(), expr.split(',').count());
        for c in &slo.conditions {
            assert!(!c.threshold.is_nan(), "{}: NaN threshold", c.text);
        }
        let _ = slo.check_names(&["login", "home"]);
        let _ = slo.per_request();
    }
});
