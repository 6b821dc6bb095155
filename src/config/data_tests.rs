//! The data reader's record rules and the templates' placeholders.

use super::*;

#[test]
fn csv_quoting_and_line_ends() {
    let t = Table::parse(
        "\u{feff}id,name\r\n1,\"Smith, J\"\r\n2,\"say \"\"hi\"\"\"\n\n3,\"two\nlines\"\n",
        "u.csv",
    )
    .unwrap();
    assert_eq!(t.columns, ["id", "name"]);
    assert_eq!(
        t.rows,
        [
            vec!["1".to_string(), "Smith, J".into()],
            vec!["2".into(), "say \"hi\"".into()],
            vec!["3".into(), "two\nlines".into()],
        ]
    );
    let t = Table::parse("a,b\n,\n", "e.csv").unwrap();
    assert_eq!(t.rows, [vec![String::new(), String::new()]]);
}

#[test]
fn bad_csv_names_file_and_line() {
    for (text, needle) in [
        ("", "'x.csv' is empty"),
        ("\n\n", "'x.csv' is empty"),
        ("id\n", "no data rows"),
        (
            "id,name\n1,a\n2\n",
            "x.csv:3: 1 fields, but the header has 2",
        ),
        ("id,\"open\n1\n", "x.csv:1: a quoted field is never closed"),
        ("id\n\"a\"b\n", "x.csv:2: text after a closing quote"),
        ("id,id\n1,2\n", "column 'id' appears twice"),
        ("id,\n1,2\n", "column 2 has no name"),
    ] {
        let e = Table::parse(text, "x.csv").unwrap_err();
        assert!(e.contains(needle), "{text:?}: {e}");
    }
}

#[test]
fn placeholders_are_columns() {
    let cols = vec!["id".to_string(), "user name".to_string()];
    let t = Template::parse(b"/u/{{id}}?n={{ user name }}", Some(&cols)).unwrap();
    assert!(t.varies());
    let row = vec!["7".to_string(), "Ann Lee".to_string()];
    assert_eq!(t.render_url(Some(&row)), "/u/7?n=Ann%20Lee");
    assert_eq!(t.render_str(Some(&row)), "/u/7?n=Ann Lee");
    assert_eq!(
        Template::parse(b"{{nope}}", Some(&cols)).unwrap_err(),
        "nope"
    );
    // Braces that are not a placeholder stay.
    let t = Template::parse(br#"{"a":{"b":"{{id}}"}}"#, Some(&cols)).unwrap();
    assert_eq!(t.render_str(Some(&row)), r#"{"a":{"b":"7"}}"#);
    let t = Template::parse(b"{{ }} and {{", Some(&cols)).unwrap();
    assert!(!t.varies());
    // Without a data file nothing is a placeholder.
    let t = Template::parse(b"{{id}}", None).unwrap();
    assert!(!t.varies());
    assert_eq!(t.render(None), b"{{id}}");
}

#[test]
fn captured_names_stay_for_the_engine() {
    let cols = vec!["id".to_string()];
    let t = Template::parse_with(b"/u/{{id}}/{{ token }}", Some(&cols), Some(&["token"]));
    let row = vec!["7".to_string()];
    assert_eq!(t.unwrap().render_str(Some(&row)), "/u/7/{{ token }}");
    let t = Template::parse_with(b"{{token}}", None, Some(&["other"]));
    assert_eq!(t.unwrap_err(), "token");
    assert!(Template::parse_with(b"{{x}}", None, Some(&[])).is_err());
}

/// Issue 18: records end at LF, CRLF or a lone CR; quoted endings are
/// kept as written; no CR is left at the end of a last field.
#[test]
fn every_line_ending_ends_a_record() {
    let rows = |text: &str| Table::parse(text, "x.csv").unwrap().rows;
    let want = [
        vec!["1".to_string(), "a".into()],
        vec!["2".into(), "b".into()],
    ];
    for text in [
        "id,v\n1,a\n2,b\n",
        "id,v\r\n1,a\r\n2,b\r\n",
        "id,v\r1,a\r2,b\r",
        "id,v\r1,a\r2,b",
        "id,v\r\n1,a\r\n2,b\r",
        "id,v\n1,a\r\n2,\"b\"\r",
        "\u{feff}id,v\r\r1,a\r\n\r\n2,b\n\n",
    ] {
        assert_eq!(rows(text), want, "{text:?}");
    }
    assert_eq!(
        rows("id,v\r1,\"a\rb\"\r2,\"c\r\nd\ne\"\r"),
        [
            vec!["1".to_string(), "a\rb".into()],
            vec!["2".into(), "c\r\nd\ne".into()],
        ]
    );
    // Lines count every ending, quoted or not, in the errors.
    for (text, needle) in [
        ("id,v\r1,a\r2\r", "x.csv:3: 1 fields"),
        ("id,v\r1,\"a\rb\"\r2\r", "x.csv:4: 1 fields"),
        ("id,v\r\n1,\"a\r\nb\"\r\n2\r\n", "x.csv:4: 1 fields"),
        ("id\r1\r\"x\"y\r", "x.csv:3: text after a closing quote"),
        ("id\r\"x\ry", "x.csv:2: a quoted field is never closed"),
    ] {
        let e = Table::parse(text, "x.csv").unwrap_err();
        assert!(e.contains(needle), "{text:?}: {e}");
    }
}

/// Issue 18: a value is encoded for where it lands in the URL.
#[test]
fn url_values_are_path_segments_or_query_components() {
    let cols = vec!["v".to_string(), "w".to_string()];
    let t = Template::parse(b"/p/{{v}}/e?q={{v}}&r={{w|raw}}", Some(&cols)).unwrap();
    for (v, path, query) in [
        ("50%", "50%25", "50%25"),
        ("a&b=c", "a&b=c", "a%26b%3Dc"),
        ("x+y", "x+y", "x%2By"),
        ("a/b", "a%2Fb", "a/b"),
        ("..", "%2E%2E", ".."),
        (".", "%2E", "."),
        ("a..b", "a..b", "a..b"),
        ("é", "%C3%A9", "%C3%A9"),
        ("#frag", "%23frag", "%23frag"),
        ("a b", "a%20b", "a%20b"),
        ("x?y", "x%3Fy", "x?y"),
        ("k;v", "k%3Bv", "k%3Bv"),
        ("~-_.!$'()*,:@", "~-_.!$'()*,:@", "~-_.!$'()*,:@"),
        (
            "\"<>\\^`{|}[]\t",
            "%22%3C%3E%5C%5E%60%7B%7C%7D%5B%5D%09",
            "%22%3C%3E%5C%5E%60%7B%7C%7D%5B%5D%09",
        ),
    ] {
        let row = vec![v.to_string(), "a&b".into()];
        assert_eq!(
            t.render_url(Some(&row)),
            format!("/p/{path}/e?q={query}&r=a&b"),
            "{v:?}"
        );
    }
    // A raw value that writes the `?` starts the query.
    let t = Template::parse(b"/s{{v | raw}}&x={{w}}", Some(&cols)).unwrap();
    let row = vec!["?k=1".to_string(), "a&b".into()];
    assert_eq!(t.render_url(Some(&row)), "/s?k=1&x=a%26b");
    let row = vec!["/k".to_string(), "a&b".into()];
    assert_eq!(t.render_url(Some(&row)), "/s/k&x=a&b");
    // Headers and bodies take values as written, `|raw` or not.
    let t = Template::parse(b"{{v}}:{{w|raw}}", Some(&cols)).unwrap();
    let row = vec!["a b&".to_string(), "%".into()];
    assert_eq!(t.render_str(Some(&row)), "a b&:%");
    // Only `raw` is a filter; a column named with a `|` is its own.
    assert_eq!(
        Template::parse(b"{{v|upper}}", Some(&cols)).unwrap_err(),
        "v|upper"
    );
    let cols = vec!["v|raw".to_string(), "v".to_string()];
    let t = Template::parse(b"/{{v|raw}}", Some(&cols)).unwrap();
    let row = vec!["a/b".to_string(), "c/d".into()];
    assert_eq!(t.render_url(Some(&row)), "/a%2Fb");
}
