//! The comparison page of `blast report`.

use super::*;
use crate::report::compare::{stream_cells, STREAM_HEADERS};

/// The comparison page.
pub fn render_compare(rows: &[Row]) -> String {
    let mut body = String::new();
    body.push_str(
        "<h2>Runs</h2>\n<table><tr><th>run</th><th>URL</th><th>requests</th><th>req/s</th>\
         <th>p50</th><th>p99</th><th>p99.9</th><th>max</th><th>errors</th>\
         <th>bytes/response</th></tr>\n",
    );
    for r in rows {
        let c = r.cells();
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"url\">{}</td>",
            esc(&r.label),
            esc(&r.url)
        );
        for cell in &c[1..] {
            let _ = write!(body, "<td class=\"n\">{}</td>", esc(cell));
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</table>\n");
    if rows.iter().any(|r| r.find) {
        let _ = writeln!(body, "<p>{}</p>", esc(FIND_NOTE));
    }
    if rows.iter().any(|r| r.stream.is_some()) {
        body.push_str("<h2>Streaming</h2>\n<table><tr>");
        for h in STREAM_HEADERS {
            let _ = write!(body, "<th>{}</th>", esc(h));
        }
        body.push_str("</tr>\n");
        for r in rows {
            let c = stream_cells(r);
            let _ = write!(body, "<tr><td>{}</td>", esc(&c[0]));
            for cell in &c[1..] {
                let _ = write!(body, "<td class=\"n\">{}</td>", esc(cell));
            }
            body.push_str("</tr>\n");
        }
        body.push_str("</table>\n");
    }
    body.push_str("<h2>Charts</h2>\n");

    let color = |i: usize| PALETTE[i % PALETTE.len()];
    let legend: Vec<(String, String)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.label.clone(), color(i).to_string()))
        .collect();
    let bars = |title: &str, y: &str, cats: &[&str], pick: &dyn Fn(&Row) -> Vec<Option<f64>>| {
        let mut b = BarChart::new(title, "", y);
        b.categories = cats.iter().map(|c| c.to_string()).collect();
        b.series = rows
            .iter()
            .enumerate()
            .map(|(i, r)| BarSeries {
                name: r.label.clone(),
                color: color(i).into(),
                values: pick(r),
            })
            .collect();
        b.legend = legend.clone();
        b
    };
    let mut rps = bars("Throughput", "requests/s", &["requests/s"], &|r| {
        vec![r.rps]
    });
    rps.value_label = |v| format!("{v:.0}");
    let ms = |v: Option<f64>| v.map(|us| us / 1000.0);
    let mut lat = bars(
        "Latency percentiles",
        "latency (ms)",
        &["p50", "p99"],
        &|r| vec![ms(r.p50_us), ms(r.p99_us)],
    );
    lat.value_label = |v| format!("{v:.2}");
    let mut err = bars("Error rate", "errors (% of requests)", &["errors"], &|r| {
        vec![r.error_percent]
    });
    err.value_label = |v| format!("{v:.2}%");
    let mut bytes = bars(
        "Bytes per response (headers + body)",
        "bytes",
        &["bytes/response"],
        &|r| vec![r.bytes_per_response],
    );
    bytes.value_label = |v| format!("{v:.1}");

    let mut spec = LineChart::new(
        "Latency by percentile",
        "percentile (log scale of 1/(1-p))",
        "latency (ms)",
    );
    spec.x = Axis::Percentile;
    // A `find` document has no spectrum: it keeps its colour but no line.
    for (i, r) in rows
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.spectrum.is_empty())
    {
        spec.series
            .push(Series::line(&r.label, color(i), r.spectrum.clone()));
    }
    spec.log_y_when_wide();
    body.push_str(&charts(&[
        rps.render(),
        lat.render(),
        err.render(),
        bytes.render(),
        spec.render(),
    ]));
    let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
    page("blast comparison", &labels.join(" vs "), &body)
}
