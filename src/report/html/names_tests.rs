//! The run page's parts per request name.

use super::*;
use crate::stats::fixture::two_names;
use crate::stats::slo::Slo;

#[test]
fn table_and_charts_per_name() {
    let s = two_names();
    let html = render_run(&s, None);
    assert!(html.contains("<h2>Requests by name</h2>"));
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 7);
    assert!(html.contains("p99 latency by name"));
    assert!(html.contains("Requests/s by name"));
    // predict: 750 requests, 15 fails, 75 req/s, p50 100 ms, p99 400 ms.
    let predict = html
        .lines()
        .find(|l| l.contains("<td>POST</td>"))
        .expect("a row for predict");
    assert!(
        predict.contains("<td class=\"url\">predict</td>"),
        "{predict}"
    );
    let cells: Vec<&str> = predict
        .split("<td class=\"n\">")
        .skip(1)
        .map(|c| c.split("</td>").next().unwrap())
        .collect();
    assert_eq!(cells[..3], ["750", "15", "75.00"]);
    assert_eq!(cells[3], us(s.by_name[0].latency.value_at_quantile(0.5)));
    assert_eq!(cells[5], us(s.by_name[0].latency.value_at_quantile(0.99)));
    assert!(cells[5].starts_with("40"), "{}", cells[5]);
    let health = html.lines().find(|l| l.contains("<td>GET</td>")).unwrap();
    assert!(
        health.contains("/health") && health.contains(">250<"),
        "{health}"
    );
    let total = html.lines().find(|l| l.contains("Aggregated")).unwrap();
    assert!(
        total.contains(">1000<") && total.contains(">15<"),
        "{total}"
    );
    // Legends: one line per name, "METHOD name".
    assert!(html.contains(">POST predict</text>") && html.contains(">GET /health</text>"));
}

#[test]
fn a_run_without_names_has_no_name_parts() {
    let mut s = two_names();
    s.by_name.clear();
    s.timeline.iter_mut().for_each(|p| p.by_name.clear());
    let html = render_run(&s, None);
    assert!(!html.contains("Requests by name"));
    assert!(!html.contains("by name"));
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 5);
    assert!(html.contains("</div>\n<h2>Charts</h2>\n"));
}

#[test]
fn names_are_escaped_and_lines_capped() {
    let mut s = two_names();
    s.by_name[1].name = "<script>x</script>".into();
    let extra: Vec<_> = (0..12)
        .map(|i| {
            let mut n = s.by_name[1].clone();
            n.name = format!("n{i}");
            n
        })
        .collect();
    s.by_name.extend(extra);
    let html = render_run(&s, None);
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
    assert!(html.contains("(10 busiest of 14 names)"));
    // The table has every name.
    assert!(html.contains(">n11</td>"));
}

#[test]
fn slo_verdicts_show_the_name() {
    let s = two_names();
    let v = Slo::parse("predict:p99<250ms,p99<1s").unwrap().check(&s);
    let html = render_run(&s, Some(&v));
    assert!(html.contains("<td>predict:p99&lt;250ms</td>"));
    let j = crate::report::slo_json(&v);
    assert_eq!(j[0]["name"], "predict");
    assert_eq!(j[0]["pass"], false);
    assert!(j[1].get("name").is_none(), "unnamed verdicts as before");
}

/// Checks: k6's table (name, check, passed share, ✓, ✗), the failed checks
/// among the summary's errors, and each `check` failure in the error
/// causes by the check's text; the names table counts them as fails.
#[test]
fn checks_table_and_causes() {
    use crate::stats::CheckSummary;
    let mut s = two_names();
    s.checks = vec![
        CheckSummary {
            name: Some("predict".into()),
            check: "json /predictions exists".into(),
            passes: 745,
            fails: 5,
        },
        CheckSummary {
            name: Some("/health".into()),
            check: "body contains <ok>".into(),
            passes: 250,
            fails: 0,
        },
    ];
    s.errors.check = 5;
    s.check_details = vec![("json /predictions exists".into(), 5)];
    let html = render_run(&s, None);
    assert!(html.contains("<h2>Checks</h2>"));
    let row = html
        .lines()
        .find(|l| l.contains("<td class=\"url\">json /predictions exists</td>"))
        .expect("a row for the check");
    assert!(row.contains("<td class=\"url\">predict</td>"), "{row}");
    assert!(
        row.contains(">99.33%<") && row.contains(">745<") && row.contains(">5<"),
        "{row}"
    );
    assert!(row.contains("n fail"), "a failing check is marked: {row}");
    assert!(html.contains("body contains &lt;ok&gt;"), "escaped");
    assert!(html.contains("<td>failed checks</td><td class=\"n\">5</td>"));
    assert!(html.contains("<td>check: json /predictions exists</td><td class=\"n\">5</td>"));
    let total = html.lines().find(|l| l.contains("Aggregated")).unwrap();
    assert!(total.contains(">20<"), "15 + 5 check fails: {total}");
    // A run without checks has no such table.
    assert!(!render_run(&two_names(), None).contains("<h2>Checks</h2>"));
}
