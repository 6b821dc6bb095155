//! Entry points for the fuzz targets (`fuzz/`, docs/fuzzing.md): the
//! parsers of the files a user gives, which the rest of the crate reaches
//! only through `Config`. Each reads no file and resolves no name, so a
//! fuzzer can call it on any input.

use super::plan::{Common, Plan};
use super::url::parse_url;
use crate::error::Error;

pub use super::data::Table;

/// The origin relative paths are placed on: a literal address, so that
/// nothing is looked up.
const ORIGIN: &str = "http://127.0.0.1:8080/";

/// A `--scenario` file's text, parsed and its requests encoded as a run
/// would encode them. Returns the method, or "mixed".
pub fn scenario(text: &str) -> Result<String, Error> {
    build(super::scenario::parse_inline(text)?)
}

/// A `--targets` file's text (its `@body` lines read no file: each fails as
/// a missing one would), parsed and encoded. Returns the method, or
/// "mixed".
pub fn targets(text: &str) -> Result<String, Error> {
    build(super::targets::parse_text(text)?)
}

fn build(plan: Plan) -> Result<String, Error> {
    let url = parse_url(ORIGIN)?;
    let built = plan.build(&Common {
        url: Some(&url),
        headers: &[],
        close: false,
        http2: false,
        checks: &[],
    })?;
    Ok(built.method)
}
