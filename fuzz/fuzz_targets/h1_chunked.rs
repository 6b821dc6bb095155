//! Chunked decoding: a response head that declares `Transfer-Encoding:
//! chunked`, then the fuzzer's bytes as the chunked body, with every body
//! collected, so that the de-chunked bytes are compared whole, byte by
//! byte and in fuzzer-chosen pieces. Input: a setup byte, a seed byte, the
//! body.
#![no_main]
use blast_fuzz::{h1_split_invariant, H1Setup};
use libfuzzer_sys::fuzz_target;

const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

fuzz_target!(|data: &[u8]| {
    let [setup, seed, body @ ..] = data else {
        return;
    };
    let mut input = HEAD.to_vec();
    input.extend_from_slice(body);
    let mut setup = H1Setup::from_byte(*setup);
    setup.head_request = false;
    setup.collect = true;
    h1_split_invariant(&input, setup, *seed);
});
