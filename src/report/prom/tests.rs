use super::*;
use crate::stats::export::{Buckets, Frame, NameFrame};
use crate::stats::ErrorCounts;

fn meta() -> RunMeta {
    RunMeta {
        id: "42".into(),
        url: "http://127.0.0.1:8080/api?q=1".into(),
        method: "GET".into(),
        engine: "uring".into(),
        protocol: "http/1.1".into(),
        start_s: 1_700_000_000.5,
        connections: 10,
        rate: Some(100.0),
        ramp_up: Duration::from_secs(10),
        stages: None,
    }
}

fn frame() -> Frame {
    let mut h = crate::stats::latency_histogram();
    h.record(150).unwrap();
    h.record(3_000).unwrap();
    Frame {
        elapsed: Duration::from_secs(5),
        done: false,
        names: vec![NameFrame {
            name: None,
            method: None,
            status: vec![(200, 2), (503, 1)],
            errors: ErrorCounts {
                status: 1,
                ..Default::default()
            },
            latency: Buckets::of(&h),
        }],
        unowned: ErrorCounts::default(),
        bytes_read: 300,
        streamed: 0,
        tokens: 0,
        ttft: Buckets::default(),
        itl: Buckets::default(),
        connections: 10,
        in_flight: 3,
    }
}

#[test]
fn exposition_names_series_as_prometheus_does() {
    let (m, f) = (meta(), frame());
    let text = text::render(&families(&[(&m, &f)]), false);
    for line in [
        "# TYPE blast_requests_total counter",
        "blast_requests_total{id=\"42\",name=\"/api?q=1\",method=\"GET\",status=\"503\"} 1",
        "blast_errors_total{id=\"42\",name=\"/api?q=1\",kind=\"status\"} 1",
        "blast_bytes_read_total{id=\"42\"} 300",
        "# TYPE blast_run_info gauge",
        "blast_run_start_time_seconds{id=\"42\"} 1700000000.5",
        "blast_request_duration_seconds_bucket{id=\"42\",name=\"/api?q=1\",le=\"0.0001\"} 0",
        "blast_request_duration_seconds_bucket{id=\"42\",name=\"/api?q=1\",le=\"0.0002\"} 1",
        "blast_request_duration_seconds_bucket{id=\"42\",name=\"/api?q=1\",le=\"0.005\"} 2",
        "blast_request_duration_seconds_bucket{id=\"42\",name=\"/api?q=1\",le=\"+Inf\"} 2",
        "blast_request_duration_seconds_count{id=\"42\",name=\"/api?q=1\"} 2",
        "blast_target_rate{id=\"42\"} 50",
        "blast_in_flight{id=\"42\"} 3",
        "blast_users{id=\"42\"} 10",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
    }
    assert!(
        !text.contains("ttft"),
        "a run that did not stream has no TTFT"
    );
    assert!(!text.contains("# EOF"));
    let om = text::render(&families(&[(&m, &f)]), true);
    assert!(om.contains("# TYPE blast_requests counter\n"));
    assert!(om.contains("# TYPE blast_run info\n"));
    assert!(om.ends_with("# EOF\n"));
}

#[test]
fn label_values_are_escaped() {
    let mut m = meta();
    m.url = "http://h/\"a\\b\nc".into();
    let f = frame();
    let text = text::render(&families(&[(&m, &f)]), false);
    assert!(text.contains(r#"url="http://h/\"a\\b\nc""#), "{text}");
}

#[test]
fn remote_write_round_trips_with_sorted_labels() {
    let (m, f) = (meta(), frame());
    let fams = families(&[(&m, &f)]);
    let req = remote::write_request(&fams, 1234);
    let n: usize = fams.iter().map(|f| f.samples.len()).sum();
    assert_eq!(req.timeseries.len(), n);
    let back = remote::decode(&remote::encode(&req)).unwrap();
    assert_eq!(back, req);
    for ts in &back.timeseries {
        assert!(ts.labels.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(ts.samples[0].timestamp, 1234);
    }
    let bytes = back.timeseries.iter().find(|t| {
        t.labels
            .iter()
            .any(|l| l.name == "__name__" && l.value == "blast_bytes_read_total")
    });
    assert_eq!(bytes.unwrap().samples[0].value, 300.0);
}
