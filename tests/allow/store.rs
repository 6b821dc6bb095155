//! Defect 5: `blast serve` started on a history that holds broken or lying
//! `meta.json` files starts, keeps every good run as it was, and names each
//! file it skipped.

use super::call;
use crate::support::serve::{serve_cmd, Served};
use crate::support::Scratch;
use serde_json::json;

const GOOD: &str = "20261206-022447-704";

fn put(dir: &Scratch, id: &str, file: &str, text: &str) -> String {
    let run = dir.join("runs").join(id);
    std::fs::create_dir_all(&run).unwrap();
    let path = run.join(file);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn the_folder_name_is_the_id_and_bad_records_are_skipped_by_name() {
    let dir = Scratch::new("allow-store");
    let summary = json!({"requests": 600, "errors": 0, "p99_ms": 1.5});
    let good = json!({
        "id": GOOD, "status": "done", "url": "http://127.0.0.1:9/",
        "created_at": "2026-12-06T02:24:47.704Z", "finished_at": "2026-12-06T02:24:50.704Z",
        "request": {"url": "http://127.0.0.1:9/"}, "notices": [], "error": null,
        "summary": summary,
    });
    put(&dir, GOOD, "meta.json", &good.to_string());
    put(&dir, GOOD, "result.json", r#"{"requests": 600}"#);
    // A run that was going when the last server was killed (-9).
    let cut = "20260101-000000-001";
    let mut running = good.clone();
    running["id"] = cut.into();
    running["status"] = "running".into();
    running["summary"] = serde_json::Value::Null;
    put(&dir, cut, "meta.json", &running.to_string());
    // The two records of the issue, and one that is not JSON.
    let no_id = put(
        &dir,
        "20260101-000000-002",
        "meta.json",
        r#"{"status":"running"}"#,
    );
    let liar = put(
        &dir,
        "20260101-000000-003",
        "meta.json",
        &json!({"id": GOOD, "status": "running", "url": 5}).to_string(),
    );
    let torn = put(&dir, "20260101-000000-004", "meta.json", r#"{"id": "2026"#);

    let s = Served::spawn(serve_cmd(&dir, &[]));
    let (status, j) = call(&s, "GET", &format!("/benchmarks/{GOOD}"), "");
    assert_eq!(status, 200, "{j}");
    assert_eq!(
        (&j["id"], &j["status"]),
        (&GOOD.into(), &"done".into()),
        "{j}"
    );
    assert_eq!(j["summary"], summary, "{j}");
    assert_eq!(j["result"]["requests"], 600, "{j}");
    let (status, j) = call(&s, "GET", &format!("/benchmarks/{cut}"), "");
    assert_eq!(status, 200, "{j}");
    assert_eq!(j["status"], "lost", "{j}");
    let (_, list) = call(&s, "GET", "/benchmarks", "");
    let ids: Vec<&str> = list["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [GOOD, cut], "{list}");
    for bad in ["20260101-000000-002", "20260101-000000-003"] {
        let (status, j) = call(&s, "GET", &format!("/benchmarks/{bad}"), "");
        assert_eq!(status, 404, "{bad}: {j}");
    }
    let stderr = s.stderr_after_stop();
    for (file, why) in [(no_id, "id"), (liar, "id"), (torn, "JSON")] {
        let line = stderr
            .lines()
            .find(|l| l.contains(&file))
            .unwrap_or_else(|| panic!("{file} is not named:\n{stderr}"));
        assert!(line.contains("skipped") && line.contains(why), "{line}");
    }
    // The good record on disk is still the good run's.
    let on_disk = std::fs::read_to_string(dir.join("runs").join(GOOD).join("meta.json")).unwrap();
    let on_disk: serde_json::Value = serde_json::from_str(&on_disk).unwrap();
    assert_eq!(on_disk, good);
}
