//! The HTTP/1.1 response parser on any bytes a server sends: the same
//! responses (status, keep-alive, framing, body) and the same fault whether
//! the bytes come whole, byte by byte, or in pieces the fuzzer chooses.
//! Input: a setup byte (HEAD request, `--stream`, collecting bodies), a
//! seed byte for the pieces, then the connection's bytes.
#![no_main]
use blast_fuzz::{h1_split_invariant, H1Setup};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [setup, seed, input @ ..] = data else {
        return;
    };
    h1_split_invariant(input, H1Setup::from_byte(*setup), *seed);
});
