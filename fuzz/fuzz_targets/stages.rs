//! `--stages`: `DURATION:TARGET,...`. Accepted stages have finite targets
//! from 0 to 1e9; the load shape they make gives a target within them at
//! every moment, sends no fewer requests by a later moment, and finds the
//! moment of every request it sends.
#![no_main]
use blast::config::stages::{parse_stages, Stages};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(list) = parse_stages(s) else {
        return;
    };
    assert!(!list.is_empty());
    for st in &list {
        assert!(
            st.target.is_finite() && (0.0..=1e9).contains(&st.target),
            "{st:?}"
        );
    }
    let Ok(shape) = Stages::new(list) else {
        return;
    };
    let total = shape.total();
    let max = shape.max_target();
    let mut sent = 0.0;
    for i in 0..=8u32 {
        let t = total / 8 * i;
        let target = shape.target_at(t);
        assert!(
            target >= -1e-6 && target <= max * (1.0 + 1e-9) + 1e-6,
            "{target} at {t:?}"
        );
        let by = shape.sends_by(t);
        assert!(
            by >= sent * (1.0 - 1e-9) - 1e-6,
            "sends_by fell at {t:?}: {sent} -> {by}"
        );
        sent = by;
        let _ = shape.time_of(by);
        let _ = shape.stage_at(t);
        // Past the end the last target holds: later requests are due later,
        // or never.
        if let (Some(a), Some(b)) = (shape.time_of(by + 1.0), shape.time_of(by + 1e6)) {
            assert!(
                a <= b,
                "request {} due after request {}",
                by + 1e6,
                by + 1.0
            );
        }
    }
});
