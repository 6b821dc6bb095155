//! The streaming side of the reports with synthetic summaries: the
//! timeline's `output_tokens`, the three CSV files (equal to the JSON,
//! number by number), the HTML section and `blast report`'s table; and
//! nothing of it for a run that did not stream.

use super::compare::Row;
use super::tests::{clean, hist};
use super::*;
use crate::stats::{latency_histogram, TimelinePoint};
use serde_json::Value;

/// `clean()` as an LLM run: 100 streamed responses of 20 tokens (10 of
/// them counted from events), 60 good under `--slo`, two timeline seconds.
fn streamed() -> Summary {
    let mut s = clean();
    s.info.goodput = true;
    let st = &mut s.stream;
    st.ttft = hist(
        latency_histogram(),
        &[(50_000, 60), (52_000, 30), (90_000, 10)],
    );
    st.itl = hist(latency_histogram(), &[(5_000, 1800), (7_500, 100)]);
    st.tpot = hist(latency_histogram(), &[(5_100, 90), (5_300, 10)]);
    st.tokens = 2000;
    st.responses = 100;
    st.from_usage = 90;
    st.good = 60;
    let first = s.timeline[0].clone();
    s.timeline[0].output_tokens = 1200;
    s.timeline.push(TimelinePoint {
        t_s: 1.5,
        output_tokens: 800,
        ..first
    });
    s
}

fn csv(f: impl Fn(&mut Vec<u8>) -> std::io::Result<()>) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    f(&mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

fn num(cell: &str) -> f64 {
    cell.parse()
        .unwrap_or_else(|_| panic!("{cell:?} is not a number"))
}

#[test]
fn timeline_has_output_tokens_only_when_streamed() {
    let j = to_json(&streamed());
    assert_eq!(j["timeline"][0]["output_tokens"], 1200);
    assert_eq!(j["timeline"][1]["output_tokens"], 800);
    let plain = to_json(&clean());
    assert!(plain["timeline"][0].get("output_tokens").is_none());
}

#[test]
fn streaming_csv_equals_the_json() {
    let s = streamed();
    let j = to_json(&s);
    let rows = csv(|w| csv::write_streaming(w, &s));
    assert_eq!(
        rows[0].join(","),
        "Metric,Count,Mean,Min,50%,75%,90%,97%,99%,99.9%,99.99%,Max"
    );
    let keys = ["p50", "p75", "p90", "p97", "p99", "p99_9", "p99_99"];
    for (row, (name, key, count)) in rows[1..].iter().zip([
        ("TTFT", "ttft_us", 100),
        ("TPOT", "tpot_us", 100),
        ("ITL", "itl_us", 1900),
        ("E2EL", "latency_us", 10),
    ]) {
        let l = &j[key];
        assert_eq!(row[0], name);
        assert_eq!(num(&row[1]), count as f64, "{name} count");
        assert_eq!(
            num(&row[2]),
            l["mean"].as_f64().unwrap() / 1000.0,
            "{name} mean"
        );
        assert_eq!(row[3], ms(l["min"].as_u64().unwrap()), "{name} min");
        for (cell, k) in row[4..11].iter().zip(keys) {
            assert_eq!(*cell, ms(l[k].as_u64().unwrap()), "{name} {k}");
        }
        assert_eq!(row[11], ms(l["max"].as_u64().unwrap()), "{name} max");
    }
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[1][4], "50.015", "TTFT p50 in ms (the bucket's top)");

    let t = csv(|w| csv::write_streaming_totals(w, &s));
    assert_eq!(
        t[0].join(","),
        "Streamed Responses,Output Tokens,Output Tokens/s,Token Count Source,Goodput Requests/s"
    );
    assert_eq!(num(&t[1][0]), j["streamed_responses"].as_f64().unwrap());
    assert_eq!(num(&t[1][1]), j["output_tokens"].as_f64().unwrap());
    assert_eq!(num(&t[1][2]), j["output_tokens_per_s"].as_f64().unwrap());
    assert_eq!(t[1][3], "mixed");
    assert_eq!(t[1][3], j["token_count_source"].as_str().unwrap());
    assert_eq!(num(&t[1][4]), j["goodput_rps"].as_f64().unwrap());
    assert_eq!(num(&t[1][4]), 2.0, "60 good in 30 s");

    let h = csv(|w| csv::write_streaming_history(w, &s, 1_700_000_000.0));
    assert_eq!(h[0].join(","), "Timestamp,Output Tokens,Output Tokens/s");
    assert_eq!(h[1], ["1700000001", "1200", "1200.0"]);
    assert_eq!(
        h[2],
        ["1700000001", "800", "1600.0"],
        "800 in half a second"
    );
}

#[test]
fn goodput_cell_is_empty_without_slo() {
    let mut s = streamed();
    s.info.goodput = false;
    let t = csv(|w| csv::write_streaming_totals(w, &s));
    assert_eq!(t[1][4], "");
    assert_eq!(to_json(&s)["goodput_rps"], Value::Null);
}

#[test]
fn csv_files_only_for_a_streamed_run() {
    let files = |s: &Summary| {
        let mut names = Vec::new();
        csv::write_files(s, 1_700_000_000.0, |suffix| {
            names.push(suffix.to_string());
            Ok(Vec::new())
        })
        .unwrap();
        names
    };
    let plain = ["stats", "stats_history", "failures", "exceptions"];
    assert_eq!(files(&clean()), plain);
    let streaming = ["streaming", "streaming_totals", "streaming_history"];
    assert_eq!(files(&streamed()), [&plain[..], &streaming[..]].concat());
}

#[test]
fn html_streaming_section() {
    let page = html::render_run(&streamed(), None);
    let (_, section) = page
        .split_once("<h2>Streaming</h2>")
        .expect("a Streaming section");
    assert_eq!(section.matches("<svg class=\"chart\"").count(), 3);
    assert_eq!(section.matches("<polyline class=\"series\"").count(), 3);
    for text in [
        "Time to first token by percentile",
        "Inter-token latency by percentile",
        "Output tokens over time",
        "TTFT p99",
        "ITL p50",
        "TPOT p90",
        "66.67",
        "mixed",
    ] {
        assert!(section.contains(text), "{text} in the section");
    }
    assert!(!html::render_run(&clean(), None).contains("Streaming"));
}

fn doc(s: &Summary) -> Value {
    to_json(s)
}

#[test]
fn report_table_streaming_rows() {
    let plain = Row::from_json("plain", &doc(&clean())).unwrap();
    assert!(plain.stream.is_none());
    let mut out = Vec::new();
    compare::write_stream_table(&mut out, std::slice::from_ref(&plain)).unwrap();
    assert!(out.is_empty(), "nothing for runs without streaming");

    let llm = Row::from_json("llm", &doc(&streamed())).unwrap();
    let mut out = Vec::new();
    compare::write_stream_table(&mut out, &[llm.clone(), plain.clone()]).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], "");
    assert_eq!(
        lines[1],
        "run    TTFT p50  TTFT p99  TPOT p50  ITL p50  tokens/s  goodput/s"
    );
    assert_eq!(
        lines[2],
        "llm     50.02ms   90.05ms    5.10ms   5.00ms     66.67       2.00"
    );
    assert_eq!(
        lines[3],
        "plain         -         -         -        -         -          -"
    );

    let page = html::render_compare(&[llm, plain]);
    let (_, t) = page.split_once("<h2>Streaming</h2>").unwrap();
    assert!(t.contains("<td class=\"n\">66.67</td>"));
    assert!(
        !html::render_compare(&[Row::from_json("p", &doc(&clean())).unwrap()])
            .contains("Streaming")
    );
}
