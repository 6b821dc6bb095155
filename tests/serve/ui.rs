//! The web UI in a real browser (acceptance 5): headless Chromium, driven
//! through the DevTools protocol (`cdp`), starts a run from the form
//! against `blast target`, watches the live charts gain points, stops it,
//! and finds it in the history with its report. Without Chromium the
//! browser tests skip on a dev machine and fail in CI (`CI=true`).

use super::cdp::Browser;
use super::client::{call, data_dir, Serve};
use super::{target, url};
use crate::support::chromium_or_skip;
use serde_json::Value;
use std::time::{Duration, Instant};

const SEC: Duration = Duration::from_secs(1);

fn browser_or_skip() -> Option<Browser> {
    if !chromium_or_skip() {
        return None;
    }
    Some(Browser::launch(1280, 1300))
}

/// How many points the chart `#id` plots.
fn plotted(b: &mut Browser, id: &str) -> u64 {
    b.eval(&format!(
        "(() => {{ const l = document.querySelector('#{id} polyline'); \
         return l ? l.points.numberOfItems : 0; }})()"
    ))
    .as_u64()
    .unwrap()
}

#[test]
fn web_ui_starts_watches_and_stops_a_run() {
    let Some(mut b) = browser_or_skip() else {
        return;
    };
    let t = target();
    let dir = data_dir("ui");
    let s = Serve::start(&dir, &[]);
    // An earlier run, for the history.
    let earlier = format!(r#"{{"url": "{}", "qps": 20, "duration": 1}}"#, url(&t));
    assert_eq!(s.post("/benchmark?wait=true", &earlier).status, 200);
    let before = t.requests();
    let base = format!("http://{}", s.addr);
    b.navigate(&format!("{base}/"));
    b.wait_for(
        "document.readyState === 'complete' && !!document.querySelector('#chart-rps svg') && \
         document.querySelectorAll('#history tbody tr').length === 1",
        10 * SEC,
    );

    // Fill the form as a user would, and press Start.
    let fill = format!(
        "(() => {{ const set = (id, v) => {{ const e = document.getElementById(id); e.value = v; \
         e.dispatchEvent(new Event('input', {{bubbles: true}})); }}; \
         set('url', {}); set('rate', '50'); set('duration', '8'); set('connections', '4'); \
         set('slo', 'p99<500ms'); return true; }})()",
        Value::from(url(&t))
    );
    b.eval(&fill);
    b.click("start");
    let id = b
        .wait_for(
            "document.getElementById('run-status').dataset.status === 'running' && \
             document.getElementById('run-title').textContent.replace('Run ', '')",
            5 * SEC,
        )
        .as_str()
        .unwrap()
        .to_string();
    let r = s.get(&format!("/benchmarks/{id}")).json();
    assert_eq!(r["status"], "running", "{r}");
    assert_eq!(r["request"]["qps"], 50, "{r}");
    assert_eq!(r["request"]["num_workers"], 4, "{r}");

    // The live chart gains points, one a second.
    b.wait_for(
        "+document.getElementById('chart-rps').dataset.points >= 1",
        5 * SEC,
    );
    let first = plotted(&mut b, "chart-rps");
    assert!(first >= 1);
    let deadline = Instant::now() + 5 * SEC;
    while plotted(&mut b, "chart-rps") < first.max(2) + 1 {
        assert!(
            Instant::now() < deadline,
            "the chart stays at {first} points"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let n = plotted(&mut b, "chart-rps");
    let lat = b.eval("[...document.querySelectorAll('#chart-latency polyline')].map(l => l.points.numberOfItems)");
    assert_eq!(lat.as_array().unwrap().len(), 3, "p50, p90, p99: {lat}");
    assert!(plotted(&mut b, "chart-errors") >= 1);
    let stats = b.eval("document.getElementById('stats').innerText");
    assert!(stats.as_str().unwrap().contains("Requests/s"), "{stats}");
    eprintln!("web UI: the chart went from {first} to {n} points");

    let png = b.screenshot();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 30_000,
        "{}",
        png.len()
    );
    let shot = std::env::var("BLAST_UI_SCREENSHOT")
        .unwrap_or_else(|_| dir.join("serve-ui.png").to_string_lossy().into_owned());
    std::fs::write(&shot, &png).unwrap();
    eprintln!("web UI: screenshot in {shot}");

    // Stop: the run ends within a second or two, stopped, with its report.
    let pressed = Instant::now();
    b.click("stop");
    b.wait_for(
        "document.getElementById('run-status').dataset.status === 'stopped'",
        5 * SEC,
    );
    eprintln!(
        "web UI: stopped {:?} after pressing Stop",
        pressed.elapsed()
    );
    let r = s.get(&format!("/benchmarks/{id}")).json();
    assert_eq!(r["status"], "stopped", "{r}");
    assert_eq!(r["result"]["interrupted"], true);
    assert!(r["result"]["duration_s"].as_f64().unwrap() < 7.9, "{r}");
    // The target counts what it received; a request written just before
    // Stop, whose answer blast no longer read, is in flight at the end.
    let answered = r["result"]["requests"].as_u64().unwrap();
    let in_flight = r["result"]["in_flight_at_end"].as_u64().unwrap();
    assert_eq!(answered + in_flight, t.requests() - before, "{r}");

    // The history lists it, with a working report link; the report shows.
    let href = b
        .wait_for(
            &format!(
                "(() => {{ const tr = document.querySelector('#history tr[data-id=\"{id}\"]'); \
                 const a = tr && tr.dataset.status === 'stopped' && tr.querySelector('a[data-file=\"report.html\"]'); \
                 return a ? a.getAttribute('href') : null; }})()"
            ),
            5 * SEC,
        )
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(href, format!("/benchmarks/{id}/report.html"));
    let got = b.eval(&format!(
        "fetch('{href}').then(async r => [r.status, r.headers.get('content-type'), (await r.text()).includes('<svg')])"
    ));
    assert_eq!(
        got,
        serde_json::json!([200, "text/html; charset=utf-8", true])
    );
    let report = s.get(&href);
    assert_eq!(report.status, 200);
    b.wait_for(
        "document.getElementById('report').srcdoc.includes('<svg') && \
         !document.getElementById('report-panel').classList.contains('hidden')",
        5 * SEC,
    );
    let downloads =
        b.eval("[...document.querySelectorAll('#downloads a')].map(a => a.dataset.file).join(' ')");
    assert_eq!(
        downloads,
        "report.html result.json stats.csv stats_history.csv run.hlog"
    );
    assert_eq!(b.eval("document.getElementById('message').textContent"), "");

    // The search of `POST /find` from the same form: its steps are drawn.
    b.eval(
        "(() => { const m = document.getElementById('mode'); m.value = 'find'; \
         m.dispatchEvent(new Event('change')); \
         for (const [id, v] of [['find-start', '50'], ['find-max', '200'], ['find-step', '0.3'], \
           ['connections', '2']]) document.getElementById(id).value = v; return true; })()",
    );
    assert_eq!(
        b.eval("getComputedStyle(document.getElementById('rate')).display === 'none' || document.getElementById('rate').offsetParent === null"),
        true,
        "the rate field hides for a search"
    );
    b.click("start");
    let steps = b.wait_for(
        "document.getElementById('run-status').dataset.status === 'done' && \
         +document.getElementById('chart-steps').dataset.points",
        20 * SEC,
    );
    assert_eq!(steps, 3, "offered 50, 100, 200");
    let table = b.eval("document.getElementById('stats').innerText");
    assert!(
        table.as_str().unwrap().contains("max sustainable"),
        "{table}"
    );
    let list = s.get("/benchmarks").json();
    assert_eq!(list["benchmarks"][0]["kind"], "find", "{list}");
    assert_eq!(
        list["benchmarks"][0]["summary"]["max_sustainable_rps"],
        200.0
    );
    drop(b);
    t.stop();
}

/// With a token: `/` needs it (header or `?token=`), the API still only
/// takes the header, and the page keeps it for its calls and reloads.
#[test]
fn web_ui_with_a_token() {
    let t = target();
    let dir = data_dir("ui-token");
    let mut s = Serve::start(&dir, &["--token", "s3cr/t"]);
    let page = call(s.addr, None, "GET", "/", None);
    assert_eq!(page.status, 401);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.body.contains("token"), "{}", page.body);
    assert_eq!(call(s.addr, None, "GET", "/?token=wrong", None).status, 401);
    assert_eq!(call(s.addr, None, "GET", "/?token=s3cr", None).status, 401);
    let ok = call(s.addr, None, "GET", "/?token=s3cr%2Ft", None);
    assert_eq!(ok.status, 200);
    assert!(ok.body.contains("function drawChart"));
    assert_eq!(ok.header("referrer-policy"), Some("no-referrer"));
    assert!(ok.header("access-control-allow-origin").is_none());
    assert_eq!(call(s.addr, Some("s3cr/t"), "GET", "/", None).status, 200);
    // The API does not take the query.
    assert_eq!(
        call(s.addr, None, "GET", "/benchmarks?token=s3cr%2Ft", None).status,
        401
    );

    s.token = Some("s3cr/t".into());
    // With checks: one that every answer passes, one that all fail.
    let body = format!(
        r#"{{"url": "{}", "qps": 20, "duration": 1,
             "checks": ["status == 200", "body contains zzz"]}}"#,
        url(&t)
    );
    let j = s.run_waiting(&body);
    let id = j["id"].as_str().unwrap().to_string();
    let failed = j["errors_by_kind"]["check"].as_u64().unwrap();
    assert!(failed > 0 && Some(failed) == j["requests"].as_u64(), "{j}");

    let Some(mut b) = browser_or_skip() else {
        return;
    };
    let base = format!("http://{}", s.addr);
    b.navigate(&format!("{base}/"));
    b.wait_for("document.title.includes('token needed')", 10 * SEC);
    b.navigate(&format!("{base}/?token=s3cr%2Ft"));
    let row = format!("#history tr[data-id=\"{id}\"]");
    b.wait_for(&format!("!!document.querySelector('{row}')"), 10 * SEC);
    assert_eq!(
        b.eval("location.search"),
        "",
        "the token left the address bar"
    );
    // Opening the run replays its feed and shows its report, all with the token.
    b.eval(&format!("document.querySelector('{row} a').click(), true"));
    b.wait_for(
        "document.getElementById('run-status').dataset.status === 'done' && \
         document.getElementById('report').srcdoc.includes('<svg')",
        10 * SEC,
    );
    assert!(plotted(&mut b, "chart-rps") >= 1);
    // The stats show the failed checks and each check's passes and fails.
    let stats = b.eval("document.getElementById('stats').innerText");
    let stats = stats.as_str().unwrap();
    let n = failed.to_string();
    for want in [
        format!("Failed checks\t\t{n}"),
        format!("Check status == 200\t\t100.00% ✓ {n} ✗ 0"),
        format!("Check body contains zzz\t\t0.00% ✓ 0 ✗ {n}"),
    ] {
        assert!(stats.contains(&want), "{want:?} not in {stats:?}");
    }
    // A reload goes through the 401 page, which reopens the UI.
    b.call("Page.reload", serde_json::json!({}));
    b.wait_for(&format!("!!document.querySelector('{row}')"), 10 * SEC);
    assert_eq!(b.eval("document.getElementById('message').textContent"), "");
    drop(b);
    t.stop();
}
