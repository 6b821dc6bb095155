//! Incremental Server-Sent Events parser for streamed LLM responses
//! (OpenAI-compatible `/v1/chat/completions` and `/v1/completions` with
//! `stream: true`), so the connection loop can time tokens.
//!
//! Framing is the part of the WHATWG event-stream format that matters here:
//! lines end with LF, CRLF or CR; a blank line ends an event; `data:` lines
//! (one optional space after the colon) join with LF; comments (`:` first) and
//! other fields (`event:`, `id:`, `retry:`) are ignored. As the spec says, an
//! event not closed by a blank line when the stream ends is never dispatched:
//! a cut stream loses its partial event, it is not guessed at. A leading BOM is
//! not stripped (OpenAI-compatible servers send none). Body bytes may arrive
//! split anywhere, inside CRLF or inside a UTF-8 sequence: the parser works on
//! bytes and keeps only a small state and the current event's data between
//! feeds.
//!
//! Each dispatched event is classified for the metrics of vLLM's `bench serve`
//! (see REFERENCE.md): `[DONE]`; a content event, whose `choices[0].delta.content`
//! (chat) or `choices[0].text` (completions) is a non-empty string; a usage
//! event carrying `usage.completion_tokens`; anything else (role-only delta,
//! empty or null content, finish chunk, JSON that does not parse) is `Empty`.
//!
//! Cost per event: every byte is looked at once; data bytes are copied once
//! into a buffer owned by the parser, cleared but never shrunk, so it stops
//! allocating once it has held the largest event (capped at [`MAX_EVENT`]).
//! At the blank line serde_json parses the data into small borrowed structs
//! that skip unknown fields without building values: no allocation, except
//! that a `content`/`text` string containing a JSON escape (`\n`, `\"`,
//! `\uXXXX`) is unescaped by serde_json into a scratch `Vec` that lives for
//! that one parse, so such an event costs one small allocation.

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// Most data bytes kept for one event. LLM chunks are hundreds of bytes; a
/// server that never ends an event must not grow a connection's memory
/// without bound. The rest of an oversized event is dropped and the event is
/// classified `Empty`.
pub const MAX_EVENT: usize = 1 << 20;

/// What a complete event was, for token timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SseEvent {
    /// Non-empty `choices[0].delta.content` or `choices[0].text`.
    Content,
    /// A well-formed event that carries no content (role-only delta, empty or
    /// null content, finish chunk) or data that is not JSON.
    Empty,
    /// `data: [DONE]`.
    Done,
    /// `usage.completion_tokens`; sent last, before `[DONE]`, when the request
    /// asked for `stream_options.include_usage`.
    Usage { completion_tokens: u64 },
}

/// Where the parser is within the current line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line {
    /// In the field name: how many of its bytes matched `data` so far, or
    /// [`OTHER`] once it cannot be `data`. `Name(0)` is the start of a line.
    Name(u8),
    /// Just after `data:`; one space here is skipped.
    DataStart,
    /// In a data value.
    Data,
    /// A comment or a field that is not `data`, until the end of the line.
    Skip,
}

const DATA: &[u8] = b"data";
/// A field name that is not `data`.
const OTHER: u8 = DATA.len() as u8 + 1;

#[derive(Clone, Debug)]
pub struct SseParser {
    line: Line,
    /// The last byte was CR, so an LF now belongs to it.
    cr: bool,
    /// The event has had a data line (the spec's "data buffer" is non-empty,
    /// even if every line was `data:` with nothing after it).
    has_data: bool,
    /// The event's data outgrew [`MAX_EVENT`].
    overflow: bool,
    /// The event's data lines, joined with LF.
    data: Vec<u8>,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SseParser {
    /// A parser with room for a typical event; one per connection.
    pub fn new() -> Self {
        SseParser {
            line: Line::Name(0),
            cr: false,
            has_data: false,
            overflow: false,
            data: Vec::with_capacity(1024),
        }
    }

    /// Ready for a new response; keeps the buffer's capacity.
    #[inline]
    pub fn reset(&mut self) {
        self.line = Line::Name(0);
        self.cr = false;
        self.has_data = false;
        self.overflow = false;
        self.data.clear();
    }

    /// Feed body bytes (already de-chunked); calls `on` for each complete
    /// event, in order.
    pub fn feed(&mut self, bytes: &[u8], on: impl FnMut(SseEvent)) {
        self.feed_with(bytes, on, |_| {});
    }

    /// `feed`, also handing each complete event's data to `on_data` once,
    /// before it is classified (for checks: error events, the payloads).
    pub fn feed_with(
        &mut self,
        bytes: &[u8],
        mut on: impl FnMut(SseEvent),
        mut on_data: impl FnMut(&[u8]),
    ) {
        let mut on = |e: Option<SseEvent>, data: &[u8]| match e {
            Some(e) => on(e),
            None => on_data(data),
        };
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if std::mem::take(&mut self.cr) && b == b'\n' {
                i += 1;
                continue;
            }
            if b == b'\n' || b == b'\r' {
                self.cr = b == b'\r';
                self.end_line(&mut on);
                i += 1;
                continue;
            }
            match self.line {
                Line::Data | Line::Skip => {
                    let rest = &bytes[i..];
                    let n = rest
                        .iter()
                        .position(|&c| c == b'\n' || c == b'\r')
                        .unwrap_or(rest.len());
                    if self.line == Line::Data {
                        self.push_data(&rest[..n]);
                    }
                    i += n;
                }
                Line::DataStart => {
                    self.line = Line::Data;
                    if b == b' ' {
                        i += 1;
                    }
                }
                Line::Name(k) => {
                    self.line = if b != b':' {
                        let k = k as usize;
                        Line::Name(if k < DATA.len() && DATA[k] == b {
                            k as u8 + 1
                        } else {
                            OTHER
                        })
                    } else if k as usize == DATA.len() {
                        self.begin_data();
                        Line::DataStart
                    } else {
                        // A comment (`:` first) or another field.
                        Line::Skip
                    };
                    i += 1;
                }
            }
        }
    }

    fn end_line(&mut self, on: &mut impl FnMut(Option<SseEvent>, &[u8])) {
        match self.line {
            Line::Name(0) => self.dispatch(on),
            // `data` alone on its line: a data field with an empty value.
            Line::Name(k) if k as usize == DATA.len() => self.begin_data(),
            _ => {}
        }
        self.line = Line::Name(0);
    }

    /// A data line starts: lines after the first are joined with LF.
    fn begin_data(&mut self) {
        if self.has_data {
            self.push_data(b"\n");
        }
        self.has_data = true;
    }

    fn push_data(&mut self, bytes: &[u8]) {
        let room = MAX_EVENT - self.data.len();
        if bytes.len() > room {
            self.overflow = true;
        }
        self.data.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn dispatch(&mut self, on: &mut impl FnMut(Option<SseEvent>, &[u8])) {
        if !self.has_data {
            return;
        }
        if self.overflow {
            on(Some(SseEvent::Empty), &[]);
        } else {
            on(None, &self.data);
            classify(&self.data, &mut |e| on(Some(e), &[]));
        }
        self.has_data = false;
        self.overflow = false;
        self.data.clear();
    }
}

/// Calls `on` once with what `data` is, or twice (`Content`, then `Usage`)
/// for a chunk that carries both.
fn classify(data: &[u8], on: &mut impl FnMut(SseEvent)) {
    let data = data.trim_ascii();
    if data == b"[DONE]" {
        return on(SseEvent::Done);
    }
    let Ok(chunk) = serde_json::from_slice::<Chunk>(data) else {
        return on(SseEvent::Empty);
    };
    let content = chunk.choices.and_then(|c| c.0).is_some_and(|c| {
        c.delta.and_then(|d| d.content).is_some_and(|s| s.0) || c.text.is_some_and(|s| s.0)
    });
    let usage = chunk.usage.and_then(|u| u.completion_tokens);
    if content {
        on(SseEvent::Content);
    }
    if let Some(completion_tokens) = usage {
        on(SseEvent::Usage { completion_tokens });
    }
    if !content && usage.is_none() {
        on(SseEvent::Empty);
    }
}

/// The parts of a completion chunk that matter; serde skips the rest.
#[derive(Deserialize)]
struct Chunk {
    choices: Option<FirstChoice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Usage {
    completion_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct Choice {
    delta: Option<Delta>,
    text: Option<NonEmpty>,
}

#[derive(Deserialize)]
struct Delta {
    content: Option<NonEmpty>,
}

/// `choices[0]`, if any; later choices are skipped without a `Vec`.
struct FirstChoice(Option<Choice>);

impl<'de> Deserialize<'de> for FirstChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FirstChoice;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of choices")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstChoice, A::Error> {
                let first = seq.next_element::<Choice>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstChoice(first))
            }
        }
        d.deserialize_seq(V)
    }
}

/// Whether a JSON string is non-empty, without keeping it.
struct NonEmpty(bool);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NonEmpty;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<NonEmpty, E> {
                Ok(NonEmpty(!s.is_empty()))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests;
