//! `--scenario`: a TOML file's text, parsed and its requests encoded as a
//! run would (as `blast serve`'s "scenario" field is: it may name no file).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = blast::config::fuzz_entry::scenario(text);
    }
});
