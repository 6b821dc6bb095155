//! Tests of what a run sends, through `Config::from_args` as the command
//! line reaches it. In a file of their own (not inside `requests.rs`) since
//! they name `Config`, which `config/mod.rs` builds from `requests`.

use crate::config::{cli::Cli, Config};
use crate::engine::mix::{RowOrder, Think};
use clap::Parser;

fn config(v: &[&str]) -> Result<Config, crate::error::Error> {
    let mut all = vec!["blast"];
    all.extend_from_slice(v);
    Config::from_args(&Cli::try_parse_from(all).unwrap().run, || Ok(()))
}

fn file(name: &str, text: &str) -> String {
    let d = std::env::temp_dir().join(format!("blast-requests-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn one_request_stays_single() {
    let c = config(&["-X", "PUT", "http://127.0.0.1:1/a"]).unwrap();
    assert!(!c.load.mix.named());
    assert_eq!(c.load.mix.variants.len(), 1);
    assert_eq!(c.load.info.method, "PUT");
    assert_eq!(c.url, "http://127.0.0.1:1/a");
}

#[test]
fn data_fills_the_command_line_request() {
    let d = file("ids.csv", "id,name\r\n1,a\r\n2,\"b, c\"\r\n");
    let c = config(&[
        "--data",
        &d,
        "--data-order",
        "random",
        "-b",
        r#"{"name":"{{name}}"}"#,
        "-H",
        "X-Name: {{name}}",
        "http://127.0.0.1:1/u/{{id}}",
    ])
    .unwrap();
    let m = c.load.mix;
    assert_eq!(m.names.len(), 1);
    assert_eq!(m.names[0].name, "/u/{{id}}");
    assert_eq!(m.rows, RowOrder::Random);
    assert_eq!(m.variants.len(), 2);
    let second = String::from_utf8(m.variants[1].bytes.to_vec()).unwrap();
    assert!(second.starts_with("POST /u/2 HTTP/1.1\r\n"), "{second}");
    assert!(second.ends_with(r#"{"name":"b, c"}"#), "{second}");
    assert!(second.contains("X-Name: b, c\r\n"), "{second}");
    assert_eq!(c.load.info.method, "POST");
    // Without --data, braces are sent as written.
    let c = config(&["-b", "{{id}}", "http://127.0.0.1:1/"]).unwrap();
    assert!(c.load.mix.first().bytes.ends_with(b"\r\n\r\n{{id}}"));
}

#[test]
fn scenario_needs_no_url_and_reports_its_origin() {
    let s = file(
        "s.toml",
        "think = \"constant 10ms\"\n[[request]]\nurl = \"http://127.0.0.1:1/a\"\n[[request]]\nurl = \"http://127.0.0.1:1/b\"\nmethod = \"POST\"\n",
    );
    let c = config(&["--scenario", &s, "-H", "X-A: 1"]).unwrap();
    assert_eq!(c.url, "http://127.0.0.1:1");
    assert_eq!(c.load.info.method, "mixed");
    assert_eq!(
        c.load.mix.think,
        Think::Constant(std::time::Duration::from_millis(10))
    );
    assert!(c.load.mix.variants[1]
        .bytes
        .windows(8)
        .any(|w| w == b"X-A: 1\r\n"));
    // With a URL, it is the origin of every request.
    let c = config(&["--scenario", &s, "http://localhost:2/x"]).unwrap();
    assert_eq!(c.url, "http://localhost:2/x");
    assert_eq!(c.parsed.port, 2);
}

#[test]
fn refusals() {
    let s = file(
        "r.toml",
        "think = \"between 1s 2s\"\n[[request]]\npath = \"/\"\n",
    );
    let t = file("t.txt", "GET http://127.0.0.1:1/\n");
    let empty = file("empty.csv", "");
    let rel = file("rel.toml", "[[request]]\npath = \"/\"\n");
    for (flags, needle) in [
        (
            vec!["--scenario", &s, "-R", "10", "http://127.0.0.1:1/"],
            "think times pace closed-loop users",
        ),
        (
            vec!["--scenario", &s, "-X", "GET", "http://127.0.0.1:1/"],
            "-X: not with --scenario",
        ),
        (vec!["--targets", &t, "-b", "x"], "-b: not with --targets"),
        (
            vec!["--targets", &t, "--openai", "m"],
            "--openai: not with --targets",
        ),
        (
            vec!["--scenario", &rel],
            "no URL given: the requests have relative paths",
        ),
        (vec![], "no URL given"),
        (
            vec!["--data", &empty, "http://127.0.0.1:1/{{id}}"],
            "is empty",
        ),
        (
            vec!["--targets", &t, "--data", "/nonexistent/d.csv"],
            "/nonexistent/d.csv",
        ),
        (
            vec!["--scenario", "/nonexistent/s.toml"],
            "--scenario '/nonexistent/s.toml'",
        ),
        (
            vec!["--targets", "/nonexistent/t.txt"],
            "--targets '/nonexistent/t.txt'",
        ),
    ] {
        let e = config(&flags)
            .err()
            .unwrap_or_else(|| panic!("{flags:?} accepted"));
        assert_eq!(e.exit_code(), 2, "{e}");
        assert!(
            e.to_string().contains(needle),
            "{flags:?}: {e} lacks {needle}"
        );
    }
}
