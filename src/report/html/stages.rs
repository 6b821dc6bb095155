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
