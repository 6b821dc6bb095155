//! `blast merge`: an interval log (HdrHistogram V2, blast's or any tool's).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(log) = blast::report::hlog::read(data) {
        for i in &log.intervals {
            let _ = (i.latency.len(), i.latency.max());
        }
    }
});
