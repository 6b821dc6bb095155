//! A refused call: what every check of a call's body answers with, from
//! the field lookup to the caps. Its own file so that `fields` and `limits`
//! share it without importing `api/mod.rs`, which calls them.

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
