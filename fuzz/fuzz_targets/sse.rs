//! The Server-Sent Events parser on any event stream: the same events and
//! event data whole, byte by byte and in fuzzer-chosen pieces; no event's
//! data over MAX_EVENT. Input: a seed byte, then the stream.
#![no_main]
use blast_fuzz::{pieces, sse_run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [seed, input @ ..] = data else {
        return;
    };
    let whole = sse_run(input, &[input.len()]);
    let split = sse_run(input, &pieces(input.len(), *seed));
    assert_eq!(whole, split, "whole vs pieces");
    let bytes = sse_run(input, &vec![1; input.len()]);
    assert_eq!(whole, bytes, "whole vs byte by byte");
});
