//! The single-run page's parts per request name: Locust's statistics table
//! (Type, Name, requests, fails, req/s, latency percentiles) and the
//! latency and throughput of each name over time. Nothing for a run
//! without names.

use super::*;
use crate::stats::NameSummary;

/// Names drawn as lines: more would bury the plot under its legend.
pub const MAX_LINES: usize = 10;

/// The table per name, with the run's totals as the last row.
pub fn table(s: &Summary) -> String {
    if s.by_name.is_empty() {
        return String::new();
    }
    let mut t = String::from(
        "<table><tr><th>Type</th><th>Name</th><th>requests</th><th>fails</th>\
         <th>req/s</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>\n",
    );
    let d = s.duration;
    for n in &s.by_name {
        row(
            &mut t,
            &n.method,
            &n.name,
            n.requests,
            n.failures(),
            n.rps(d),
            &n.latency,
        );
    }
    let fails = s.errors.total();
    row(
        &mut t,
        "",
        "Aggregated",
        s.requests,
        fails,
        s.rps(),
        &s.latency,
    );
    t.push_str("</table>\n");
    format!(
        "<h2>Requests by name</h2>\n{t}<p class=\"sub\">Per-name latencies from \
         2-significant-digit histograms (within 1%); fails are transport errors, \
         non-2xx/3xx responses and failed checks.</p>\n"
    )
}

fn row(t: &mut String, kind: &str, name: &str, req: u64, fails: u64, rps: f64, h: &Histogram<u64>) {
    let _ = write!(
        t,
        "<tr><td>{}</td><td class=\"url\">{}</td><td class=\"n\">{req}</td>\
         <td class=\"n\">{fails}</td><td class=\"n\">{:.2}</td>",
        esc(kind),
        esc(name),
        finite(rps),
    );
    for q in [0.5, 0.9, 0.99] {
        let _ = write!(t, "<td class=\"n\">{}</td>", us(quantile(h, q)));
    }
    let max = if h.is_empty() { 0 } else { h.max() };
    let _ = writeln!(t, "<td class=\"n\">{}</td></tr>", us(max));
}

/// The names drawn: the busiest `MAX_LINES`, in the mix's order.
fn drawn(s: &Summary) -> Vec<(usize, &NameSummary)> {
    let mut by_requests: Vec<(usize, &NameSummary)> = s.by_name.iter().enumerate().collect();
    by_requests.sort_by(|a, b| b.1.requests.cmp(&a.1.requests).then(a.0.cmp(&b.0)));
    by_requests.truncate(MAX_LINES);
    by_requests.sort_by_key(|x| x.0);
    by_requests
}

/// p99 latency and requests/s of each name per second; none without names.
pub fn charts(s: &Summary) -> Vec<String> {
    if s.by_name.is_empty() {
        return Vec::new();
    }
    let names = drawn(s);
    let of = if names.len() < s.by_name.len() {
        format!(" ({} busiest of {} names)", names.len(), s.by_name.len())
    } else {
        String::new()
    };
    let tl = &s.timeline;
    let mut latency = LineChart::new(
        &format!("p99 latency by name{of}"),
        "time since start (s)",
        "latency (ms)",
    );
    let mut rps = LineChart::new(
        &format!("Requests/s by name{of}"),
        "time since start (s)",
        "requests/s",
    );
    for (k, (i, n)) in names.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let label = format!("{} {}", n.method, n.name);
        // Seconds without a response of this name have no latency to draw.
        let p99: Vec<(f64, f64)> = tl
            .iter()
            .filter_map(|p| Some((p.t_s, p.by_name.get(*i)?)))
            .filter(|(_, np)| np.requests > 0)
            .map(|(t, np)| (t, np.p99_us as f64 / 1000.0))
            .collect();
        latency.series.push(Series::line(label.trim(), color, p99));
        let per_s = per_second(tl, |p| p.by_name.get(*i).map_or(0, |np| np.requests));
        rps.series.push(Series::line(label.trim(), color, per_s));
    }
    latency.log_y_when_wide();
    vec![latency.render(), rps.render()]
}
