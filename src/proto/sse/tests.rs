use super::*;
use SseEvent::{Content, Done, Empty, Usage};

fn feed_all(p: &mut SseParser, pieces: &[&[u8]]) -> Vec<SseEvent> {
    let mut got = Vec::new();
    for piece in pieces {
        p.feed(piece, |e| got.push(e));
    }
    got
}

fn events(input: &[u8]) -> Vec<SseEvent> {
    feed_all(&mut SseParser::new(), &[input])
}

/// The same events whether `input` comes whole, split in two at every byte,
/// or one byte at a time.
fn events_any_split(input: &[u8]) -> Vec<SseEvent> {
    let whole = events(input);
    let mut p = SseParser::new();
    for i in 0..=input.len() {
        p.reset();
        let got = feed_all(&mut p, &[&input[..i], &input[i..]]);
        assert_eq!(got, whole, "split at {i}");
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(feed_all(&mut SseParser::new(), &bytes), whole, "bytewise");
    whole
}

fn chat_chunk(delta: &str, finish: &str) -> String {
    format!(
        "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\
         \"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\
         \"finish_reason\":{finish}}}]}}\n\n"
    )
}

/// What vLLM sends for a chat completion with `include_usage`.
fn openai_chat_stream() -> String {
    let mut s = chat_chunk(r#"{"role":"assistant","content":""}"#, "null");
    for c in ["Hello", ",", " w\u{f6}rld", "!\\n", " \\\"\\u00e9\\\""] {
        s += &chat_chunk(&format!(r#"{{"content":"{c}"}}"#), "null");
    }
    s += &chat_chunk("{}", "\"stop\"");
    s += "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\
          \"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,\
          \"total_tokens\":12,\"completion_tokens\":5}}\n\n";
    s += "data: [DONE]\n\n";
    s
}

fn expected_chat() -> Vec<SseEvent> {
    let mut want = vec![Empty];
    want.extend([Content; 5]);
    want.extend([
        Empty,
        Usage {
            completion_tokens: 5,
        },
        Done,
    ]);
    want
}

#[test]
fn openai_chat_stream_any_split() {
    assert_eq!(
        events_any_split(openai_chat_stream().as_bytes()),
        expected_chat()
    );
}

#[test]
fn crlf_and_cr_line_endings() {
    let lf = openai_chat_stream();
    for eol in ["\r\n", "\r"] {
        let s = lf.replace('\n', eol);
        // `\\n` inside the JSON stays: only real line ends were replaced.
        assert_eq!(events_any_split(s.as_bytes()), expected_chat(), "{eol:?}");
    }
    // Mixed endings; CR LF split across feeds is one line end, not two.
    let mixed = b"data: {\"choices\":[{\"text\":\"a\"}]}\r\r\ndata: [DONE]\n\r";
    assert_eq!(events_any_split(mixed), [Content, Done]);
    // CR LF inside an event must not read as a blank line, whole or split.
    let multi = b"data: {\"choices\":\r\ndata: [{\"text\":\"x\"}]}\r\n\r\n";
    assert_eq!(events_any_split(multi), [Content]);
    let mut p = SseParser::new();
    let got = feed_all(&mut p, &[&multi[..18], &multi[18..19], &multi[19..]]);
    assert_eq!(got, [Content]);
}

#[test]
fn data_without_space_and_multi_line_data() {
    assert_eq!(events_any_split(b"data:[DONE]\n\n"), [Done]);
    // Lines join with LF: valid JSON split over data lines.
    let multi = b"data: {\"choices\":\ndata: [{\"delta\":\n\
                  data:{\"content\":\"x\"}}]}\n\n";
    assert_eq!(events_any_split(multi), [Content]);
    // Only one space is stripped; `data` with no colon is an empty line of data.
    let mut p = SseParser::new();
    p.feed(b"data:  a\ndata\ndata: b\n", |_| {});
    assert_eq!(p.data, b" a\n\nb");
    // `[DONE]` split over two lines is not `[DONE]`.
    assert_eq!(events(b"data: [DO\ndata: NE]\n\n"), [Empty]);
}

#[test]
fn comments_and_other_fields_ignored() {
    let s = b": ping\n\
              event: message\n\
              id: 7\n\
              retry: 1000\n\
              datum: [DONE]\n\
              dat: [DONE]\n\
              :data: [DONE]\n\
              data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n\
              : keep-alive\n\n\
              event: ping\n\n";
    // Blocks with no data line dispatch nothing.
    assert_eq!(events_any_split(s), [Content]);
}

#[test]
fn completions_text() {
    let s = "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"choices\":\
             [{\"index\":0,\"text\":\" \u{4f60}\u{597d}\",\"logprobs\":null,\"finish_reason\":null}]}\n\n\
             data: {\"choices\":[{\"index\":0,\"text\":\"\",\"finish_reason\":\"length\"}]}\n\n\
             data: {\"choices\":[],\"usage\":{\"completion_tokens\":2}}\n\n\
             data: [DONE]\n\n";
    assert_eq!(
        events_any_split(s.as_bytes()),
        [
            Content,
            Empty,
            Usage {
                completion_tokens: 2
            },
            Done
        ]
    );
}

#[test]
fn what_counts_as_content() {
    let one = |json: &str| events(format!("data: {json}\n\n").as_bytes());
    assert_eq!(one(r#"{"choices":[{"delta":{"content":" "}}]}"#), [Content]);
    assert_eq!(
        one(r#"{"choices":[{"delta":{"content":"\n"}}]}"#),
        [Content]
    );
    assert_eq!(
        one(r#"{"choices":[{"delta":{"content":"😀"}}]}"#),
        [Content]
    );
    assert_eq!(one(r#"{"choices":[{"delta":{"content":null}}]}"#), [Empty]);
    assert_eq!(one(r#"{"choices":[{"delta":{"content":""}}]}"#), [Empty]);
    assert_eq!(
        one(r#"{"choices":[{"delta":{"role":"assistant"}}]}"#),
        [Empty]
    );
    assert_eq!(one(r#"{"choices":[{"delta":{}}]}"#), [Empty]);
    assert_eq!(one(r#"{"choices":[{"text":null}]}"#), [Empty]);
    // Only the first choice counts.
    let n2 = r#"{"choices":[{"delta":{}},{"delta":{"content":"x"}}]}"#;
    assert_eq!(one(n2), [Empty]);
    let n2 = r#"{"choices":[{"delta":{"content":"x"}},{"delta":{}}, 3]}"#;
    assert_eq!(one(n2), [Content]);
    // Usage: null choices (some servers), null usage or null tokens.
    let u = r#"{"choices":null,"usage":{"prompt_tokens":1,"completion_tokens":9}}"#;
    assert_eq!(
        one(u),
        [Usage {
            completion_tokens: 9
        }]
    );
    assert_eq!(one(r#"{"choices":[],"usage":null}"#), [Empty]);
    assert_eq!(one(r#"{"usage":{"completion_tokens":null}}"#), [Empty]);
    // Content and usage in one chunk: both, content first.
    let both = r#"{"choices":[{"delta":{"content":"x"}}],"usage":{"completion_tokens":1}}"#;
    assert_eq!(
        one(both),
        [
            Content,
            Usage {
                completion_tokens: 1
            }
        ]
    );
    // Not JSON, or not the expected shapes.
    assert_eq!(one("{\"choices\":[{\"delta\":{\"content\":\"x\""), [Empty]);
    assert_eq!(one("hello"), [Empty]);
    assert_eq!(one(""), [Empty]);
    assert_eq!(one(r#"{"choices":[{"delta":{"content":["x"]}}]}"#), [Empty]);
    assert_eq!(events(b"data\n\n"), [Empty]);
}

#[test]
fn cut_stream_dispatches_no_partial_event() {
    let full = openai_chat_stream();
    let full = full.as_bytes();
    // Cut anywhere: only the events closed by a blank line come out, a prefix
    // of the whole sequence.
    let want = expected_chat();
    for cut in 0..full.len() {
        let got = events(&full[..cut]);
        assert_eq!(got[..], want[..got.len()], "cut at {cut}");
        let closed = full[..cut].windows(2).filter(|w| w == b"\n\n").count();
        assert_eq!(got.len(), closed, "cut at {cut}");
    }
    // A last event with its data line ended but no blank line after it.
    assert_eq!(events(b"data: [DONE]\n"), []);
}

#[test]
fn reset_between_responses() {
    let mut p = SseParser::new();
    // The first response is cut mid-line and mid-CRLF.
    p.feed(
        b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\r",
        |_| {},
    );
    p.reset();
    // Its pending event is gone: the blank line that follows dispatches only
    // the new event.
    assert_eq!(feed_all(&mut p, &[b"\ndata: [DONE]\n\n"]), [Done]);
    p.feed(b"data: [DO", |_| {});
    p.reset();
    assert_eq!(feed_all(&mut p, &[b"NE]\n\n"]), []);
    p.reset();
    let s = openai_chat_stream();
    assert_eq!(feed_all(&mut p, &[s.as_bytes()]), expected_chat());
}

#[test]
fn buffer_is_reused_and_bounded() {
    let mut p = SseParser::new();
    let s = openai_chat_stream();
    p.feed(s.as_bytes(), |_| {});
    let (ptr, cap) = (p.data.as_ptr(), p.data.capacity());
    for _ in 0..100 {
        p.reset();
        p.feed(s.as_bytes(), |_| {});
    }
    assert_eq!((p.data.as_ptr(), p.data.capacity()), (ptr, cap));

    // An event larger than MAX_EVENT is cut to it and counts as Empty.
    let mut got = Vec::new();
    let big = vec![b'a'; 64 * 1024];
    p.feed(b"data: {\"choices\":[{\"text\":\"", |e| got.push(e));
    for _ in 0..(MAX_EVENT / big.len() + 2) {
        p.feed(&big, |e| got.push(e));
    }
    assert_eq!(p.data.len(), MAX_EVENT);
    p.feed(b"\"}]}\n\ndata: [DONE]\n\n", |e| got.push(e));
    assert_eq!(got, [Empty, Done]);
}
