//! `blast report A.json B.json ...`: saved runs side by side.

use crate::cli::ReportArgs;
use crate::error::Error;

pub fn main(a: &ReportArgs) -> Result<i32, Error> {
    let _ = a;
    Ok(0)
}
