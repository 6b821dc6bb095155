use super::*;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn stages(s: &str) -> Stages {
    Stages::new(parse_stages(s).unwrap()).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn parses_the_issue_example() {
    let v = parse_stages("30s:100,2m:100,30s:400,1m:400").unwrap();
    assert_eq!(
        v,
        vec![
            Stage {
                duration: secs(30.0),
                target: 100.0
            },
            Stage {
                duration: secs(120.0),
                target: 100.0
            },
            Stage {
                duration: secs(30.0),
                target: 400.0
            },
            Stage {
                duration: secs(60.0),
                target: 400.0
            },
        ]
    );
    assert_eq!(Stages::new(v).unwrap().total(), secs(240.0));
    let v = parse_stages(" 500ms : 2.5k , 0s:0, 1h:1M").unwrap();
    assert_eq!(
        v[0],
        Stage {
            duration: secs(0.5),
            target: 2500.0
        }
    );
    assert_eq!(v[1].target, 0.0);
    assert_eq!(
        v[2],
        Stage {
            duration: secs(3600.0),
            target: 1e6
        }
    );
}

#[test]
fn errors_name_the_item() {
    for (s, want) in [
        ("30x:100", "--stages: \"30x:100\": bad duration \"30x\""),
        ("30s:100,2m", "--stages: \"2m\": expected DURATION:TARGET"),
        ("30s:abc", "--stages: \"30s:abc\": bad target \"abc\""),
        ("30s:-5", "--stages: \"30s:-5\": bad target \"-5\""),
        ("30s:", "--stages: \"30s:\": bad target \"\""),
        (":100", "--stages: \":100\": bad duration \"\""),
        ("30s:100,", "--stages: \"\": expected DURATION:TARGET"),
        ("", "--stages: empty"),
    ] {
        let e = parse_stages(s).unwrap_err();
        assert!(e.starts_with(want), "{s}: {e}");
        assert!(!e.contains('\n'));
    }
    assert!(Stages::new(parse_stages("0s:100").unwrap())
        .unwrap_err()
        .contains("0s in all"));
    assert!(Stages::new(Vec::new()).is_err());
}

#[test]
fn ramps_from_zero_and_holds_flat_stages() {
    let s = stages("10s:100,10s:100,10s:400");
    assert_eq!(s.target_at(secs(0.0)), 0.0);
    assert!(close(s.target_at(secs(5.0)), 50.0));
    assert!(close(s.target_at(secs(9.999)), 99.99));
    assert!(close(s.target_at(secs(10.0)), 100.0));
    assert!(close(s.target_at(secs(15.0)), 100.0));
    assert!(close(s.target_at(secs(20.0)), 100.0));
    assert!(close(s.target_at(secs(25.0)), 250.0));
    assert!(
        close(s.target_at(secs(30.0)), 400.0),
        "the end: last target"
    );
    assert!(close(s.target_at(secs(99.0)), 400.0));
    // A stage that ramps down.
    let s = stages("10s:100,10s:0");
    assert!(close(s.target_at(secs(15.0)), 50.0));
}

#[test]
fn stage_boundaries_and_jumps() {
    let s = stages("10s:100,0s:400,10s:400,0s:0,5s:0");
    // At the instant a stage ends, the next is in force.
    assert_eq!(s.stage_at(secs(0.0)), 0);
    assert_eq!(s.stage_at(secs(9.999)), 0);
    // The jump (index 1) is never in force: stage 2 is, from 400.
    assert_eq!(s.stage_at(secs(10.0)), 2);
    assert!(close(s.target_at(secs(9.999)), 99.99));
    assert!(close(s.target_at(secs(10.0)), 400.0));
    assert!(close(s.target_at(secs(19.999)), 400.0));
    assert_eq!(s.stage_at(secs(20.0)), 4);
    assert_eq!(s.target_at(secs(20.0)), 0.0);
    assert_eq!(s.stage_at(secs(25.0)), 4, "past the end: the last");
    assert_eq!(s.stage_at(secs(100.0)), 4);
    // A jump first: full load from the start.
    let s = stages("0s:50,10s:50");
    assert_eq!(s.stage_at(Duration::ZERO), 1);
    assert_eq!(s.target_at(Duration::ZERO), 50.0);
}

#[test]
fn rate_ramps_start_from_the_given_rate() {
    let s = stages("10s:300,10s:300").starting_at(100.0);
    assert_eq!(s.target_at(Duration::ZERO), 100.0);
    assert!(close(s.target_at(secs(5.0)), 200.0));
    assert!(close(s.target_at(secs(12.0)), 300.0));
}

#[test]
fn sends_by_is_the_area_and_time_of_its_inverse() {
    // 0 -> 200 over 5s (500 requests), 200 flat for 5s (1000), jump to 600
    // flat for 5s (3000).
    let s = stages("5s:200,5s:200,0s:600,5s:600");
    assert!(close(s.sends_by(secs(0.0)), 0.0));
    assert!(close(s.sends_by(secs(1.0)), 20.0));
    assert!(close(s.sends_by(secs(5.0)), 500.0));
    assert!(close(s.sends_by(secs(7.5)), 1000.0));
    assert!(close(s.sends_by(secs(10.0)), 1500.0));
    assert!(close(s.sends_by(secs(11.0)), 2100.0));
    assert!(close(s.sends_by(secs(15.0)), 4500.0));
    assert!(
        close(s.sends_by(secs(16.0)), 5100.0),
        "the last target holds"
    );
    for n in [
        0.0, 1.0, 20.0, 499.0, 500.0, 501.0, 1500.0, 1500.5, 4500.0, 5100.0,
    ] {
        let t = s.time_of(n).unwrap();
        assert!(
            close(s.sends_by(t), n),
            "n {n}: t {t:?} gives {}",
            s.sends_by(t)
        );
    }
    assert!(close(s.time_of(20.0).unwrap().as_secs_f64(), 1.0));
    // The n-th send in a ramp from 0: n = 20 t^2, so t = sqrt(n / 20).
    assert!(close(s.time_of(80.0).unwrap().as_secs_f64(), 2.0));
    // A shape that ends at 0 never reaches more than its area.
    let down = stages("10s:100,10s:0");
    assert!(close(down.sends_by(secs(20.0)), 1000.0));
    assert!(close(down.time_of(1000.0).unwrap().as_secs_f64(), 20.0));
    assert_eq!(down.time_of(1000.5), None);
    let t = down.time_of(750.0).unwrap();
    assert!(close(down.sends_by(t), 750.0));
}

#[test]
fn scenario_stage_tables() {
    #[derive(serde::Deserialize)]
    struct File {
        stage: Vec<StageSpec>,
    }
    let f: File = toml::from_str(
        "[[stage]]\nduration = \"30s\"\ntarget = 100\n\n[[stage]]\nduration = \"1m\"\ntarget = 2.5\n",
    )
    .unwrap();
    let v: Vec<Stage> = f
        .stage
        .iter()
        .enumerate()
        .map(|(i, s)| s.to_stage(i + 1))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(v, parse_stages("30s:100,1m:2.5").unwrap());
    let bad = StageSpec {
        duration: "30x".into(),
        target: 1.0,
    };
    assert!(bad
        .to_stage(2)
        .unwrap_err()
        .starts_with("[[stage]] 2: duration: '30x'"));
    let bad = StageSpec {
        duration: "1s".into(),
        target: -1.0,
    };
    assert_eq!(
        bad.to_stage(1).unwrap_err(),
        "[[stage]] 1: target -1 must be 0 or more"
    );
    let e = toml::from_str::<File>("[[stage]]\nduration = \"1s\"\ntarget = 1\nusers = 3\n");
    assert!(e.is_err(), "unknown fields are refused");
}

#[test]
fn reaches_finds_when_a_user_may_open() {
    let s = stages("0s:2,2s:2,0s:8,2s:8,4s:0");
    assert_eq!(s.reaches(secs(0.0), 1.5), Some(secs(0.0)));
    assert_eq!(s.reaches(secs(0.5), 2.5), Some(secs(2.0)));
    // Past the ramp down, 8 users never come back.
    assert_eq!(s.reaches(secs(5.0), 7.5), None);
    let r = stages("4s:8");
    assert!((r.reaches(secs(1.0), 4.0).unwrap().as_secs_f64() - 2.0).abs() < 1e-9);
    assert_eq!(r.max_target(), 8.0);
    assert!(close(r.mean_over(secs(0.0), secs(1.0)), 1.0));
    assert!(close(s.mean_over(secs(2.0), secs(3.0)), 8.0));
}
