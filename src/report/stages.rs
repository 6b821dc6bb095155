//! A run over stages in the reports: its stages (`config.stages`), each
//! second's target beside what was achieved (`timeline[].target`), and,
//! when `--abort-on-slo` stopped it, where it broke: the second, the
//! stage, the rate or users in force then, and the condition with its
//! value (`aborted`, and the text line `broke at 1m42s: ...`).

use crate::shape::Stages;
use crate::stats::{RunInfo, Summary, TimelinePoint};
use crate::units::{format_clock, thousands};
use serde_json::{json, Value};
use std::time::Duration;

/// `config.stages`: `[{"duration_s", "target"}]`, or null.
pub fn stages_json(info: &RunInfo) -> Value {
    match &info.stages {
        None => Value::Null,
        Some(st) => st
            .list()
            .iter()
            .map(|s| json!({"duration_s": s.duration.as_secs_f64(), "target": s.target}))
            .collect(),
    }
}

/// The target over one timeline second (its mean over the second, which
/// is what a count over that second should match), or None without stages.
pub fn target_of(info: &RunInfo, p: &TimelinePoint, prev_t_s: f64) -> Option<f64> {
    let st = info.stages.as_ref()?;
    let (a, b) = (secs(prev_t_s), secs(p.t_s));
    Some(round2(st.mean_over(a, b)))
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Where a run broke, with what was in force then.
pub struct Break {
    pub at_s: f64,
    /// 1-based, and of how many.
    pub stage: Option<(usize, usize, f64)>,
    /// With -R: the scheduled rate then; else the responses per second
    /// completed in that second.
    pub rate: f64,
    /// Without -R over stages: the users (open connections) in force.
    pub users: Option<u64>,
    pub rps: f64,
    pub condition: String,
    pub value: f64,
    /// `p99 312.00ms > 250.00ms`.
    pub detail: String,
}

pub fn break_of(s: &Summary) -> Option<Break> {
    let a = s.aborted.as_ref()?;
    let at = secs(a.at_s);
    let st: Option<&Stages> = s.info.stages.as_ref();
    let stage = st.map(|st| {
        let i = st.stage_at(at);
        (i + 1, st.list().len(), st.list()[i].target)
    });
    let open_loop = s.info.rate.is_some();
    let rate = match st {
        Some(st) if open_loop => st.target_at(at),
        _ => a.rps,
    };
    let users = st
        .filter(|_| !open_loop)
        .map(|st| st.target_at(at).round() as u64);
    Some(Break {
        at_s: a.at_s,
        stage,
        rate: round2(rate),
        users,
        rps: round2(a.rps),
        condition: a.condition.text.clone(),
        value: round2(a.value),
        detail: a.condition_text(),
    })
}

/// The JSON report's `aborted`: null unless `--abort-on-slo` stopped it.
pub fn aborted_json(s: &Summary) -> Value {
    let Some(b) = break_of(s) else {
        return Value::Null;
    };
    json!({
        "at_s": b.at_s,
        "stage": b.stage.map(|(i, _, target)| json!({"index": i, "target": target})),
        "rate": b.rate,
        "users": b.users,
        "rps": b.rps,
        "condition": b.condition,
        "value": b.value,
        "detail": b.detail,
    })
}

/// `broke at 1m42s: 1,850 req/s, p99 312.00ms > 250.00ms (stage 4 of 5: 32 users)`.
pub fn broke_line(s: &Summary) -> Option<String> {
    let b = break_of(s)?;
    let mut line = format!(
        "broke at {}: {} req/s, {}",
        format_clock(b.at_s.round() as u64),
        thousands(b.rate.round() as u64),
        b.detail
    );
    if let Some((i, n, target)) = b.stage {
        let what = match b.users {
            Some(u) => format!("{u} users"),
            None => format!("target {} req/s", thousands(target.round() as u64)),
        };
        line.push_str(&format!(" (stage {i} of {n}: {what})"));
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::Stage;
    use crate::stats::abort::Aborted;
    use crate::stats::fixture::run_info;
    use crate::stats::slo::Slo;

    fn broken(rate: Option<f64>) -> Summary {
        // 0s:2,2s:2,0s:8,2s:8,0s:16,2s:16
        let list =
            [(0, 2.0), (2, 2.0), (0, 8.0), (2, 8.0), (0, 16.0), (2, 16.0)].map(|(d, target)| {
                Stage {
                    duration: Duration::from_secs(d),
                    target,
                }
            });
        let st = Stages::new(list.to_vec()).unwrap();
        let st = match rate {
            Some(r) => st.starting_at(r),
            None => st,
        };
        let mut s = Summary::empty(crate::stats::RunInfo {
            rate,
            stages: Some(st),
            ..run_info()
        });
        s.aborted = Some(Aborted {
            at_s: 4.0,
            rps: 1850.4,
            condition: Slo::parse("p99<250ms").unwrap().conditions[0].clone(),
            value: 312_000.0,
        });
        s
    }

    #[test]
    fn the_break_says_second_stage_users_and_condition() {
        let s = broken(None);
        assert_eq!(
            broke_line(&s).unwrap(),
            "broke at 4s: 1,850 req/s, p99 312.00ms > 250.00ms (stage 6 of 6: 16 users)"
        );
        let j = aborted_json(&s);
        assert_eq!(j["at_s"], 4.0);
        assert_eq!(j["stage"]["index"], 6);
        assert_eq!(j["users"], 16);
        assert_eq!(j["condition"], "p99<250ms");
        assert_eq!(j["value"], 312_000.0);
        let open = broken(Some(100.0));
        let j = aborted_json(&open);
        assert_eq!(j["rate"], 16.0);
        assert!(j["users"].is_null());
        assert_eq!(stages_json(&open.info)[1]["duration_s"], 2.0);
        assert!(aborted_json(&Summary::empty(run_info())).is_null());
    }
}
