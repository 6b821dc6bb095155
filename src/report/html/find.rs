//! The `blast find` page: the step curve.

use super::*;

/// The `blast find` page.
pub fn render_find(r: &FindResult) -> String {
    let mut body = String::new();
    let best = r.max_sustainable();
    let headline = match best {
        Some(b) => format!(
            "Maximum sustainable throughput: <b>{:.0} req/s</b> (p99 {}, errors {:.2}%)",
            b.offered,
            esc(&us(b.p99_us)),
            b.error_percent
        ),
        None => {
            "Maximum sustainable throughput: none: the first step already fails the SLO".to_string()
        }
    };
    let _ = writeln!(body, "<p class=\"headline\">{headline}</p>");
    let config = kv_table(
        "Search",
        &[
            ("URL", esc(&r.url)),
            ("SLO", esc(&r.slo)),
            ("connections", r.connections.to_string()),
            ("threads", r.threads.to_string()),
            ("step duration", format_time_us(r.step_s * 1e6)),
            ("steps", r.steps.len().to_string()),
            (
                "interrupted",
                if r.interrupted {
                    "by Ctrl-C or SIGTERM"
                } else {
                    "no"
                }
                .into(),
            ),
        ],
    );
    let mut steps = String::from(
        "<table><tr><th>step</th><th>offered req/s</th><th>achieved req/s</th>\
         <th>p50</th><th>p99</th><th>errors</th><th>verdict</th></tr>\n",
    );
    for (i, s) in r.steps.iter().enumerate() {
        let class = if s.pass { "pass" } else { "fail" };
        let mark = if r.best == Some(i) { " (best)" } else { "" };
        let _ = writeln!(
            steps,
            "<tr><td class=\"n\">{}</td><td class=\"n\">{:.1}</td><td class=\"n\">{:.1}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.2}%</td>\
             <td class=\"{class}\">{}{mark}</td></tr>",
            i + 1,
            s.offered,
            s.achieved,
            us(s.p50_us),
            us(s.p99_us),
            s.error_percent,
            esc(&s.verdict())
        );
    }
    steps.push_str("</table>\n");
    let _ = write!(
        body,
        "<h2>Steps</h2>\n<div class=\"tables\">\n{config}{steps}</div>\n<h2>Charts</h2>\n"
    );

    // Steps run in search order (doubling, then bisecting); the curve is
    // drawn in order of offered rate.
    let mut sorted: Vec<&crate::report::find::Step> = r.steps.iter().collect();
    sorted.sort_by(|a, b| a.offered.total_cmp(&b.offered));
    let best_rule = best.map(|b| Rule {
        at: b.offered,
        label: format!("max sustainable {:.0} req/s", b.offered),
        color: "#1a7f37",
    });
    let split = |f: &dyn Fn(&crate::report::find::Step) -> f64, pass: bool| -> Vec<(f64, f64)> {
        sorted
            .iter()
            .filter(|s| s.pass == pass)
            .map(|s| (s.offered, f(s)))
            .collect()
    };

    let mut rate = LineChart::new(
        "Achieved vs offered rate",
        "offered rate (requests/s)",
        "achieved rate (requests/s)",
    );
    let top = sorted.iter().map(|s| s.offered).fold(0.0, f64::max);
    let mut ideal = Series::line("achieved = offered", "#999", vec![(0.0, 0.0), (top, top)]);
    ideal.dashed = true;
    rate.series.push(ideal);
    rate.series.push(Series::line(
        "achieved",
        PALETTE[0],
        sorted.iter().map(|s| (s.offered, s.achieved)).collect(),
    ));
    rate.series.push(Series::markers(
        "step passed",
        "#2ca02c",
        split(&|s| s.achieved, true),
    ));
    rate.series.push(Series::markers(
        "step failed",
        "#d62728",
        split(&|s| s.achieved, false),
    ));
    rate.vlines.extend(best_rule.clone());

    let mut lat = LineChart::new(
        "Latency vs offered rate",
        "offered rate (requests/s)",
        "latency (ms, log scale)",
    );
    lat.y_log = true;
    lat.series.push(Series::line(
        "p50",
        PALETTE[1],
        sorted
            .iter()
            .map(|s| (s.offered, s.p50_us as f64 / 1000.0))
            .collect(),
    ));
    lat.series.push(Series::line(
        "p99",
        PALETTE[0],
        sorted
            .iter()
            .map(|s| (s.offered, s.p99_us as f64 / 1000.0))
            .collect(),
    ));
    lat.series.push(Series::markers(
        "step passed",
        "#2ca02c",
        split(&|s| s.p99_us as f64 / 1000.0, true),
    ));
    lat.series.push(Series::markers(
        "step failed",
        "#d62728",
        split(&|s| s.p99_us as f64 / 1000.0, false),
    ));
    lat.vlines.extend(best_rule);
    // The SLO's own latency bound, where it is one this chart draws.
    if let Some(c) = r
        .steps
        .first()
        .into_iter()
        .flat_map(|s| &s.verdicts)
        .find(|v| matches!(v.condition.metric, Metric::Quantile(q) if q == 0.99 || q == 0.5))
    {
        lat.hlines.push(Rule {
            at: c.condition.threshold / 1000.0,
            label: format!("SLO {}", c.condition.text),
            color: "#c62828",
        });
    }
    body.push_str(&charts(&[rate.render(), lat.render()]));
    page("blast find report", &r.url, &body)
}
