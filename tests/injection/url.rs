//! Section 3: a `{{column}}` value is encoded for where it lands, a path
//! segment or a query component, so that no value adds a query parameter,
//! climbs a directory or makes an invalid escape; `{{column|raw}}` puts it
//! in as written. The truth is the request target the server received.

use super::{raw_server, run_data, targets};
use crate::support::run;
use std::collections::BTreeSet;

#[test]
fn column_values_are_encoded_for_path_and_query() {
    let (s, url) = raw_server("url");
    let data = s.file("v.csv", "v\n50%\na&b=c\nx+y\na/b\n..\né\n#frag\na b\n");
    let r = run_data(16, &data, &format!("{url}/p/{{{{v}}}}/e?q={{{{v}}}}&r=1"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want: BTreeSet<String> = [
        "/p/50%25/e?q=50%25&r=1",
        "/p/a&b=c/e?q=a%26b%3Dc&r=1",
        "/p/x+y/e?q=x%2By&r=1",
        "/p/a%2Fb/e?q=a/b&r=1",
        "/p/%2E%2E/e?q=..&r=1",
        "/p/%C3%A9/e?q=%C3%A9&r=1",
        "/p/%23frag/e?q=%23frag&r=1",
        "/p/a%20b/e?q=a%20b&r=1",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let log = s.log();
    assert_eq!(log.len(), 16);
    assert_eq!(targets(&log), want);
}

#[test]
fn raw_column_values_go_in_as_written() {
    let (s, url) = raw_server("url-raw");
    let data = s.file("v.csv", "v,w\nx/y?k=1,50%25\n../z,a&b\n");
    let r = run_data(
        4,
        &data,
        &format!("{url}/r/{{{{v|raw}}}}&w={{{{w|raw}}}}&e={{{{w}}}}"),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // `x/y?k=1` starts the query, so `{{w}}` after it is a query component;
    // after `../z` it is still in the path, where `&` is safe.
    let want: BTreeSet<String> = ["/r/x/y?k=1&w=50%25&e=50%2525", "/r/../z&w=a&b&e=a&b"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(targets(&s.log()), want);

    // A raw value still may not break the request line.
    let bad = s.file("bad.csv", "v\nok\nsp ace\n");
    let r = run(&["-n", "1", "--data", &bad, &format!("{url}/r/{{{{v|raw}}}}")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("row 2 of") && r.stderr.contains("spaces or control characters"),
        "{}",
        r.stderr
    );
    assert_eq!(s.log().len(), 4, "a refused run sent nothing");
}
