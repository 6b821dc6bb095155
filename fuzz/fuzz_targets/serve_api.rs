//! `blast serve`'s body-to-config path: a `POST /benchmark` (first byte
//! even) or `POST /find` body checked as the server checks it, then, when
//! it can be built without leaving this machine, built as the server builds
//! it. Nothing is sent: building resolves the target and encodes the
//! request, no more. Only a body whose URL names 127.0.0.1 itself and whose
//! other strings hold no `://` or `@` is built, so that no name is looked up
//! and no file is read.
#![no_main]
use blast::serve::api::{check, AllowList, Limits, Mode};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::time::Duration;

fn strings_ok(v: &Value) -> bool {
    match v {
        Value::String(s) => !s.contains("://") && !s.contains('@'),
        Value::Array(a) => a.iter().all(strings_ok),
        Value::Object(o) => o.iter().all(|(k, v)| k == "url" || strings_ok(v)),
        _ => true,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&m, body)) = data.split_first() else {
        return;
    };
    let mode = if m & 1 == 0 { Mode::Run } else { Mode::Find };
    let mut limits = Limits::default();
    limits.allow_target = AllowList::parse(&["127.0.0.1".into()]).expect("a valid entry");
    limits.max_duration = Some(Duration::from_secs(60));
    limits.max_rate = Some(1000.0);
    limits.max_connections = Some(100);
    let Ok(checked) = check(body, &limits, mode) else {
        return;
    };
    let local = checked
        .request
        .get("url")
        .and_then(Value::as_str)
        .is_some_and(|u| blast::config::url::parse_url(u).is_ok_and(|p| p.host == "127.0.0.1"));
    if local && strings_ok(&checked.request) {
        let _ = checked.build(&limits);
    }
});
