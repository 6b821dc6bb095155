//! The chunked body's state machine (RFC 9112 §7.1): sizes, data, the
//! CRLF after each chunk, and the trailer section after the last.

use crate::stats::Fault;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Chunk {
    /// Reading the hex size; `digits` counts those seen.
    Size {
        size: u64,
        digits: u8,
    },
    /// After `;` or whitespace on the size line, until LF.
    Extension {
        size: u64,
    },
    /// Saw CR after the size, want LF.
    SizeLf {
        size: u64,
    },
    Data(u64),
    DataCr,
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    TrailerLine,
    TrailerLf,
}

/// Advance the chunked-body machine over `buf`. Returns the bytes taken and
/// the next state, or `None` when the body (with its trailers) is complete.
pub(super) fn chunk_step(
    mut c: Chunk,
    buf: &[u8],
    on_body: &mut impl FnMut(&[u8]),
) -> Result<(usize, Option<Chunk>), Fault> {
    let mut i = 0;
    while i < buf.len() {
        if let Chunk::Data(left) = c {
            let take = left.min((buf.len() - i) as u64);
            on_body(&buf[i..i + take as usize]);
            i += take as usize;
            c = if take == left {
                Chunk::DataCr
            } else {
                Chunk::Data(left - take)
            };
            continue;
        }
        let b = buf[i];
        i += 1;
        c = match c {
            Chunk::Size { size, digits } => match b {
                b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                    if digits >= 15 {
                        return Err(Fault::ParseChunk);
                    }
                    let d = (b as char).to_digit(16).unwrap_or(0) as u64;
                    Chunk::Size {
                        size: size * 16 + d,
                        digits: digits + 1,
                    }
                }
                _ if digits == 0 => return Err(Fault::ParseChunk),
                b'\r' => Chunk::SizeLf { size },
                b'\n' => end_of_size_line(size),
                b';' | b' ' | b'\t' => Chunk::Extension { size },
                _ => return Err(Fault::ParseChunk),
            },
            Chunk::Extension { size } => match b {
                b'\n' => end_of_size_line(size),
                _ => Chunk::Extension { size },
            },
            Chunk::SizeLf { size } => match b {
                b'\n' => end_of_size_line(size),
                _ => return Err(Fault::ParseChunk),
            },
            Chunk::DataCr => match b {
                b'\r' => Chunk::DataLf,
                b'\n' => Chunk::Size { size: 0, digits: 0 },
                _ => return Err(Fault::ParseChunk),
            },
            Chunk::DataLf => match b {
                b'\n' => Chunk::Size { size: 0, digits: 0 },
                _ => return Err(Fault::ParseChunk),
            },
            Chunk::TrailerStart => match b {
                b'\r' => Chunk::TrailerLf,
                b'\n' => return Ok((i, None)),
                _ => Chunk::TrailerLine,
            },
            Chunk::TrailerLine => match b {
                b'\n' => Chunk::TrailerStart,
                _ => Chunk::TrailerLine,
            },
            Chunk::TrailerLf => match b {
                b'\n' => return Ok((i, None)),
                _ => return Err(Fault::ParseChunk),
            },
            Chunk::Data(_) => unreachable!("handled above"),
        };
    }
    Ok((i, Some(c)))
}

fn end_of_size_line(size: u64) -> Chunk {
    if size == 0 {
        Chunk::TrailerStart
    } else {
        Chunk::Data(size)
    }
}
