//! Report files: `--csv` against the JSON of the same run, `--html` pages
//! opened in a real headless browser, and `blast report` comparing saved
//! runs. Every report comes from the real binary run against a real server.

use super::support::{
    chromium_or_skip, command, csv, delay_server, num, ok, run, run_cmd, Behavior, Scratch, Server,
};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// A fresh, empty scratch directory for one test.
fn scratch(name: &str) -> Scratch {
    Scratch::new(&format!("reports-{name}"))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// The same float, as two texts of it read back. The CSV prints floats
/// so they read back exactly, but serde_json's default parser (without its
/// `float_roundtrip` feature) may land one unit in the last place off.
fn same_float(csv: f64, json: f64) -> bool {
    (csv - json).abs() <= json.abs() * 1e-15
}

/// A JSON latency in µs as the CSV's milliseconds.
fn ms(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number")) / 1000.0
}

#[test]
fn csv_equals_json() {
    // 500 requests of 5 ms over 2 connections: about 1.3 s, so the history
    // has more than one second.
    let server = delay_server(5);
    let dir = scratch("csv");
    let prefix = dir.join("run");
    let out = ok(&[
        "-n",
        "500",
        "-c",
        "2",
        "-t",
        "1",
        "--engine",
        "epoll",
        "--json",
        "--csv",
        s(&prefix),
        &server.url(),
    ]);
    let j: Value = serde_json::from_str(&out).expect("JSON report");
    assert_eq!(j["requests"], 500);
    assert_eq!(server.requests(), 500);

    let stats = csv(&dir.join("run_stats.csv"));
    assert_eq!(
        stats[0].join(","),
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
         Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,\
         50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
    );
    assert_eq!(stats.len(), 3, "{stats:?}");
    assert_eq!(&stats[1][..2], ["GET", "/"]);
    assert_eq!(&stats[2][..2], ["", "Aggregated"]);
    assert_eq!(
        stats[1][2..],
        stats[2][2..],
        "one request class: same numbers"
    );

    let lat = &j["latency_us"];
    let e = &j["errors"];
    let failures: u64 = ["connect", "read", "write", "timeout", "parse", "status"]
        .iter()
        .map(|k| e[k].as_u64().unwrap())
        .sum();
    let row = &stats[1];
    let col = |name: &str| -> f64 {
        let i = stats[0]
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        num(&row[i])
    };
    assert_eq!(col("Request Count"), 500.0);
    assert_eq!(col("Failure Count"), failures as f64);
    // Exact equality: both sides are the same integer µs divided by 1000.
    assert_eq!(col("Median Response Time"), ms(&lat["p50"]));
    let mean = col("Average Response Time");
    assert!(
        same_float(mean, ms(&lat["mean"])),
        "{mean} vs {}",
        lat["mean"]
    );
    assert_eq!(col("Min Response Time"), ms(&lat["min"]));
    assert_eq!(col("Max Response Time"), ms(&lat["max"]));
    assert_eq!(col("50%"), ms(&lat["p50"]));
    assert_eq!(col("75%"), ms(&lat["p75"]));
    assert_eq!(col("90%"), ms(&lat["p90"]));
    assert_eq!(col("99%"), ms(&lat["p99"]));
    assert_eq!(col("99.9%"), ms(&lat["p99_9"]));
    assert_eq!(col("99.99%"), ms(&lat["p99_99"]));
    assert_eq!(col("100%"), ms(&lat["max"]));
    // The delay is 5 ms: the numbers are milliseconds, not µs or seconds.
    assert!((5.0..1000.0).contains(&col("50%")), "{row:?}");
    // The columns the JSON lacks sit in order between those it has.
    let pcts: Vec<f64> = stats[0][11..].iter().map(|h| col(h)).collect();
    assert!(pcts.windows(2).all(|w| w[0] <= w[1]), "{pcts:?}");
    let rps = col("Requests/s");
    assert!(
        same_float(rps, j["rps"].as_f64().unwrap()),
        "{rps} vs {}",
        j["rps"]
    );
    assert_eq!(
        col("Average Content Size"),
        j["bytes_read"].as_f64().unwrap() / 500.0
    );

    let history = csv(&dir.join("run_stats_history.csv"));
    let timeline = j["timeline"].as_array().unwrap();
    assert!(timeline.len() >= 2, "{timeline:?}");
    assert_eq!(history.len() - 1, timeline.len());
    assert_eq!(history[0].len(), 24);
    assert_eq!(
        history[0][..6].join(","),
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s"
    );
    for (row, point) in history[1..].iter().zip(timeline) {
        assert_eq!(row.len(), 24, "{row:?}");
        assert_eq!(row[1], "2");
        assert_eq!(&row[2..4], ["", "Aggregated"]);
        assert!(
            same_float(num(&row[4]), point["rps"].as_f64().unwrap()),
            "{row:?}"
        );
        assert_eq!(num(&row[6]), ms(&point["p50_us"]));
        assert_eq!(num(&row[10]), ms(&point["p90_us"]));
        assert_eq!(num(&row[13]), ms(&point["p99_us"]));
    }
    let last = history.last().unwrap();
    assert_eq!(num(&last[17]), 500.0, "Total Request Count");
    assert_eq!(num(&last[18]), failures as f64, "Total Failure Count");
    assert_eq!(num(&last[21]), ms(&lat["min"]), "Total Min");
    assert_eq!(num(&last[22]), ms(&lat["max"]), "Total Max");
    // Timestamps are unix seconds of this run, in order.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let stamps: Vec<f64> = history[1..].iter().map(|r| num(&r[0])).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");
    assert!(
        stamps.iter().all(|t| (now - 60.0..=now + 1.0).contains(t)),
        "{stamps:?}"
    );
}

/// The `<svg class="chart">` elements of a page, each as its markup.
fn charts(dom: &str) -> Vec<&str> {
    dom.split("<svg class=\"chart\"").skip(1).collect()
}

/// A chart draws data: a polyline with at least two points, or a bar with a
/// height.
fn has_data(svg: &str) -> bool {
    let polyline = svg
        .split("<polyline class=\"series\" points=\"")
        .skip(1)
        .any(|rest| {
            let points = rest.split('"').next().unwrap_or("");
            points.split_whitespace().count() >= 2
        });
    let bar = svg.split("<rect class=\"bar\"").skip(1).any(|rest| {
        let tag = rest.split('>').next().unwrap_or("");
        tag.split("height=\"")
            .nth(1)
            .and_then(|h| h.split('"').next())
            .and_then(|h| h.parse::<f64>().ok())
            .is_some_and(|h| h > 0.0)
    });
    polyline || bar
}

fn check_page(dom: &str, name: &str, expected: usize) {
    let c = charts(dom);
    assert_eq!(c.len(), expected, "{name}: charts in {dom}");
    for (i, svg) in c.iter().enumerate() {
        assert!(has_data(svg), "{name}: chart {i} draws nothing: {svg}");
    }
    assert!(!dom.contains("NaN"), "{name}: NaN in the page");
    assert!(!dom.contains(">no data<"), "{name}: a chart has no data");
}

/// Run headless Chromium on a page with a fresh profile; `mode` is
/// `--dump-dom` or `--screenshot=PNG`.
fn render(dir: &Path, page: &Path, mode: &str) -> String {
    let profile = scratch(&format!(
        "profile-{}-{}",
        page.file_stem().unwrap().to_string_lossy(),
        mode.len()
    ));
    let mut cmd = super::support::chromium(&profile);
    cmd.args([
        "--window-size=1280,2400",
        mode,
        &format!("file://{}", s(page)),
    ])
    .current_dir(dir)
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let r = run_cmd(cmd, Duration::from_secs(60));
    assert_eq!(r.code, 0, "chromium {mode} {page:?}: {}", r.stderr);
    r.stdout
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

#[test]
fn html_reports_render_in_a_browser() {
    let dir = scratch("html");
    let path = |name: &str| dir.join(name);

    // A single run with an SLO.
    let one = delay_server(1);
    ok(&[
        "-c",
        "4",
        "-t",
        "1",
        "-d",
        "2s",
        "--engine",
        "epoll",
        "--slo",
        "p99<1s",
        "--check",
        "status == 200",
        "--html",
        s(&path("run.html")),
        &one.url(),
    ]);

    // A search against a server of fixed capacity (200 req/s).
    let capacity = Server::start(Behavior::Capacity {
        per_request: Duration::from_millis(5),
        lock: Default::default(),
    });
    let r = run_cmd(
        command(&[
            "find",
            "--slo",
            "p99<250ms",
            "--start",
            "20",
            "--max",
            "800",
            "--step-duration",
            "500ms",
            "--precision",
            "30%",
            "-c",
            "8",
            "-t",
            "1",
            "--engine",
            "epoll",
            "--html",
            s(&path("find.html")),
            &capacity.url(),
        ]),
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    // Three "frameworks" of different speed, compared.
    let mut files = Vec::new();
    for (name, delay) in [("flask", 20), ("fastapi", 5), ("aiohttp", 1)] {
        let server = delay_server(delay);
        let json = ok(&[
            "-c",
            "4",
            "-t",
            "1",
            "-d",
            "1s",
            "--engine",
            "epoll",
            "--json",
            &server.url(),
        ]);
        let file = path(&format!("{name}.json"));
        std::fs::write(&file, json).unwrap();
        files.push(file);
    }
    let table = ok(&[
        "report",
        s(&files[0]),
        s(&files[1]),
        s(&files[2]),
        "--html",
        s(&path("compare.html")),
    ]);
    assert_eq!(table.lines().count(), 4, "{table}");

    let pages = [("run", 5), ("find", 2), ("compare", 5)];
    // The pages as written: checked even where no browser is installed.
    for (name, n) in pages {
        let html = std::fs::read_to_string(path(&format!("{name}.html"))).unwrap();
        assert!(
            !html.contains("<script"),
            "{name}: self-contained, no script"
        );
        assert!(!html.contains("http-equiv"), "{name}");
        assert!(!html.contains(" src="), "{name}: nothing fetched");
        check_page(&html, name, n);
    }
    // The run's check, in k6's table: every response passed it.
    let run = std::fs::read_to_string(path("run.html")).unwrap();
    assert!(run.contains("<h2>Checks</h2>"), "run: no checks table");
    assert!(
        run.contains("<td class=\"url\">status == 200</td><td class=\"n pass\">100.00%</td>"),
        "run: the check's row"
    );

    if !chromium_or_skip() {
        return;
    }
    std::fs::write(
        path("empty.html"),
        "<!DOCTYPE html><html><body></body></html>",
    )
    .unwrap();
    render(
        &dir,
        &path("empty.html"),
        &format!("--screenshot={}", s(&path("empty.png"))),
    );
    let blank = std::fs::read(path("empty.png")).unwrap();
    assert_eq!(png_size(&blank), (1280, 2400));
    for (name, n) in pages {
        let page = path(&format!("{name}.html"));
        let dom = render(&dir, &page, "--dump-dom");
        check_page(&dom, name, n);
        let png = path(&format!("{name}.png"));
        render(&dir, &page, &format!("--screenshot={}", s(&png)));
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(png_size(&bytes), (1280, 2400), "{name}");
        // A blank page compresses to ~14 KB; charts, tables and text do not.
        assert!(
            bytes.len() > 50_000 && bytes.len() > 3 * blank.len(),
            "{name}: screenshot of {} bytes looks blank (empty page: {})",
            bytes.len(),
            blank.len()
        );
    }
}

#[test]
fn report_compares_saved_runs() {
    let dir = scratch("table");
    let server = Server::start(Behavior::Fixed {
        status: 200,
        body: b"hello".to_vec(),
    });
    let mut docs = Vec::new();
    for name in ["a", "b"] {
        let out = ok(&[
            "-n",
            "200",
            "-c",
            "2",
            "-t",
            "1",
            "--engine",
            "epoll",
            "--json",
            &server.url(),
        ]);
        let file = dir.join(format!("{name}.json"));
        std::fs::write(&file, &out).unwrap();
        docs.push((file, serde_json::from_str::<Value>(&out).unwrap()));
    }
    let table = ok(&[
        "report",
        s(&docs[0].0),
        s(&docs[1].0),
        "--labels",
        "flask,fastapi",
    ]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("run "), "{table}");
    for (line, (label, doc)) in lines[1..]
        .iter()
        .zip([("flask", &docs[0].1), ("fastapi", &docs[1].1)])
    {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[0], label);
        assert_eq!(cells[1], "200");
        assert_eq!(cells[2], format!("{:.2}", doc["rps"].as_f64().unwrap()));
        assert_eq!(cells[7], "0.00%");
    }
    // Without --labels, the file stems name the runs.
    let table = ok(&["report", s(&docs[0].0), s(&docs[1].0)]);
    assert!(table.lines().nth(1).unwrap().starts_with("a "), "{table}");
}

#[test]
fn report_bad_input_is_usage_error() {
    let dir = scratch("bad");
    let missing = dir.join("missing.json");
    let r = run(&["report", s(&missing)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("missing.json"), "{}", r.stderr);
    assert!(r.stdout.is_empty());

    let not_json = dir.join("notes.json");
    std::fs::write(&not_json, "hello").unwrap();
    let r = run(&["report", s(&not_json)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("notes.json"), "{}", r.stderr);

    let other = dir.join("other.json");
    std::fs::write(&other, r#"{"hello": "world"}"#).unwrap();
    let r = run(&["report", s(&other)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("not a blast --json report"),
        "{}",
        r.stderr
    );

    let r = run(&["report", s(&other), s(&missing), "--labels", "one"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("--labels"), "{}", r.stderr);
}
