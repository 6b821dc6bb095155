//! `--slo` conditions per request name.

use super::*;
use crate::stats::fixture::two_names;

#[test]
fn parses_named_conditions() {
    let s =
        Slo::parse("predict:p99<250ms, /health:error_rate<1%,p99<1s,/v1/x-y.z_w:rps>=5").unwrap();
    let c = &s.conditions;
    assert_eq!(c.len(), 4);
    assert_eq!(c[0].name.as_deref(), Some("predict"));
    assert_eq!(c[0].text, "predict:p99<250ms");
    assert_eq!(
        (c[0].metric, c[0].threshold),
        (Metric::Quantile(0.99), 250_000.0)
    );
    assert_eq!(c[1].name.as_deref(), Some("/health"));
    assert_eq!((c[1].metric, c[1].threshold), (Metric::Errors, 1.0));
    assert_eq!((c[2].name.as_deref(), c[2].text.as_str()), (None, "p99<1s"));
    assert_eq!(c[3].name.as_deref(), Some("/v1/x-y.z_w"));
    assert_eq!((c[3].metric, c[3].op), (Metric::Rps, Op::Ge));
    // A URL as a name: the last ':' splits.
    let s = Slo::parse("http://h:8080/a:p50<1ms").unwrap();
    assert_eq!(s.conditions[0].name.as_deref(), Some("http://h:8080/a"));
    // A name with a space inside keeps it.
    let s = Slo::parse(" Get home : p50 < 1ms").unwrap();
    assert_eq!(s.conditions[0].text, "Get home:p50<1ms");
}

#[test]
fn bad_named_conditions_say_why() {
    for (expr, needle) in [
        (":p99<1ms", "missing the request name"),
        ("predict:ttft<1s", "take no name"),
        ("predict:p98<1ms", "'predict:p98<1ms': unknown metric 'p98'"),
        ("predict:", "'predict:'"),
    ] {
        let e = Slo::parse(expr).unwrap_err();
        assert!(e.contains(needle), "{expr}: {e}");
    }
    // Named conditions are not goodput's.
    assert!(Slo::parse("predict:p99<1s")
        .unwrap()
        .per_request()
        .is_empty());
}

#[test]
fn check_names_knows_the_runs_names() {
    let slo = Slo::parse("predict:p99<250ms,p99<1s").unwrap();
    assert_eq!(slo.check_names(&["predict", "/health"]), Ok(()));
    let e = slo.check_names(&["/predict", "/health"]).unwrap_err();
    assert_eq!(
        e,
        "--slo 'predict:p99<250ms': the run has no request named predict \
         (its names: /predict, /health)"
    );
    let e = slo.check_names(&[]).unwrap_err();
    assert_eq!(
        e,
        "--slo 'predict:p99<250ms': the run has no request named predict"
    );
    assert_eq!(Slo::parse("p99<1s").unwrap().check_names(&[]), Ok(()));
}

#[test]
fn named_conditions_hold_that_names_stats() {
    let s = two_names();
    let slo = Slo::parse(
        "predict:p99<250ms,predict:p50<=101ms,/health:p99<5ms,\
         predict:errors<1%,/health:error_rate<1%,predict:rps>=75,/health:rps>30,\
         predict:max<1s,/health:mean<3ms,p99<1s",
    )
    .unwrap();
    let v = slo.check(&s);
    let got: Vec<(&str, bool)> = v
        .iter()
        .map(|v| (v.condition.text.as_str(), v.pass))
        .collect();
    assert_eq!(
        got,
        [
            ("predict:p99<250ms", false),
            ("predict:p50<=101ms", true),
            ("/health:p99<5ms", true),
            ("predict:errors<1%", false),
            ("/health:error_rate<1%", true),
            ("predict:rps>=75", true),
            ("/health:rps>30", false),
            ("predict:max<1s", true),
            ("/health:mean<3ms", true),
            ("p99<1s", true),
        ]
    );
    // p99 of predict's 750: 50 at 400 ms (2 digits: within 1%).
    assert!(
        (396_000.0..=404_000.0).contains(&v[0].measured),
        "{}",
        v[0].measured
    );
    // 10 500s and 5 timeouts over 750 responses and 5 timeouts.
    assert!((v[3].measured - 15.0 * 100.0 / 755.0).abs() < 1e-9);
    assert_eq!(v[5].measured, 75.0);
    assert_eq!(v[6].measured, 25.0);
    assert_eq!(v[4].measured, 0.0);
}

#[test]
fn a_name_the_summary_lacks_fails() {
    let mut s = two_names();
    s.by_name.clear();
    let v = Slo::parse("predict:p99<1s").unwrap().check(&s);
    assert!(!v[0].pass);
    assert!(v[0].measured.is_nan());
    assert_eq!(v[0].measured_text(), "-");
}
