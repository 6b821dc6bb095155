//! gRPC over HTTP/2, as the wire has it: a message is framed with a
//! 1-byte compressed flag and a 4-byte big-endian length; the call's
//! status is `grpc-status` (and `grpc-message`) in the trailers, or in the
//! headers of a trailers-only response. Requests are framed once before
//! the run (`frame`); the hot path only counts the frames of a response
//! (`Deframer`) and reads one number from a header.
//!
//! `schema` holds what needs descriptors: compiling .proto files, finding
//! a method, JSON to protobuf and back (set-up and checks only).

pub mod schema;

use prost_reflect::MessageDescriptor;

/// What the engine needs of a call's method: how to read its answer.
#[derive(Clone, Debug)]
pub struct GrpcCall {
    /// `pkg.Service/Method`, as the user wrote it.
    pub method: String,
    /// The response type, for checks that read the message as JSON.
    pub output: MessageDescriptor,
    /// The method answers with a stream of messages.
    pub server_streaming: bool,
}

/// gRPC's status codes by number, as the reports name them.
pub const CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// INTERNAL: what a call without `grpc-status` ends as (gRPC's own
/// clients say the same of a stream closed without trailers).
pub const INTERNAL: u16 = 13;

/// The name of code `c` (`UNKNOWN` for a number gRPC does not define).
pub fn code_name(c: u16) -> &'static str {
    CODES.get(c as usize).copied().unwrap_or("UNKNOWN")
}

/// The code in a `grpc-status` value; an unreadable one is UNKNOWN (2),
/// as the gRPC spec says a client treats it.
pub fn parse_status(v: &[u8]) -> u16 {
    if v.is_empty() || v.len() > 3 || !v.iter().all(u8::is_ascii_digit) {
        return 2;
    }
    v.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'))
}

/// `message` with the 5-byte prefix: not compressed, its length.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + message.len());
    out.push(0);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// The messages in framed bytes, as (compressed, payload); None: a frame
/// is cut short.
pub fn messages(mut b: &[u8]) -> Option<Vec<(bool, &[u8])>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.len() < 5 {
            return None;
        }
        let n = u32::from_be_bytes([b[1], b[2], b[3], b[4]]) as usize;
        let payload = b.get(5..5 + n)?;
        out.push((b[0] != 0, payload));
        b = &b[5 + n..];
    }
    Some(out)
}

/// `grpc-timeout` for `d` (the spec's TimeoutValue): the finest unit,
/// from microseconds, whose value is exact and fits in 8 digits.
pub fn timeout_value(d: std::time::Duration) -> String {
    let us = d.as_micros();
    for (unit, per) in [
        ("u", 1u128),
        ("m", 1_000),
        ("S", 1_000_000),
        ("M", 60_000_000),
    ] {
        if us.is_multiple_of(per) && us / per < 100_000_000 || unit == "M" {
            let v = (us / per).clamp(1, 99_999_999);
            return format!("{v}{unit}");
        }
    }
    unreachable!("minutes always fit")
}

/// Counts the messages of a response as its DATA frames arrive, whatever
/// way they are cut: the bytes left of the current prefix and payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deframer {
    /// Prefix bytes still to come (0: inside a payload or between).
    prefix_left: u8,
    len: [u8; 4],
    payload_left: u32,
}

impl Deframer {
    /// Feed `b`; `done` is called once per message, when its last byte
    /// arrives.
    #[inline]
    pub fn feed(&mut self, mut b: &[u8], mut done: impl FnMut()) {
        while !b.is_empty() {
            if self.payload_left > 0 {
                let n = (self.payload_left as usize).min(b.len());
                self.payload_left -= n as u32;
                b = &b[n..];
                if self.payload_left == 0 {
                    done();
                }
                continue;
            }
            if self.prefix_left == 0 {
                self.prefix_left = 5;
            }
            // Byte 0 is the compressed flag; 1..5 the length.
            let at = 5 - self.prefix_left;
            if at > 0 {
                self.len[(at - 1) as usize] = b[0];
            }
            self.prefix_left -= 1;
            b = &b[1..];
            if self.prefix_left == 0 {
                self.payload_left = u32::from_be_bytes(self.len);
                if self.payload_left == 0 {
                    done();
                }
            }
        }
    }

    /// Whether the bytes so far end on a message boundary.
    pub fn at_boundary(&self) -> bool {
        self.prefix_left == 0 && self.payload_left == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn frames_count_however_they_are_cut() {
        let mut all = frame(b"hello");
        all.extend(frame(b""));
        all.extend(frame(&[7u8; 300]));
        assert_eq!(&all[..5], &[0, 0, 0, 0, 5]);
        let parts = messages(&all).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], (false, &b"hello"[..]));
        assert!(messages(&all[..all.len() - 1]).is_none());
        for cut in [1, 2, 3, 5, 7, 64, all.len()] {
            let mut d = Deframer::default();
            let mut n = 0;
            for piece in all.chunks(cut) {
                d.feed(piece, || n += 1);
            }
            assert_eq!(n, 3, "cut {cut}");
            assert!(d.at_boundary());
        }
        let mut d = Deframer::default();
        d.feed(&all[..8], || {});
        assert!(!d.at_boundary());
    }

    #[test]
    fn statuses_and_timeouts_read_as_the_spec_writes_them() {
        assert_eq!(parse_status(b"0"), 0);
        assert_eq!(parse_status(b"8"), 8);
        assert_eq!(parse_status(b"14"), 14);
        assert_eq!(parse_status(b"x"), 2);
        assert_eq!(parse_status(b""), 2);
        assert_eq!(code_name(8), "RESOURCE_EXHAUSTED");
        assert_eq!(code_name(4), "DEADLINE_EXCEEDED");
        assert_eq!(code_name(99), "UNKNOWN");
        assert_eq!(timeout_value(Duration::from_millis(1500)), "1500000u");
        assert_eq!(timeout_value(Duration::from_secs(200)), "200000m");
        assert_eq!(timeout_value(Duration::from_secs(3600 * 24)), "86400000m");
        assert_eq!(timeout_value(Duration::from_secs(3600 * 24 * 2)), "172800S");
        assert_eq!(timeout_value(Duration::from_nanos(10)), "1u");
    }
}
