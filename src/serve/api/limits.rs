//! What a caller may ask: `--max-duration`, `--max-rate`,
//! `--max-connections`, and `--allow-target` (checked in `allow`).

use super::fields::Used;
use super::refusal::Refusal;
use crate::config::{Config, FindConfig};
use std::time::Duration;

/// What this server lets a caller ask for (`blast serve`'s flags).
#[derive(Clone, Debug, Default)]
pub struct Limits {
    /// `--allow-target`: names and addresses; empty allows any.
    pub allow_target: super::allow::AllowList,
    pub max_duration: Option<Duration>,
    pub max_rate: Option<f64>,
    pub max_connections: Option<u64>,
}

/// The caller's name for `flag`, or `default` when it was not given.
fn name_of(used: &[Used], flag: &str, default: &str) -> String {
    used.iter()
        .find(|u| u.flag == flag)
        .map_or(default.to_string(), |u| u.name.clone())
}

/// `--max-duration`, `--max-rate`, `--max-connections`.
pub(super) fn check_caps(cfg: &Config, used: &[Used], limits: &Limits) -> Result<(), Refusal> {
    let name_of = |flag: &str, default: &str| name_of(used, flag, default);
    let load = &cfg.load.shape;
    if let Some(max) = limits.max_duration {
        let asked = load
            .duration
            .unwrap_or(Duration::MAX)
            .saturating_add(load.warmup);
        if asked > max {
            let field = if load.duration.is_some_and(|d| d <= max) {
                name_of("warmup", "warmup")
            } else {
                name_of("duration", "duration")
            };
            return Err(Refusal::bad(
                &field,
                format!(
                    "'{field}': the run would last {}s (warm-up included), over this server's \
                     --max-duration {}s",
                    asked.as_secs_f64(),
                    max.as_secs_f64()
                ),
            ));
        }
    }
    if let Some(max) = limits.max_rate {
        let field = name_of("rate", "qps");
        match load.rate {
            None => {
                return Err(Refusal::bad(
                    &field,
                    format!(
                        "a closed-loop run (no '{field}') is refused: this server caps the \
                         rate at --max-rate {max}"
                    ),
                ))
            }
            Some(r) if r > max => {
                return Err(Refusal::bad(
                    &field,
                    format!("'{field}' {r} is over this server's --max-rate {max}"),
                ))
            }
            Some(_) => {}
        }
    }
    check_connections(load.connections, used, limits)
}

fn check_connections(connections: u64, used: &[Used], limits: &Limits) -> Result<(), Refusal> {
    match limits.max_connections {
        Some(max) if connections > max => {
            let field = name_of(used, "connections", "num_workers");
            Err(Refusal::bad(
                &field,
                format!("'{field}' {connections} is over this server's --max-connections {max}"),
            ))
        }
        _ => Ok(()),
    }
}

/// The caps for a search: its highest rate, and its longest possible
/// length (every doubling step up to `max`, then every bisection step down
/// to `precision`).
pub(super) fn check_find_caps(
    f: &FindConfig,
    used: &[Used],
    limits: &Limits,
) -> Result<(), Refusal> {
    if let Some(cap) = limits.max_rate {
        for (flag, rate) in [("max", f.max), ("start", f.start)] {
            if rate > cap {
                let field = name_of(used, flag, flag);
                return Err(Refusal::bad(
                    &field,
                    format!("'{field}' {rate} is over this server's --max-rate {cap}"),
                ));
            }
        }
    }
    if let Some(cap) = limits.max_duration {
        let steps = worst_steps(f.start, f.max, f.precision);
        let longest = f.step.as_secs_f64() * steps as f64;
        if longest > cap.as_secs_f64() {
            let field = name_of(used, "step-duration", "step_duration");
            return Err(Refusal::bad(
                &field,
                format!(
                    "the search could take {steps} steps of {}s ({longest}s), over this \
                     server's --max-duration {}s: shorten 'step_duration', narrow start..max \
                     or raise 'precision'",
                    f.step.as_secs_f64(),
                    cap.as_secs_f64()
                ),
            ));
        }
    }
    check_connections(f.run.load.shape.connections, used, limits)
}

/// The most steps `blast find` can take from `start` to `max` to `precision`.
fn worst_steps(start: f64, max: f64, precision: f64) -> u64 {
    let doubling = ((max / start).log2().ceil().max(0.0) as u64).saturating_add(1);
    let bisection = (1.0 / precision).log2().ceil().max(0.0) as u64;
    // A precision near 0 makes `bisection` u64::MAX (the cast saturates):
    // a wrapped sum would pass any cap.
    doubling.saturating_add(bisection)
}
