//! A refused call: what every check of a call's body answers with, from
//! the field lookup to the caps. Its own file so that `fields` and `limits`
//! share it without importing `api/mod.rs`, which calls them. Also the two
//! checks of a call beside its body: what its path takes (for a 405) and
//! its `?wait=`.

use serde_json::{json, Value};

/// A refused call: HTTP status, one line saying why, and the field at fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub error: String,
    pub field: Option<String>,
}

impl Refusal {
    pub fn new(status: u16, field: Option<&str>, error: impl Into<String>) -> Refusal {
        Refusal {
            status,
            error: error.into(),
            field: field.map(str::to_string),
        }
    }

    /// 400 naming `field`.
    pub fn bad(field: &str, error: impl Into<String>) -> Refusal {
        Refusal::new(400, Some(field), error)
    }

    pub fn to_json(&self) -> Value {
        json!({"error": self.error, "field": self.field})
    }
}

/// The methods `path` takes, for a 405's `Allow` header (RFC 9110
/// §15.5.6); None for a path the API does not have (404).
pub fn allow_of(path: &str) -> Option<&'static str> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        [""] | ["benchmarks"] | ["metrics"] | ["benchmarks", _, _] => Some("GET"),
        ["benchmark"] | ["find"] => Some("POST"),
        ["benchmarks", _] => Some("GET, DELETE"),
        _ => None,
    }
}

/// `?wait=` of `POST /benchmark` or `/find`: `wait`, `wait=true` or
/// `wait=1` wait for the result; `wait=false`, `wait=0` or none answer at
/// once. Anything else, or `wait` twice, is refused rather than read as
/// "no": a caller who meant to wait must not get a 202 instead.
pub fn wait_of(query: &str) -> Result<bool, Refusal> {
    let mut wait = None;
    for kv in query.split('&') {
        let (k, v) = kv.split_once('=').map_or((kv, None), |(k, v)| (k, Some(v)));
        if k != "wait" {
            continue;
        }
        let value = match v {
            None | Some("true" | "1") => true,
            Some("false" | "0") => false,
            Some(other) => {
                return Err(Refusal::new(
                    400,
                    Some("wait"),
                    format!("'wait' must be true or false, not '{other}'"),
                ))
            }
        };
        if wait.replace(value).is_some() {
            return Err(Refusal::new(400, Some("wait"), "'wait' is given twice"));
        }
    }
    Ok(wait.unwrap_or(false))
}
