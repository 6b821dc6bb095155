//! What the fuzz targets share: feeding a parser its input whole, byte by
//! byte, and at fuzzer-chosen points, so that a target can assert the
//! parser's one real promise to a connection: the bytes mean the same
//! whatever pieces the network delivered them in.

use blast::proto::h1::response::ResponseParser;
use blast::proto::sse::{SseEvent, SseParser};
use blast::stats::Fault;

/// Split points: every piece 1..=16 bytes long, drawn from `seed` (a byte
/// of the fuzzer's input, so the fuzzer chooses them and can shrink them).
pub fn pieces(len: usize, seed: u8) -> Vec<usize> {
    let mut x = u32::from(seed) | 0x100;
    let mut out = Vec::new();
    let mut at = 0;
    while at < len {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = ((x >> 16) % 16) as usize + 1;
        let n = n.min(len - at);
        out.push(n);
        at += n;
    }
    out
}

/// One response as a connection sees it, or the fault that ended the
/// connection.
#[derive(Debug, PartialEq, Eq)]
pub enum H1 {
    Response {
        status: u16,
        keep_alive: bool,
        event_stream: bool,
        /// The offset in the input where the response ended.
        end: usize,
        /// Its body as handed to `on_body` (events or collected).
        body: Vec<u8>,
        /// Pieces handed over as an event stream's, and as others'.
        kinds: (bool, bool),
    },
    Fault(Fault),
}

/// How the response parser is set up for a connection.
#[derive(Clone, Copy, Debug)]
pub struct H1Setup {
    pub head_request: bool,
    pub events_always: bool,
    pub collect: bool,
}

impl H1Setup {
    pub fn from_byte(b: u8) -> H1Setup {
        H1Setup {
            head_request: b & 1 != 0,
            events_always: b & 2 != 0,
            collect: b & 4 != 0,
        }
    }
}

/// Feed `input` to one parser in pieces of the lengths `steps` gives, the
/// way a connection does (unconsumed bytes stay in front of the next
/// read; after a response the parser is reset for the next one on the same
/// connection), then the server closes. Returns every response and the
/// fault that ended it, if any. The parser is a connection's, which
/// remembers its last head (`h1_run_with` can parse every head instead).
pub fn h1_run(input: &[u8], setup: H1Setup, steps: &[usize]) -> Vec<H1> {
    h1_run_with(input, setup, steps, true)
}

/// `h1_run`, with the head memo (`memo`) or parsing every head.
pub fn h1_run_with(input: &[u8], setup: H1Setup, steps: &[usize], memo: bool) -> Vec<H1> {
    let mut p = match memo {
        true => ResponseParser::for_connection(setup.events_always),
        false => ResponseParser::new(false).events_always(setup.events_always),
    };
    p.set_head_request(setup.head_request);
    p.set_collect(setup.collect);
    let mut out = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut base = 0;
    let mut body = Vec::new();
    let mut kinds = (false, false);
    let mut fed = 0;
    let mut steps = steps.iter();
    loop {
        if let Some(&n) = steps.next() {
            pending.extend_from_slice(&input[fed..fed + n]);
            fed += n;
        }
        loop {
            let r = p.feed_body(&pending, &mut |b, events| {
                body.extend_from_slice(b);
                if events {
                    kinds.0 = true;
                } else {
                    kinds.1 = true;
                }
            });
            match r {
                Err(f) => {
                    out.push(H1::Fault(f));
                    return out;
                }
                Ok(pr) => {
                    assert!(pr.consumed <= pending.len(), "consumed past the slice");
                    pending.drain(..pr.consumed);
                    base += pr.consumed;
                    if !pr.done {
                        break;
                    }
                    out.push(H1::Response {
                        status: p.status(),
                        keep_alive: p.keep_alive(),
                        event_stream: p.event_stream(),
                        end: base,
                        body: std::mem::take(&mut body),
                        kinds: std::mem::take(&mut kinds),
                    });
                    p.reset();
                    if pending.is_empty() {
                        break;
                    }
                }
            }
        }
        if fed == input.len() {
            break;
        }
    }
    match p.eof() {
        Ok(()) if p.head_done() => out.push(H1::Response {
            status: p.status(),
            keep_alive: p.keep_alive(),
            event_stream: p.event_stream(),
            end: base + pending.len(),
            body,
            kinds,
        }),
        Ok(()) => {}
        Err(f) => out.push(H1::Fault(f)),
    }
    out
}

/// `h1_run` whole, at every byte (inputs up to 1 KiB: the head is parsed
/// again from its start at each byte), and at the pieces `seed` draws; all
/// must agree, and agree with parsing every head (no memo).
pub fn h1_split_invariant(input: &[u8], setup: H1Setup, seed: u8) {
    let whole = h1_run(input, setup, &[input.len()]);
    let parsed = h1_run_with(input, setup, &[input.len()], false);
    assert_eq!(whole, parsed, "remembered heads vs every head parsed");
    let split = h1_run(input, setup, &pieces(input.len(), seed));
    assert_eq!(
        whole,
        split,
        "whole vs pieces {:?}",
        pieces(input.len(), seed)
    );
    if input.len() <= 1024 {
        let bytes = h1_run(input, setup, &vec![1; input.len()]);
        assert_eq!(whole, bytes, "whole vs byte by byte");
    }
}

/// What an event-stream parser handed out: each event and each event's data.
#[derive(Debug, PartialEq, Eq)]
pub enum Sse {
    Event(SseEvent),
    Data(Vec<u8>),
}

/// Feed `input` to an event-stream parser in pieces of the lengths `steps`
/// gives.
pub fn sse_run(input: &[u8], steps: &[usize]) -> Vec<Sse> {
    let mut p = SseParser::new();
    let out = std::cell::RefCell::new(Vec::new());
    let mut at = 0;
    for &n in steps {
        p.feed_with(
            &input[at..at + n],
            |e| out.borrow_mut().push(Sse::Event(e)),
            |d| {
                assert!(
                    d.len() <= blast::proto::sse::MAX_EVENT,
                    "event over MAX_EVENT"
                );
                out.borrow_mut().push(Sse::Data(d.to_vec()))
            },
        );
        at += n;
    }
    out.into_inner()
}
