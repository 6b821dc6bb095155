//! The "Streaming" section of the single-run page, for a run that streamed
//! (Server-Sent Events, LLM endpoints): TTFT, TPOT and ITL percentiles,
//! output tokens/s and goodput in a table, TTFT and ITL percentile spectra,
//! output tokens/s over time. Nothing for a run that did not stream.

use super::*;
use crate::report::stream::{goodput_rps, streamed, tokens_over_time, tokens_per_s};

/// The section (empty for a run without streamed responses).
pub fn section(s: &Summary) -> String {
    if !streamed(s) {
        return String::new();
    }
    let st = &s.stream;
    let mut rows: Vec<(String, String)> = Vec::new();
    for (name, h) in [("TTFT", &st.ttft), ("TPOT", &st.tpot), ("ITL", &st.itl)] {
        for (label, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
            rows.push((format!("{name} {label}"), us(quantile(h, q))));
        }
    }
    let goodput = goodput_rps(s).map_or_else(
        || "- (no --slo on ttft, tpot or e2el)".into(),
        |g| format!("{g:.2}"),
    );
    rows.extend([
        ("streamed responses".into(), st.responses.to_string()),
        ("output tokens".into(), st.tokens.to_string()),
        ("output tokens/s".into(), format!("{:.2}", tokens_per_s(s))),
        ("token counts from".into(), esc(st.token_count_source())),
        ("goodput (req/s)".into(), goodput),
    ]);
    let rows: Vec<(&str, String)> = rows.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let mut out =
        String::from("<h2>Streaming</h2>\n<div class=\"tables\" style=\"margin-bottom:20px\">\n");
    out.push_str(&kv_table("Streaming", &rows));
    out.push_str("</div>\n");

    let spectrum_chart = |title: &str, series: &str, h: &Histogram<u64>, color: &str| {
        let mut c = LineChart::new(title, "percentile (log scale of 1/(1-p))", "time (ms)");
        c.x = Axis::Percentile;
        c.series.push(Series::line(series, color, spectrum(h)));
        c.log_y_when_wide();
        c.render()
    };
    let mut tokens = LineChart::new(
        "Output tokens over time",
        "time since start (s)",
        "output tokens/s",
    );
    tokens.series.push(Series::line(
        "output tokens/s",
        PALETTE[2],
        tokens_over_time(s)
            .into_iter()
            .map(|(t, _, rate)| (t, rate))
            .collect(),
    ));
    out.push_str(&charts(&[
        spectrum_chart(
            "Time to first token by percentile",
            "TTFT",
            &st.ttft,
            PALETTE[0],
        ),
        spectrum_chart(
            "Inter-token latency by percentile",
            "ITL",
            &st.itl,
            PALETTE[1],
        ),
        tokens.render(),
    ]));
    out
}
