use super::*;
use crate::config::plan::{Built, Common};
use crate::config::url::parse_url;
use crate::engine::mix::{RowOrder, Think};
use std::time::Duration;

/// A fresh folder with `files` in it.
fn dir(files: &[(&str, &str)]) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "blast-scenario-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    for (name, text) in files {
        std::fs::write(d.join(name), text).unwrap();
    }
    d
}

/// Parse `toml` beside `files`; every file is read while parsing, so the
/// folder goes at once.
fn plan(toml: &str, files: &[(&str, &str)]) -> Result<Plan, Error> {
    let d = dir(files);
    let p = parse(toml, "s.toml", Some(&d), None);
    let _ = std::fs::remove_dir_all(&d);
    p
}

fn build(p: &Plan, url: &str) -> Result<Built, Error> {
    let u = parse_url(url).unwrap();
    p.build(&Common {
        url: Some(&u),
        headers: &[crate::proto::h1::request::Header {
            name: "X-All".into(),
            value: "cli".into(),
        }],
        close: false,
        http2: false,
        checks: &[],
    })
}

fn text(b: &Built, i: usize) -> String {
    String::from_utf8(b.mix.variants[i].bytes.to_vec()).unwrap()
}

const SHOP: &str = r#"
think = "between 1s 3s"
data = "users.csv"
data_order = "random"

[[request]]
name = "home"
path = "/"
weight = 3

[[request]]
path = "/item/{{id}}?q=1"
headers = { X-All = "mine", X-User = "{{user}}" }

[[sequence]]
weight = 2

[[sequence.step]]
name = "login"
path = "/login"
body = '{"user": "{{user}}"}'

[[sequence.step]]
path = "/cart"
method = "DELETE"
"#;

const USERS: &str = "id,user\n1,ann\n2,bob lee\n";

#[test]
fn a_scenario_becomes_a_mix() {
    let p = plan(SHOP, &[("users.csv", USERS)]).unwrap();
    assert_eq!(
        p.think,
        Think::Between(Duration::from_secs(1), Duration::from_secs(3))
    );
    assert_eq!(p.rows, RowOrder::Random);
    let b = build(&p, "http://127.0.0.1:8080/api").unwrap();
    let names: Vec<String> = b
        .mix
        .names
        .iter()
        .map(|n| format!("{} {}", n.method, n.name))
        .collect();
    assert_eq!(
        names,
        [
            "GET home",
            "GET /api/item/{{id}}",
            "POST login",
            "DELETE /api/cart"
        ]
    );
    assert_eq!(b.method, "mixed");
    let weights: Vec<u32> = b.mix.entries.iter().map(|e| e.weight).collect();
    assert_eq!(weights, [3, 1, 2]);
    // home: one variant (no placeholder); item: one per row; login: one
    // per row; cart: one.
    let counts: Vec<Vec<u32>> = b
        .mix
        .entries
        .iter()
        .map(|e| e.steps.iter().map(|s| s.count).collect())
        .collect();
    assert_eq!(counts, [vec![1], vec![2], vec![2, 1]]);
    assert_eq!(b.mix.variants.len(), 6);
    let home = text(&b, 0);
    assert!(
        home.starts_with("GET /api/ HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"),
        "{home}"
    );
    assert!(home.contains("X-All: cli\r\n"), "{home}");
    let item = text(&b, 2);
    assert!(
        item.starts_with("GET /api/item/2?q=1 HTTP/1.1\r\n"),
        "{item}"
    );
    // The request's own header wins over -H.
    assert!(
        item.contains("X-All: mine\r\n") && !item.contains("cli"),
        "{item}"
    );
    assert!(item.contains("X-User: bob lee\r\n"), "{item}");
    let login = text(&b, 3);
    assert!(login.starts_with("POST /api/login HTTP/1.1\r\n"), "{login}");
    assert!(
        login.contains("Content-Type: application/json\r\n"),
        "{login}"
    );
    assert!(login.ends_with("\r\n\r\n{\"user\": \"ann\"}"), "{login}");
}

#[test]
fn bodies_forms_and_full_urls() {
    let p = plan(
        r#"
[[request]]
url = "http://api.test:9000/upload"
form = ["kind=avatar", "file=@a.png"]

[[request]]
url = "http://api.test:9000/raw"
body_file = "b.json"
method = "PUT"
"#,
        &[("a.png", "PNGDATA"), ("b.json", "{}")],
    )
    .unwrap();
    let b = p
        .build(&Common {
            url: None,
            headers: &[],
            close: false,
            http2: true,
            checks: &[],
        })
        .unwrap();
    assert_eq!(b.origin.host_header(), "api.test:9000");
    let up = text(&b, 0);
    assert!(
        up.starts_with("POST /upload HTTP/1.1\r\nHost: api.test:9000\r\n"),
        "{up}"
    );
    assert!(
        up.contains("Content-Type: multipart/form-data; boundary="),
        "{up}"
    );
    assert!(
        up.contains("filename=\"a.png\"") && up.contains("PNGDATA"),
        "{up}"
    );
    assert!(b.mix.variants[0].h2.is_some());
    let raw = text(&b, 1);
    assert!(
        raw.starts_with("PUT /raw HTTP/1.1\r\n") && raw.ends_with("\r\n\r\n{}"),
        "{raw}"
    );
}

#[test]
fn think_and_order() {
    assert_eq!(
        parse_think("constant 500ms"),
        Ok(Think::Constant(Duration::from_millis(500)))
    );
    assert_eq!(parse_think("none"), Ok(Think::None));
    for bad in ["between 3s 1s", "sometimes", "constant soon", "between 1s"] {
        assert!(parse_think(bad).is_err(), "{bad}");
    }
    assert_eq!(parse_order("random"), Ok(RowOrder::Random));
    assert!(parse_order("shuffle").unwrap_err().contains("round-robin"));
}

#[test]
fn every_bad_scenario_names_what_is_wrong() {
    let users = [("users.csv", USERS)];
    for (toml, needle) in [
        ("", "no [[request]] or [[sequence]]"),
        (
            "[[request]]\npath = \"/\"\nweight = 0\n",
            "every weight is 0",
        ),
        (
            "[[reqest]]\npath = \"/\"\n",
            "s.toml line 1: unknown field `reqest`",
        ),
        ("think = 3\n[[request]]\npath = \"/\"\n", "s.toml line 1:"),
        (
            "[[request]]\npath = \"/\"\nbogus = 1\n",
            "unknown field `bogus`",
        ),
        (
            "think = \"often\"\n[[request]]\npath = \"/\"\n",
            "think = \"often\"",
        ),
        (
            "data_order = \"x\"\n[[request]]\npath = \"/\"\n",
            "data_order: 'x'",
        ),
        (
            "[[request]]\nmethod = \"GET\"\n",
            "s.toml line 1: the request has no path",
        ),
        (
            "\n[[request]]\npath = \"/\"\nurl = \"http://h/\"\n",
            "s.toml line 2: give path or url",
        ),
        (
            "[[request]]\npath = \"/\"\nbody = \"a\"\nbody_file = \"b\"\n",
            "give only one",
        ),
        (
            "[[request]]\npath = \"/\"\nbody_file = \"nope.json\"\n",
            "body_file 'nope.json'",
        ),
        (
            "[[request]]\npath = \"/\"\nform = [\"f=@nope.png\"]\n",
            "nope.png",
        ),
        (
            "[[request]]\npath = \"/\"\nform = [\"novalue\"]\n",
            "form 'novalue'",
        ),
        (
            "[[request]]\npath = \"/\"\nmethod = \"G T\"\n",
            "method 'G T'",
        ),
        (
            "[[request]]\npath = \"/\"\nheaders = { \"A B\" = \"1\" }\n",
            "invalid header name 'A B'",
        ),
        (
            "[[request]]\npath = \"/\"\nheaders = { A = 1 }\n",
            "header 'A': the value must be a string",
        ),
        ("[[request]]\npath = \"/\"\nname = \"\"\n", "name is empty"),
        (
            "[[request]]\npath = \"/\"\ndata = \"none.csv\"\n",
            "data file 'none.csv'",
        ),
        (
            "[[sequence]]\nweight = 1\n",
            "s.toml line 1: the sequence has no [[sequence.step]]",
        ),
        (
            "[[sequence]]\n[[sequence.step]]\npath = \"/\"\nweight = 2\n",
            "line 2: a step has no weight",
        ),
        (
            "[[sequence]]\n[[sequence.step]]\npath = \"/\"\ndata = \"users.csv\"\n",
            "a step has no data",
        ),
    ] {
        let e = plan(toml, &users)
            .err()
            .unwrap_or_else(|| panic!("{toml} was accepted"));
        assert_eq!(e.exit_code(), 2, "{e}");
        assert!(
            e.to_string().contains(needle),
            "{toml:?}: {e} lacks {needle}"
        );
        assert!(!e.to_string().contains('\n'), "{e}: more than one line");
    }
}

#[test]
fn bad_builds_name_the_request() {
    let users = [("users.csv", USERS), ("empty.csv", "")];
    for (toml, url, needle) in [
        (
            "data = \"users.csv\"\n[[request]]\npath = \"/{{nope}}\"\n",
            "http://h/",
            "s.toml line 2: the path uses {{nope}}, but the data file 'users.csv' has no column 'nope'",
        ),
        (
            "data = \"users.csv\"\n[[request]]\npath = \"/\"\nbody = \"{{x}}\"\n",
            "http://h/",
            "the body uses {{x}}",
        ),
        (
            "[[request]]\nname = \"a\"\npath = \"/\"\n[[request]]\nname = \"a\"\npath = \"/\"\nmethod = \"POST\"\n",
            "http://h/",
            "s.toml line 4: the name 'a' is used for GET and POST",
        ),
        (
            "[[request]]\nurl = \"http://a/\"\n[[request]]\nurl = \"https://a/\"\n",
            "",
            "s.toml line 3: https://a/ is not on the origin of s.toml line 1 (http://a)",
        ),
        ("[[request]]\npath = \"/\"\n", "", "no URL given"),
        (
            "data = \"users.csv\"\n[[request]]\npath = \"/\"\nheaders = { A = \"{{user}}\\r\\nX: 1\" }\n",
            "http://h/",
            "(row 1 of 'users.csv'): header 'A': the value contains CR, LF or NUL",
        ),
    ] {
        let p = plan(toml, &users).unwrap();
        let e = if url.is_empty() {
            p.build(&Common {
                url: None,
                headers: &[],
                close: false,
                http2: false,
                checks: &[],
            })
        } else {
            build(&p, url)
        }
        .err()
        .unwrap_or_else(|| panic!("{toml} was built"));
        assert_eq!(e.exit_code(), 2, "{e}");
        assert!(e.to_string().contains(needle), "{toml:?}: {e} lacks {needle}");
    }
    let e = plan("data = \"empty.csv\"\n[[request]]\npath = \"/\"\n", &users)
        .err()
        .unwrap();
    assert!(e.to_string().contains("'empty.csv' is empty"), "{e}");
}

#[test]
fn the_same_name_and_method_share_statistics() {
    let p = plan(
        "[[request]]\npath = \"/a\"\n[[request]]\npath = \"/a\"\nweight = 2\n[[sequence]]\n[[sequence.step]]\npath = \"/a\"\n",
        &[],
    )
    .unwrap();
    let b = build(&p, "http://h/").unwrap();
    assert_eq!(b.mix.names.len(), 1);
    assert_eq!(b.method, "GET");
    assert!(b.mix.entries.iter().all(|e| e.steps[0].name == 0));
}

#[test]
fn the_example_scenario_reads() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("examples/scenario.toml");
    let p = load(path.to_str().unwrap(), None).unwrap();
    let b = build(&p, "http://127.0.0.1:8080/shop").unwrap();
    let names: Vec<&str> = b.mix.names.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        ["browse", "/shop/search", "login", "cart", "checkout"]
    );
    assert_eq!(b.mix.entries.len(), 3);
    assert!(matches!(p.think, Think::Between(..)));
}
