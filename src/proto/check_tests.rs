use super::*;

fn check(s: &str) -> Check {
    Check::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn err(s: &str) -> String {
    match Check::parse(s) {
        Ok(c) => panic!("{s} parsed as {c:?}"),
        Err(e) => {
            assert!(!e.contains('\n'), "{s}: error is not one line: {e}");
            e
        }
    }
}

fn status(s: &str, code: u16) -> bool {
    check(s).eval(&Response::new(code, &NO_HEADERS, b""))
}

fn body(s: &str, b: &[u8]) -> bool {
    check(s).eval(&Response::new(200, &NO_HEADERS, b))
}

#[test]
fn status_codes_classes_and_lists() {
    assert!(status("status == 200", 200));
    assert!(!status("status == 200", 201));
    assert!(status("status == 2xx", 204));
    assert!(status("status == 2XX", 299));
    assert!(!status("status == 2xx", 300));
    assert!(!status("status == 2xx", 199));
    assert!(status("status in 200,201,204", 201));
    assert!(status("status in 200, 201 ,204", 204));
    assert!(!status("status in 200,201,204", 202));
    assert!(status("status in 404,5xx", 503));
    assert!(status("  status   ==   404  ", 404));
    assert_eq!(check("  status   ==   404  ").text(), "status   ==   404");
    assert!(check("status == 200").is_status());
    assert!(!check("status == 200").needs_body());
}

#[test]
fn status_errors() {
    for (s, needle) in [
        ("status", "expected \"== CODE\""),
        ("status = 200", "expected \"== CODE\""),
        ("status ==", "expected \"== CODE\""),
        ("status == abc", "\"abc\" is not a status code"),
        ("status == 20", "\"20\" is not a status code"),
        ("status == 2000", "\"2000\" is not a status code"),
        ("status == 099", "\"099\" is not a status code"),
        ("status == 0xx", "\"0xx\" is not a status code"),
        ("status == 2x", "\"2x\" is not a status code"),
        ("status in 200,,201", "\"\" is not a status code"),
    ] {
        let e = err(s);
        assert!(e.contains(needle), "{s}: {e}");
    }
}

#[test]
fn unknown_subject_and_empty() {
    assert_eq!(
        err("bdy contains x"),
        "unknown check subject \"bdy\": expected status, body, json, header or size"
    );
    assert!(err("   ").starts_with("empty check"));
}

#[test]
fn body_contains_not_contains_matches() {
    let b = br#"{"error": "CUDA out of memory"}"#;
    assert!(body("body contains out of memory", b));
    assert!(!body("body contains Out of memory", b));
    assert!(body("body !contains predictions", b));
    assert!(!body("body !contains error", b));
    assert!(body("body matches CUDA .* memory", b));
    assert!(body("body matches ^\\{\"error\"", b));
    assert!(!body("body matches ^CUDA", b));
    // Regex metacharacters in TEXT are literal.
    assert!(body("body contains a.b(c", b"xa.b(cx"));
    assert!(!body("body contains a.b", b"axb"));
    // Quoted TEXT is a JSON string: ends and escapes kept.
    assert!(body(r#"body contains " x ""#, b"a x b"));
    assert!(!body(r#"body contains " x ""#, b"ax b"));
    assert!(body(r#"body contains "\"error\"""#, b));
    // Bodies need not be UTF-8.
    assert!(body("body contains ok", b"\xff\xfeok"));
    assert!(check("body contains x").needs_body());
    assert!(check("body matches x").needs_body());
}

#[test]
fn body_errors() {
    assert!(err("body has x").contains("unknown operator \"has\""));
    assert!(err("body contains").contains("missing text"));
    assert!(err("body matches").contains("missing REGEX"));
    let e = err("body matches (abc");
    assert!(e.starts_with("body matches: bad regex: "), "{e}");
    assert!(e.contains("unclosed group"), "{e}");
    assert!(err(r#"body contains "abc"#).contains("not a valid quoted string"));
}

#[test]
fn json_exists_equal_and_not_equal() {
    let b = br#"{"predictions":[{"label":"cat","score":0.9,"n":1}],"a/b":{"m~n":true},"nil":null,"arr":[1,2.0]}"#;
    assert!(body("json /predictions exists", b));
    assert!(body("json /predictions/0/label exists", b));
    assert!(!body("json /predictions/1 exists", b));
    assert!(!body("json /error exists", b));
    assert!(body("json /nil exists", b));
    assert!(body("json /predictions/0/label == cat", b));
    assert!(body("json /predictions/0/label == \"cat\"", b));
    assert!(!body("json /predictions/0/label == dog", b));
    assert!(body("json /predictions/0/label != dog", b));
    assert!(body("json /predictions/0/score == 0.9", b));
    assert!(body("json /predictions/0/n == 1.0", b));
    assert!(body("json /predictions/0/n == 1", b));
    assert!(body("json /arr == [1, 2]", b));
    assert!(body("json /nil == null", b));
    // A JSON literal vs a bare word: `true` is the boolean, `"true"` a string.
    assert!(body("json /a~1b/m~0n == true", b));
    assert!(!body("json /a~1b/m~0n == \"true\"", b));
    assert!(body("json /x == hello world", br#"{"x":"hello world"}"#));
    assert!(body("json /x == 007", br#"{"x":"007"}"#));
    // `!=` on a missing value passes; on a body that is not JSON, fails.
    assert!(body("json /missing != 1", b));
    assert!(!body("json /x != 1", b"not json"));
    assert!(!body("json /x exists", b"not json"));
    assert!(!body("json /x == 1", b""));
}

#[test]
fn json_pointer_escapes_and_indices() {
    let p = Pointer::parse("/a~1b/m~0n/~01").unwrap();
    assert_eq!(p.0, vec!["a/b", "m~n", "~1"]);
    let doc: Value = serde_json::from_str(r#"{"a":[10,20],"":{"":5}}"#).unwrap();
    let find = |s: &str| Pointer::parse(s).unwrap().find(&doc).cloned();
    assert_eq!(find("/a/1"), Some(Value::from(20)));
    assert_eq!(find("/a/01"), None, "leading zeros are not indices");
    assert_eq!(find("/a/-"), None);
    assert_eq!(find("/a/+1"), None);
    assert_eq!(find("/a/2"), None);
    assert_eq!(find("//"), Some(Value::from(5)));
    assert_eq!(find("/a/0/x"), None);
}

#[test]
fn json_errors() {
    assert!(err("json").contains("missing POINTER"));
    assert!(err("json predictions exists").contains("must start with \"/\""));
    assert!(err("json /a~2 exists").contains("\"~\" must be followed by 0 or 1"));
    assert!(err("json /a~ exists").contains("\"~\" must be followed by 0 or 1"));
    assert!(err("json /a is 3").contains("unknown operator \"is\""));
    assert!(err("json /a").contains("unknown operator \"\""));
    assert!(err("json /a exists now").contains("unexpected \"now\""));
    assert!(err("json /a ==").contains("missing VALUE"));
    assert!(err("json /a == [1,").contains("is not valid JSON"));
    assert!(err("json /a == \"x").contains("is not valid JSON"));
}

#[test]
fn headers_case_insensitive_names() {
    let pairs: &[(&str, &[u8])] = &[
        ("content-type", b"application/json; charset=utf-8"),
        ("X-Model", b"llama"),
        ("x-model", b"second"),
    ];
    let r = Response::new(200, &pairs, b"");
    assert!(check("header Content-Type contains json").eval(&r));
    assert!(!check("header Content-Type contains JSON").eval(&r));
    assert!(check("header x-model == llama").eval(&r));
    assert!(
        !check("header X-MODEL == second").eval(&r),
        "first value only"
    );
    assert!(
        !check("header X-Model == Llama").eval(&r),
        "values are case-sensitive"
    );
    assert!(!check("header X-Missing contains x").eval(&r));
    assert!(check("header X-Model == \"llama\"").eval(&r));
    assert!(check("header X-Model contains lla").needs_headers());
    assert!(!check("header X-Model contains lla").needs_body());

    // The same over httparse's and http's header types.
    let parsed = [httparse::Header {
        name: "X-Model",
        value: b"llama",
    }];
    let slice: &[httparse::Header<'_>] = &parsed;
    assert!(check("header x-model == llama").eval(&Response::new(200, &slice, b"")));
    let mut map = http::HeaderMap::new();
    map.insert("x-model", http::HeaderValue::from_static("llama"));
    assert!(check("header X-Model == llama").eval(&Response::new(200, &map, b"")));
}

#[test]
fn header_errors() {
    assert!(err("header").contains("missing NAME"));
    assert!(err("header Bad:Name == x").contains("not a valid header name"));
    assert!(err("header X-A is x").contains("unknown operator \"is\""));
    assert!(err("header X-A ==").contains("missing text"));
}

#[test]
fn size_operators_and_units() {
    let r = |len: u64| Response {
        status: 200,
        headers: &NO_HEADERS,
        body: b"",
        body_len: len,
    };
    let size = |s: &str, len: u64| check(s).eval(&r(len));
    assert!(size("size > 0", 1));
    assert!(!size("size > 0", 0));
    assert!(size("size < 1MB", 999_999));
    assert!(!size("size < 1MB", 1_000_000));
    assert!(size("size <= 1MiB", 1_048_576));
    assert!(!size("size <= 1MiB", 1_048_577));
    assert!(size("size >= 1KiB", 1024));
    assert!(size("size == 1kb", 1000));
    assert!(size("size == 1.5KB", 1500));
    assert!(size("size != 512B", 511));
    assert!(size("size == 2GiB", 2 << 30));
    assert!(size("size == 1GB", 1_000_000_000));
    // Size needs the length only, not the bytes.
    assert!(!check("size < 1MB").needs_body());
    for (s, needle) in [
        ("size =< 1", "unknown operator \"=<\""),
        ("size < 1XB", "\"1XB\" is not a size"),
        ("size <", "\"\" is not a size"),
        ("size < -1", "\"-1\" is not a size"),
    ] {
        assert!(err(s).contains(needle), "{s}: {}", err(s));
    }
}

#[test]
fn set_status_rule_default_and_replaced() {
    let none = Checks::default();
    assert!(none.status_ok(200) && none.status_ok(302));
    assert!(!none.status_ok(404) && !none.status_ok(500) && !none.status_ok(101));
    let s = Checks::parse(&["status == 404"]).unwrap();
    assert!(s.status_ok(404));
    assert!(!s.status_ok(200));
    let r = Response::new(200, &NO_HEADERS, b"");
    assert_eq!(s.judge(&r), Verdict::Check(0));
    assert_eq!(
        s.judge(&Response::new(404, &NO_HEADERS, b"")),
        Verdict::Pass
    );
    // Without a status check, the default rule still judges, before the rest.
    let b = Checks::parse(&["body contains ok"]).unwrap();
    assert_eq!(
        b.judge(&Response::new(500, &NO_HEADERS, b"ok")),
        Verdict::Status
    );
    assert_eq!(
        b.judge(&Response::new(200, &NO_HEADERS, b"no")),
        Verdict::Check(0)
    );
    assert_eq!(
        b.judge(&Response::new(200, &NO_HEADERS, b"ok")),
        Verdict::Pass
    );
}

#[test]
fn set_first_failure_and_each_outcome() {
    let c = Checks::parse(&[
        "status == 200",
        "json /predictions exists",
        "body !contains error",
        "size < 1KB",
    ])
    .unwrap();
    assert!(c.needs_body() && c.has_status() && !c.needs_headers());
    let ok = br#"{"predictions":[1]}"#;
    assert_eq!(c.eval_all(&Response::new(200, &NO_HEADERS, ok)), Ok(()));
    let bad = br#"{"error":"overloaded"}"#;
    let r = Response::new(200, &NO_HEADERS, bad);
    assert_eq!(c.eval_all(&r), Err(1));
    let mut seen = Vec::new();
    assert_eq!(c.eval_each(&r, |i, ok| seen.push((i, ok))), Err(1));
    assert_eq!(seen, vec![(0, true), (1, false), (2, false), (3, true)]);
    assert_eq!(c.list()[1].text(), "json /predictions exists");
    let e = Checks::parse(&["status == 200", "bdy x"]).unwrap_err();
    assert!(e.starts_with("\"bdy x\": unknown check subject"), "{e}");
}

#[test]
fn json_body_parsed_once_per_response() {
    let json = LazyJson::new(br#"{"a":1,"b":2}"#);
    let r = Response::new(200, &NO_HEADERS, br#"{"a":1,"b":2}"#);
    let a = check("json /a == 1");
    let b = check("json /b == 2");
    assert!(a.eval_with(&r, &json));
    let first = json.get().unwrap() as *const Value;
    assert!(b.eval_with(&r, &json));
    assert_eq!(
        json.get().unwrap() as *const Value,
        first,
        "same parsed doc"
    );
    let not = LazyJson::new(b"{");
    assert!(not.get().is_none() && not.get().is_none());
}

#[test]
fn sse_error_events() {
    assert_eq!(
        sse_error(br#"{"error":"CUDA out of memory"}"#).as_deref(),
        Some("CUDA out of memory")
    );
    assert_eq!(
        sse_error(br#"{"error":{"message":"overloaded","type":"server_error","code":503}}"#)
            .as_deref(),
        Some("overloaded")
    );
    assert_eq!(
        sse_error(br#"{"error":{"code":503}}"#).as_deref(),
        Some(r#"{"code":503}"#)
    );
    assert_eq!(sse_error(br#"{"error":503}"#).as_deref(), Some("503"));
    assert_eq!(sse_error(br#"{"error":null}"#), None);
    assert_eq!(
        sse_error(br#"{"choices":[{"delta":{"content":"the \"error\" word"}}]}"#),
        None,
        "an error key nested deeper is content, not an error"
    );
    assert_eq!(sse_error(b"[DONE]"), None);
    assert_eq!(sse_error(br#"{"error": "x"#), None, "not JSON");
    assert_eq!(sse_error(br#"["error"]"#), None);
}

#[test]
fn json_exists_walks_as_the_parsed_document_finds() {
    let docs: [&[u8]; 6] = [
        br#"{"predictions": [{"label": "cat"}, null], "a/b": {"~": 1}, "e\"k": 2}"#,
        br#"{"error": "overloaded"}"#,
        br#"[1, {"predictions": []}]"#,
        b"not json",
        br#"{"predictions": [1]} trailing"#,
        b"",
    ];
    for ptr in [
        "/predictions",
        "/predictions/0/label",
        "/predictions/1",
        "/predictions/2",
        "/predictions/01",
        "/a~1b/~0",
        "/e\"k",
        "/1/predictions",
        "/error",
        "/error/x",
    ] {
        let p = Pointer::parse(ptr).unwrap();
        for d in docs {
            let parsed: Option<Value> = serde_json::from_slice(d).ok();
            let want = parsed.as_ref().and_then(|v| p.find(v)).is_some();
            assert_eq!(
                exists_in(&p.0, d),
                want,
                "{ptr} in {}",
                String::from_utf8_lossy(d)
            );
        }
    }
}
