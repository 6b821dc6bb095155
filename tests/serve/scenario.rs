//! `POST /benchmark` with a scenario given as its TOML text: the mix runs,
//! per-name results come back, and a scenario that names a file on the
//! load box is refused before anything starts.

use super::client::{data_dir, Serve};
use blast::target::{self, TargetOptions};
use std::net::SocketAddr;

#[test]
fn a_scenario_as_text_runs_its_mix_and_may_name_no_file() {
    let t = target::start(TargetOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        record: 1,
        ..TargetOptions::default()
    })
    .unwrap();
    let dir = data_dir("scenario");
    let s = Serve::start(&dir, &[]);
    let scenario = "[[request]]\nname = \"predict\"\npath = \"/predict\"\nbody = '{\"x\": 1}'\nweight = 3\n\n[[request]]\nname = \"health\"\npath = \"/health\"\n";
    let body = serde_json::json!({
        "url": format!("http://{}", t.addr()),
        "requests": 400,
        "num_workers": 4,
        "scenario": scenario,
    });
    let j = s.run_waiting(&body.to_string());
    assert_eq!(j["requests"], 400);
    let (p, h) = (
        j["by_name"]["predict"]["requests"].as_u64().unwrap(),
        j["by_name"]["health"]["requests"].as_u64().unwrap(),
    );
    assert_eq!(p + h, 400);
    assert_eq!(j["by_name"]["predict"]["method"], "POST");
    assert!((250..=350).contains(&p), "predict {p} of 400 at weight 3:1");
    assert_eq!(t.requests(), 400);

    // Files on the load box may not be named: data, body_file, form files.
    for (bad, what) in [
        (
            "data = \"/etc/passwd\"\n[[request]]\npath = \"/a\"\n",
            "data",
        ),
        (
            "[[request]]\npath = \"/a\"\nbody_file = \"/etc/passwd\"\n",
            "body_file",
        ),
        (
            "[[request]]\npath = \"/a\"\nform = [\"f=@/etc/passwd\"]\n",
            "form file",
        ),
        ("[[request]]\nwieght = 3\npath = \"/a\"\n", "unknown field"),
    ] {
        let body = serde_json::json!({"url": format!("http://{}", t.addr()), "scenario": bad});
        let r = s.post("/benchmark?wait=true", &body.to_string());
        assert_eq!(r.status, 400, "{what}: {}", r.body);
        let e = r.json();
        assert_eq!(e["field"], "scenario", "{what}: {e}");
        assert!(e["error"].as_str().unwrap().contains(what), "{what}: {e}");
    }
    assert_eq!(t.requests(), 400, "a refused scenario sent nothing");
    t.stop();
}
