//! The single-run page.

use super::*;

/// The single-run page.
pub fn render_run(s: &Summary, verdicts: Option<&[Verdict]>) -> String {
    let info = &s.info;
    let mut body = String::new();

    let length = match (info.duration_s, info.requests_limit) {
        (Some(d), Some(n)) => format!("{} or {n} requests", format_time_us(d * 1e6)),
        (Some(d), None) => format_time_us(d * 1e6),
        (None, Some(n)) => format!("{n} requests"),
        (None, None) => "-".into(),
    };
    let rate = match info.rate {
        Some(r) if info.ramp_up_s > 0.0 => format!(
            "{} req/s (open loop), ramp-up {}",
            format_metric(r),
            format_time_us(info.ramp_up_s * 1e6)
        ),
        Some(r) => format!("{} req/s (open loop)", format_metric(r)),
        None => "closed loop".into(),
    };
    let config = kv_table(
        "Configuration",
        &[
            (
                "URL",
                format!("<span class=\"url\">{}</span>", esc(&info.url)),
            ),
            ("method", esc(&info.method)),
            ("connections", info.connections.to_string()),
            ("threads", info.threads.to_string()),
            ("duration", esc(&length)),
            ("rate", esc(&rate)),
            ("timeout", format_time_us(info.timeout_s * 1e6)),
            ("engine", esc(&info.engine)),
        ],
    );

    let e = &s.errors;
    let h = &s.latency;
    let per_response = if s.requests > 0 {
        format!("{:.1} B", s.bytes_read as f64 / s.requests as f64)
    } else {
        "-".into()
    };
    let mut summary = vec![
        ("requests", s.requests.to_string()),
        (
            "measured time",
            format_time_us(s.duration.as_secs_f64() * 1e6),
        ),
        ("requests/s", format!("{:.2}", finite(s.rps()))),
    ];
    if let Some(o) = offered_rps(s) {
        summary.push(("offered requests/s", format!("{o:.2}")));
    }
    summary.extend([
        (
            "bytes read",
            format!("{}B ({})", format_binary(s.bytes_read as f64), s.bytes_read),
        ),
        (
            "transfer/s",
            format!("{}B", format_binary(s.bytes_per_sec())),
        ),
        ("bytes per response", per_response),
        ("errors: connect", e.connect.to_string()),
        ("errors: read", e.read.to_string()),
        ("errors: write", e.write.to_string()),
        ("errors: timeout", e.timeout.to_string()),
        ("errors: parse", e.parse.to_string()),
        ("non-2xx/3xx responses", e.status.to_string()),
    ]);
    if e.check > 0 || !s.checks.is_empty() {
        summary.push(("failed checks", e.check.to_string()));
    }
    if e.grpc > 0 {
        summary.push(("gRPC errors", e.grpc.to_string()));
    }
    if s.in_flight_at_end > 0 {
        summary.push(("in flight at end", s.in_flight_at_end.to_string()));
    }
    if s.not_sent_at_end > 0 {
        summary.push(("not sent at end", s.not_sent_at_end.to_string()));
    }
    if s.interrupted {
        summary.push(("interrupted", "by Ctrl-C or SIGTERM".into()));
    }
    if let Some(line) = crate::report::stages::broke_line(s) {
        summary.push(("stopped by --abort-on-slo", esc(&line)));
    }
    let summary = kv_table("Summary", &summary);

    let mean = if h.is_empty() { 0.0 } else { h.mean() };
    let latency = kv_table(
        "Latency",
        &[
            ("min", us(if h.is_empty() { 0 } else { h.min() })),
            ("mean", format_time_us(mean)),
            ("p50", us(quantile(h, 0.5))),
            ("p90", us(quantile(h, 0.9))),
            ("p99", us(quantile(h, 0.99))),
            ("p99.9", us(quantile(h, 0.999))),
            ("max", us(if h.is_empty() { 0 } else { h.max() })),
        ],
    );
    let _ = write!(
        body,
        "<h2>Run</h2>\n<div class=\"tables\">\n{config}{summary}{latency}"
    );
    if let Some(v) = verdicts {
        body.push_str(&slo_table(v));
    }
    let causes = checks::error_causes(s);
    if !causes.is_empty() {
        let mut t = String::from("<table><tr><th>error cause</th><th>count</th></tr>\n");
        for (cause, n) in &causes {
            let _ = writeln!(
                t,
                "<tr><td>{}</td><td class=\"n\">{n}</td></tr>",
                esc(cause)
            );
        }
        t.push_str("</table>\n");
        body.push_str(&t);
    }
    body.push_str("</div>\n");
    body.push_str(&checks::table(s));
    body.push_str(&names::table(s));
    body.push_str("<h2>Charts</h2>\n");
    let mut figures = run_charts(s);
    figures.extend(names::charts(s));
    body.push_str(&charts(&figures));
    body.push_str(&stream::section(s));

    let subtitle = format!("{} {}", info.method, info.url);
    page("blast report", &subtitle, &body)
}

fn slo_table(verdicts: &[Verdict]) -> String {
    let mut t =
        String::from("<table><tr><th>SLO condition</th><th>measured</th><th>verdict</th></tr>\n");
    for v in verdicts {
        let (class, word) = if v.pass {
            ("pass", "PASS")
        } else {
            ("fail", "FAIL")
        };
        let _ = writeln!(
            t,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"{class}\">{word}</td></tr>",
            esc(&v.condition.text),
            esc(&v.measured_text())
        );
    }
    t.push_str("</table>\n");
    t
}

fn run_charts(s: &Summary) -> Vec<String> {
    let tl = &s.timeline;
    let xs = || tl.iter().map(|p| p.t_s);
    let ms = |v: u64| v as f64 / 1000.0;

    let mut throughput =
        LineChart::new("Throughput over time", "time since start (s)", "requests/s");
    throughput.series.push(Series::line(
        "achieved requests/s",
        PALETTE[0],
        xs().zip(tl.iter().map(|p| p.rps)).collect(),
    ));
    throughput.series.extend(stages::target_rate(s));
    if let Some(r) = s.info.rate.filter(|_| s.info.stages.is_none()) {
        throughput.hlines.push(Rule {
            at: r,
            label: format!("-R {} req/s", format_metric(r)),
            color: "#555",
        });
    }

    let mut latency = LineChart::new("Latency over time", "time since start (s)", "latency (ms)");
    for (name, color, pick) in [
        ("p50", PALETTE[0], 0usize),
        ("p90", PALETTE[1], 4),
        ("p99", PALETTE[3], 7),
    ] {
        latency.series.push(Series::line(
            name,
            color,
            xs().zip(tl.iter().map(|p| ms(p.quantiles_us[pick])))
                .collect(),
        ));
    }

    let mut errors = LineChart::new("Errors over time", "time since start (s)", "errors/s");
    let per_s = per_second(tl, |p| p.errors);
    errors.series.push(Series::line(
        "errors/s (transport errors + non-2xx/3xx + failed checks)",
        PALETTE[3],
        per_s,
    ));

    let mut spec = LineChart::new(
        "Latency by percentile",
        "percentile (log scale of 1/(1-p))",
        "latency (ms)",
    );
    spec.x = Axis::Percentile;
    spec.series.push(Series::line(
        if s.info.rate.is_some() {
            "latency (from the scheduled time)"
        } else {
            "latency"
        },
        PALETTE[0],
        spectrum(&s.latency),
    ));
    if s.info.rate.is_some() {
        spec.series.push(Series::line(
            "service time (from the write)",
            PALETTE[1],
            spectrum(&s.service),
        ));
    }
    spec.log_y_when_wide();

    let codes: Vec<(u16, u64)> = s.status_codes.iter().map(|(c, n)| (*c, *n)).collect();
    let mut status = BarChart::new("Responses by status code", "status code", "responses");
    // gRPC's codes (0-16) by name, beside HTTP's by number.
    let label = |c: u16| match c {
        0..100 => crate::proto::grpc::code_name(c).to_string(),
        _ => c.to_string(),
    };
    status.categories = codes.iter().map(|(c, _)| label(*c)).collect();
    status.series.push(BarSeries {
        name: "responses".into(),
        color: PALETTE[0].into(),
        values: codes.iter().map(|(_, n)| Some(*n as f64)).collect(),
    });
    let color = |c: u16| match c {
        0 => status_color(200),
        1..100 => status_color(500),
        _ => status_color(c),
    };
    status.bar_colors = Some(codes.iter().map(|(c, _)| color(*c).into()).collect());
    for (class, lo, hi) in [
        ("2xx", 200, 299),
        ("3xx", 300, 399),
        ("4xx", 400, 499),
        ("5xx", 500, 599),
    ] {
        if codes.iter().any(|(c, _)| (lo..=hi).contains(c)) {
            status.legend.push((class.into(), status_color(lo).into()));
        }
    }
    for (class, code, wanted) in [("gRPC OK", 200, 0..1), ("gRPC error", 500, 1..100)] {
        if codes.iter().any(|(c, _)| wanted.contains(c)) {
            status
                .legend
                .push((class.into(), status_color(code).into()));
        }
    }
    if codes
        .iter()
        .any(|(c, _)| *c >= 100 && !(200..600).contains(c))
    {
        status.legend.push(("other".into(), status_color(0).into()));
    }
    status.value_label = |v| format!("{v:.0}");

    for chart in [&mut throughput, &mut latency, &mut errors] {
        stages::mark(s, chart);
    }
    let mut out = vec![throughput.render()];
    out.extend(stages::users_chart(s));
    out.extend([
        latency.render(),
        errors.render(),
        spec.render(),
        status.render(),
    ]);
    out
}
