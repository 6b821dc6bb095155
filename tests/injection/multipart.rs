//! Section 3: multipart field and file names are written as browsers write
//! them (WHATWG HTML's form-data encoding): `"` as `%22`, CR as `%0D`, LF
//! as `%0A`, a backslash as itself. A name from an API caller or a file on
//! disk can then neither end the quoted name nor add a header to its part.

use super::raw_server;
use crate::support::run;

#[test]
fn form_names_cannot_add_part_headers() {
    let (s, url) = raw_server("multipart");
    let file = s.file("q\"x\ny.txt", "DATA");
    let r = run(&[
        "-n",
        "1",
        "-F",
        "a\"b\r\nX-Evil: 1=v",
        "-F",
        "c\\d=w",
        "-F",
        &format!("f=@{file}"),
        &format!("{url}/up"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let log = s.log();
    assert_eq!(log.len(), 1);
    let body = log[0]["raw"].as_str().unwrap();
    let boundary = body.lines().next().unwrap().trim_end();
    let parts: Vec<&str> = body.split(boundary).collect();
    assert_eq!(parts.len(), 5, "{body:?}");
    assert_eq!(
        parts[1],
        "\r\nContent-Disposition: form-data; name=\"a%22b%0D%0AX-Evil: 1\"\r\n\r\nv\r\n"
    );
    assert_eq!(
        parts[2],
        "\r\nContent-Disposition: form-data; name=\"c\\d\"\r\n\r\nw\r\n"
    );
    assert_eq!(
        parts[3],
        "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"q%22x%0Ay.txt\"\r\n\
         Content-Type: application/octet-stream\r\n\r\nDATA\r\n"
    );
    assert_eq!(parts[4], "--\r\n");
    assert!(!body.contains("\r\nX-Evil"), "{body:?}");
}

/// The same through `blast serve`, whose callers set `form` names.
#[test]
fn api_form_names_cannot_add_part_headers() {
    let (s, url) = raw_server("multipart-api");
    let dir = crate::serve::client::data_dir("multipart");
    let serve = crate::serve::client::Serve::start(&dir, &[]);
    let body = serde_json::json!({
        "url": format!("{url}/up"),
        "requests": 1,
        "num_workers": 1,
        "form": ["a\"b\r\nX-Evil: 1=v"],
    });
    serve.run_waiting(&body.to_string());
    let log = s.log();
    assert_eq!(log.len(), 1);
    let body = log[0]["raw"].as_str().unwrap();
    assert!(
        body.contains(
            "\r\nContent-Disposition: form-data; name=\"a%22b%0D%0AX-Evil: 1\"\r\n\r\nv\r\n"
        ),
        "{body:?}"
    );
    assert!(!body.contains("\r\nX-Evil"), "{body:?}");
}
