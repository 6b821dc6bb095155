//! `--data`: a CSV data file's text. A table it accepts has named, distinct
//! columns and at least one row, each row as wide as the header.
#![no_main]
use blast::config::fuzz_entry::Table;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = Table::parse(text, "fuzz.csv") {
        assert!(!t.columns.is_empty() && !t.rows.is_empty());
        for r in &t.rows {
            assert_eq!(r.len(), t.columns.len());
        }
        for (i, c) in t.columns.iter().enumerate() {
            assert!(!t.columns[..i].contains(c), "column '{c}' twice");
        }
    }
});
