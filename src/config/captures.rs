//! A plan's captures and cookies, made ready for the engine: the values a
//! sequence captures (each name once, numbered in the order first
//! captured: a lane's store is indexed so), which of them a step may use
//! (those an earlier step captured), and each step's `FlowStep`.

use crate::engine::flow::FlowStep;
use crate::proto::capture::Capture;

/// What a step of a sequence that captures values may use: every name the
/// sequence captures (a lane's slots), how many an earlier step captured,
/// and the step's part in its run.
pub struct Caps<'a> {
    pub all: &'a [&'a str],
    pub earlier: usize,
    pub flow: Option<FlowStep>,
}

/// The values one sequence captures.
pub struct FlowNames {
    /// Each name once, in the order first captured: its index is its slot.
    pub names: Vec<String>,
    /// Per step: how many of `names` an earlier step captured (a prefix).
    pub before: Vec<usize>,
}

impl FlowNames {
    /// From each step's captures, in order.
    pub fn of<'a>(steps: impl Iterator<Item = &'a [Capture]>) -> FlowNames {
        let mut names: Vec<String> = Vec::new();
        let mut before = Vec::new();
        for caps in steps {
            before.push(names.len());
            for c in caps {
                if !names.iter().any(|n| n == c.name()) {
                    names.push(c.name().to_string());
                }
            }
        }
        FlowNames { names, before }
    }

    /// What step `i`, capturing `caps`, may use (`all`: `names` as `&str`).
    pub fn caps<'a>(
        &self,
        all: &'a [&'a str],
        caps: &[Capture],
        i: usize,
        cookies: bool,
    ) -> Caps<'a> {
        Caps {
            all,
            earlier: self.before[i],
            flow: self.step(caps, i, self.before.len(), cookies),
        }
    }

    /// Step `i` (of its sequence's `steps`, capturing `caps`): its part in
    /// its run; None when it needs none (no capture in its sequence, and
    /// no run of cookies to begin).
    pub fn step(
        &self,
        caps: &[Capture],
        i: usize,
        steps: usize,
        cookies: bool,
    ) -> Option<FlowStep> {
        let captures = !self.names.is_empty();
        // A sequence run begins with its first step; a lone [[request]]
        // is no sequence, so its cookies last for the lane.
        let starts_run = i == 0 && (steps > 1 || captures);
        if !(captures || cookies && starts_run) {
            return None;
        }
        let caps = caps.iter().map(|c| {
            let slot = self.names.iter().position(|n| n == c.name()).unwrap_or(0);
            (slot, c.clone(), c.not_found().into_boxed_str())
        });
        Some(FlowStep {
            spliced: None,
            captures: caps.collect(),
            starts_run,
            slots: self.names.len(),
        })
    }
}

/// The error for a `{{name}}` of `field` that is neither a data column nor
/// a value an earlier step of the sequence captured.
pub fn unknown(at: &str, field: &str, name: &str, all: &[&str], file: Option<&str>) -> String {
    if all.is_empty() {
        // No capture in the sequence: the data file's message, as ever.
        let f = file.unwrap_or("");
        return format!(
            "{at}: {field} uses {{{{{name}}}}}, but the data file '{f}' has no column '{name}'"
        );
    }
    if all.contains(&name) {
        return format!(
            "{at}: {field} uses {{{{{name}}}}} before it is captured: a value is used only by the steps after the one that captures it"
        );
    }
    match file {
        Some(f) => format!(
            "{at}: {field} uses {{{{{name}}}}}, but the data file '{f}' has no column '{name}' and no earlier step captures it"
        ),
        None => format!(
            "{at}: {field} uses {{{{{name}}}}}, which is neither a data column nor a capture of an earlier step"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(name: &str) -> Capture {
        Capture::parse(name, "json /x").unwrap()
    }

    #[test]
    fn names_are_numbered_in_the_order_first_captured() {
        let steps = [vec![cap("a"), cap("b")], vec![], vec![cap("b"), cap("c")]];
        let f = FlowNames::of(steps.iter().map(Vec::as_slice));
        assert_eq!(f.names, ["a", "b", "c"]);
        assert_eq!(f.before, [0, 2, 2]);
        let all: Vec<&str> = f.names.iter().map(String::as_str).collect();
        let last = f.caps(&all, &steps[2], 2, false);
        assert_eq!(last.earlier, 2, "step 3 may use a and b, not c");
        let flow = last.flow.expect("a sequence that captures");
        let slots: Vec<usize> = flow.captures.iter().map(|c| c.0).collect();
        assert_eq!((slots, flow.slots, flow.starts_run), (vec![1, 2], 3, false));
        assert!(f.step(&steps[0], 0, 3, false).unwrap().starts_run);
        // No capture: only a run of cookies to begin needs a FlowStep.
        let none = FlowNames::of([&[][..], &[][..]].into_iter());
        assert!(none.step(&[], 0, 2, false).is_none());
        assert!(none.step(&[], 0, 2, true).unwrap().starts_run);
        assert!(none.step(&[], 1, 2, true).is_none());
        assert!(none.step(&[], 0, 1, true).is_none(), "a lone request");
    }

    #[test]
    fn unknown_placeholders_say_why() {
        let m = unknown("s.toml line 4", "the path", "t", &["t"], None);
        assert!(m.ends_with("uses {{t}} before it is captured: a value is used only by the steps after the one that captures it"), "{m}");
        let m = unknown("s.toml line 4", "a header", "x", &["t"], Some("u.csv"));
        assert!(
            m.contains("the data file 'u.csv' has no column 'x' and no earlier step captures it"),
            "{m}"
        );
        let m = unknown("s.toml line 4", "the body", "x", &[], Some("u.csv"));
        assert!(
            m.ends_with("the body uses {{x}}, but the data file 'u.csv' has no column 'x'"),
            "{m}"
        );
    }
}
