//! `--check` and a scenario's `checks`, as the engine holds them: each
//! request's list (the command line's first, then the scenario's top
//! level, then its own) parsed once into a `CheckSet`, shared by every
//! request with the same name and list, and the run's check slots, one
//! per (request name, check text), under which the reports count them.

use crate::engine::collect::CheckSet;
use crate::error::{usage, Error};
use crate::proto::check::Checks;

/// The check sets of a plan's requests, each distinct list once, and the
/// run's check slots: each (request name, check text) once.
#[derive(Default)]
pub struct CheckSets {
    lists: Vec<(u16, Vec<String>)>,
    pub sets: Vec<CheckSet>,
    pub slots: Vec<(u16, String)>,
}

impl CheckSets {
    /// The set of `--check` (`cli`) and the request's `own` checks, for
    /// the request named `name` (written `at`); None when it has none.
    pub fn add(
        &mut self,
        name: u16,
        cli: &[String],
        own: &[String],
        at: &str,
    ) -> Result<Option<u16>, Error> {
        let list: Vec<String> = cli.iter().chain(own).cloned().collect();
        if list.is_empty() {
            return Ok(None);
        }
        if let Some(i) = self.lists.iter().position(|l| l.0 == name && l.1 == list) {
            return Ok(Some(i as u16));
        }
        let checks = Checks::parse(&list).map_err(|e| usage(format!("{at}: checks: {e}")))?;
        let slots = checks
            .list()
            .iter()
            .map(|c| {
                let key = (name, c.text().to_string());
                match self.slots.iter().position(|k| *k == key) {
                    Some(i) => i,
                    None => {
                        self.slots.push(key);
                        self.slots.len() - 1
                    }
                }
            })
            .collect();
        if self.sets.len() >= usize::from(u16::MAX) {
            return Err(usage(format!("{at}: too many distinct check lists")));
        }
        self.sets.push(CheckSet::new(checks, slots));
        self.lists.push((name, list));
        Ok(Some((self.sets.len() - 1) as u16))
    }
}
