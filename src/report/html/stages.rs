//! A run over stages in the HTML report: the timeline charts mark where
//! each stage begins and, when `--abort-on-slo` stopped the run, where it
//! broke (stage marks are labelled by the stage's number); the throughput
//! chart draws the target rate (with `-R`) and a users chart the target
//! users (without), beside what was achieved.

use super::*;
use crate::report::stages::break_of;

/// Mark the stages' starts and the break on a timeline chart.
pub fn mark(s: &Summary, chart: &mut LineChart) {
    let ran = s.duration.as_secs_f64();
    if let Some(st) = &s.info.stages {
        let mut at = 0.0;
        for (i, stage) in st.list().iter().enumerate() {
            // The stages the run reached, each once (a jump and the stage
            // after it begin together).
            if at > 0.0 && stage.duration > std::time::Duration::ZERO && at < ran {
                chart.vlines.push(Rule {
                    at,
                    label: format!("{}", i + 1),
                    color: "#bbb",
                });
            }
            at += stage.duration.as_secs_f64();
        }
    }
    if let Some(b) = break_of(s) {
        chart.vlines.push(Rule {
            at: b.at_s,
            label: format!("broke: {}", b.detail),
            color: "#c0392b",
        });
    }
}

/// The target over the time the run lasted, every 50 ms (so a jump
/// draws as a step).
fn targets(s: &Summary) -> Vec<(f64, f64)> {
    let Some(st) = &s.info.stages else {
        return Vec::new();
    };
    let ran = s.duration.as_secs_f64();
    let steps = (ran / 0.05).ceil() as usize;
    (0..=steps)
        .map(|i| {
            let t = (i as f64 * 0.05).min(ran);
            (t, st.target_at(std::time::Duration::from_secs_f64(t)))
        })
        .collect()
}

/// The target rate, dashed, for the throughput chart (with `-R`).
pub fn target_rate(s: &Summary) -> Option<Series> {
    (s.info.rate.is_some() && s.info.stages.is_some()).then(|| {
        let mut t = Series::line("target requests/s (stages)", "#555", targets(s));
        t.dashed = true;
        t
    })
}

/// Without `-R`: the users (open connections) the stages asked for.
pub fn users_chart(s: &Summary) -> Option<String> {
    if s.info.rate.is_some() || s.info.stages.is_none() {
        return None;
    }
    let mut c = LineChart::new("Users over time", "time since start (s)", "users");
    c.series.push(Series::line(
        "target users (stages)",
        PALETTE[2],
        targets(s),
    ));
    mark(s, &mut c);
    Some(c.render())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{Stage, Stages};
    use crate::stats::abort::Aborted;
    use crate::stats::fixture::run_info;
    use crate::stats::slo::Slo;
    use crate::stats::{RunInfo, TimelinePoint};
    use std::time::Duration;

    #[test]
    fn charts_mark_the_stages_reached_and_the_break() {
        let list =
            [(0, 2.0), (2, 2.0), (0, 8.0), (2, 8.0), (0, 16.0), (4, 16.0)].map(|(d, target)| {
                Stage {
                    duration: Duration::from_secs(d),
                    target,
                }
            });
        let mut s = Summary::empty(RunInfo {
            stages: Some(Stages::new(list.to_vec()).unwrap()),
            ..run_info()
        });
        s.duration = Duration::from_secs(5);
        s.timeline = (1..=5)
            .map(|t| TimelinePoint {
                t_s: t as f64,
                requests: 100,
                rps: 100.0,
                ..s.timeline
                    .first()
                    .cloned()
                    .unwrap_or_else(|| TimelinePoint {
                        t_s: 0.0,
                        requests: 0,
                        rps: 0.0,
                        p50_us: 1000,
                        p99_us: 2000,
                        errors: 0,
                        bytes: 0,
                        quantiles_us: [1000; 11],
                        total: Default::default(),
                        by_name: Vec::new(),
                        output_tokens: 0,
                    })
            })
            .collect();
        s.aborted = Some(Aborted {
            at_s: 4.0,
            rps: 100.0,
            condition: Slo::parse("errors<1%").unwrap().conditions[0].clone(),
            value: 50.0,
        });
        let page = super::super::render_run(&s, None);
        assert!(page.contains("Users over time"), "a users chart");
        assert!(page.contains("broke: errors 50.00% &gt; 1.00%"));
        let line = "broke at 4s: 100 req/s, errors 50.00% &gt; 1.00% (stage 6 of 6: 16 users)";
        let at = page.find("broke at").map(|i| &page[i..i + 90]);
        assert!(page.contains(line), "{at:?}");
        // Stages 4 (at 2 s) and 6 (at 4 s) began within the 5 s that ran.
        assert!(page.contains(">4</text>") && page.contains(">6</text>"));
        let mut plain = s.clone();
        plain.info.stages = None;
        plain.aborted = None;
        let page = super::super::render_run(&plain, None);
        assert!(!page.contains("Users over time") && !page.contains("broke"));
    }
}
