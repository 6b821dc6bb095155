//! `--targets FILE`: vegeta's `http` targets format, read as vegeta reads
//! it so existing files work unchanged. A target is a `METHOD URL` line,
//! then `Header: value` lines, then an optional `@path/to/body` line (read
//! relative to the current directory, as vegeta does); a blank line or the
//! next `METHOD URL` line ends it; `#` lines are comments. Each target
//! weighs 1 and is named by its URL path, so targets on one path (and
//! method) share statistics; comments vegeta ignores, `# @name login` and
//! `# @weight 3` before a target, name and weigh it.

use super::plan::{Body, Flow, Plan, ReqSpec, Target};
use super::request_flags::is_token_byte;
use crate::error::{usage, Error};
use crate::proto::h1::request::content_type_for_path;

/// The methods that start a target line (vegeta's list).
const METHODS: [&str; 9] = [
    "GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE",
];

fn starts_target(line: &str) -> bool {
    METHODS
        .iter()
        .any(|m| line.strip_prefix(m).is_some_and(|r| r.starts_with(' ')))
}

/// Read a targets file. `data`: a data table's index, applied to every
/// target (`--data`).
pub fn load(path: &str, data: Option<usize>) -> Result<Plan, Error> {
    let text =
        std::fs::read_to_string(path).map_err(|e| usage(format!("--targets '{path}': {e}")))?;
    parse(&text, path, data, |p| std::fs::read(p))
}

/// A targets file given as text, whose `@body` lines read no file (each
/// fails as a missing file would): for the fuzz target (`fuzz_entry`).
pub(super) fn parse_text(text: &str) -> Result<Plan, Error> {
    parse(text, "targets", None, |p| {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            p.to_string(),
        ))
    })
}

fn parse(
    text: &str,
    shown: &str,
    data: Option<usize>,
    read: impl Fn(&str) -> std::io::Result<Vec<u8>>,
) -> Result<Plan, Error> {
    let mut plan = Plan {
        by_method: true,
        named: true,
        ..Plan::default()
    };
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut i = 0;
    // `# @name X` and `# @weight N` comments name and weigh the next target.
    let (mut name, mut weight) = (None, 1);
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if let Some(c) = line.strip_prefix('#') {
            match c.trim().split_once(' ').map(|(k, v)| (k, v.trim())) {
                Some(("@name", n)) if !n.is_empty() => name = Some(n.to_string()),
                Some(("@weight", w)) => {
                    weight = w.parse().map_err(|_| {
                        usage(format!(
                            "{shown}:{i}: @weight '{w}': expected a whole number"
                        ))
                    })?;
                }
                _ => {}
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let at = format!("{shown}:{i}");
        let Some((method, url)) = line.split_once(' ') else {
            return Err(usage(format!(
                "{at}: expected \"METHOD URL\", got '{line}'"
            )));
        };
        if !starts_target(line) {
            let why = if method.bytes().all(is_token_byte) {
                format!("'{method}' is not an HTTP method vegeta knows")
            } else {
                format!("expected \"METHOD URL\", got '{line}'")
            };
            return Err(usage(format!("{at}: {why}")));
        }
        let url = url.trim();
        if !url.contains("://") {
            return Err(usage(format!(
                "{at}: '{url}' is not a full URL (http://host/path)"
            )));
        }
        let mut headers = Vec::new();
        let mut body = Vec::new();
        let mut body_type = None;
        while i < lines.len() {
            let l = lines[i];
            if l.is_empty() || starts_target(l) {
                break;
            }
            i += 1;
            if l.starts_with('#') {
                continue;
            }
            if let Some(p) = l.strip_prefix('@') {
                body = read(p).map_err(|e| usage(format!("{shown}:{i}: body '{p}': {e}")))?;
                body_type = Some(content_type_for_path(p).to_string());
                break;
            }
            let (name, value) = l
                .split_once(':')
                .map(|(n, v)| (n.trim(), v.trim()))
                .filter(|(n, v)| !n.is_empty() && !v.is_empty())
                .ok_or_else(|| {
                    usage(format!(
                        "{shown}:{i}: expected a \"Name: value\" header or an @body line, got '{l}'"
                    ))
                })?;
            if !name.bytes().all(is_token_byte) {
                return Err(usage(format!("{shown}:{i}: invalid header name '{name}'")));
            }
            headers.push((name.to_string(), value.to_string()));
        }
        plan.flows.push(Flow {
            weight: std::mem::replace(&mut weight, 1),
            steps: vec![ReqSpec {
                at,
                name: name.take(),
                method: method.to_string(),
                target: Target::Url(url.to_string()),
                headers,
                body: Body::Bytes(body),
                body_type,
                sniff: false,
                data,
                captures: Vec::new(),
                checks: Vec::new(),
                grpc: None,
            }],
        });
    }
    if plan.flows.is_empty() {
        return Err(usage(format!(
            "--targets '{shown}': no targets in the file"
        )));
    }
    if plan.flows.iter().all(|f| f.weight == 0) {
        return Err(usage(format!(
            "--targets '{shown}': every @weight is 0: nothing would be sent"
        )));
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::plan::Common;
    use crate::config::url::parse_url;

    fn files(p: &str) -> std::io::Result<Vec<u8>> {
        match p {
            "/path/to/newthing.json" => Ok(b"{\"new\":1}".to_vec()),
            "/path/to/thing-71988591.json" => Ok(b"{\"id\":71988591}".to_vec()),
            _ => Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
        }
    }

    /// vegeta's README examples, as one file.
    const README: &str = "GET http://goku:9090/path/to/dragon?item=ball
GET http://user:password@goku:9090/path/to
HEAD http://goku:9090/path/to/success

GET http://user:password@goku:9090/path/to
X-Account-ID: 8675309

DELETE http://goku:9090/path/to/remove
Confirmation-Token: 90215
Authorization: Token DEADBEEF

POST http://goku:9090/things
@/path/to/newthing.json

PATCH http://goku:9090/thing/71988591
@/path/to/thing-71988591.json

POST http://goku:9090/things
X-Account-ID: 99
@/path/to/newthing.json

# get a dragon ball
GET http://goku:9090/path/to/dragon?item=ball
# specify a test accout
X-Account-ID: 99
";

    fn requests(plan: &Plan, url: Option<&str>) -> Vec<String> {
        let u = url.map(|u| parse_url(u).unwrap());
        let built = plan
            .build(&Common {
                url: u.as_ref(),
                headers: &[],
                close: false,
                http2: false,
                checks: &[],
            })
            .unwrap();
        built
            .mix
            .variants
            .iter()
            .map(|v| String::from_utf8(v.bytes.to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn vegeta_readme_file() {
        let plan = parse(README, "t.txt", None, files).unwrap();
        let flows: Vec<(&str, usize)> = plan
            .flows
            .iter()
            .map(|f| (f.steps[0].method.as_str(), f.steps[0].headers.len()))
            .collect();
        assert_eq!(
            flows,
            [
                ("GET", 0),
                ("GET", 0),
                ("HEAD", 0),
                ("GET", 1),
                ("DELETE", 2),
                ("POST", 0),
                ("PATCH", 0),
                ("POST", 1),
                ("GET", 1)
            ]
        );
        let reqs = requests(&plan, None);
        assert!(
            reqs[0].starts_with("GET /path/to/dragon?item=ball HTTP/1.1\r\nHost: goku:9090\r\n")
        );
        // user:password@ becomes Basic auth, as Go's client sends it.
        assert!(
            reqs[1].contains("Authorization: Basic dXNlcjpwYXNzd29yZA==\r\n"),
            "{}",
            reqs[1]
        );
        assert!(reqs[4].contains("Authorization: Token DEADBEEF\r\n"));
        assert!(!reqs[4].contains("Basic"));
        assert!(reqs[5].ends_with("\r\n\r\n{\"new\":1}"), "{}", reqs[5]);
        assert!(reqs[5].contains("Content-Type: application/json\r\n"));
        // Aimed at another server by the command line's URL.
        let reqs = requests(&plan, Some("http://127.0.0.1:8080/ignored"));
        assert!(reqs[6].starts_with("PATCH /thing/71988591 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
        let built = plan
            .build(&Common {
                url: None,
                headers: &[],
                close: false,
                http2: false,
                checks: &[],
            })
            .unwrap();
        let names: Vec<String> = built
            .mix
            .names
            .iter()
            .map(|n| format!("{} {}", n.method, n.name))
            .collect();
        assert_eq!(
            names,
            [
                "GET /path/to/dragon",
                "GET /path/to",
                "HEAD /path/to/success",
                "DELETE /path/to/remove",
                "POST /things",
                "PATCH /thing/71988591"
            ]
        );
        assert_eq!(built.method, "mixed");
        assert_eq!(built.mix.entries.len(), 9);
    }

    #[test]
    fn bad_files_name_the_line() {
        for (text, needle) in [
            ("", "no targets"),
            ("# only\n\n", "no targets"),
            ("GETT http://h/\n", "t:1: 'GETT' is not an HTTP method"),
            ("GET\n", "t:1: expected \"METHOD URL\""),
            ("GET /relative\n", "t:1: '/relative' is not a full URL"),
            (
                "GET http://h/\nNoColon\n",
                "t:2: expected a \"Name: value\"",
            ),
            ("GET http://h/\nX-A:\n", "t:2: expected a \"Name: value\""),
            ("GET http://h/\nBad Name: 1\n", "t:2: invalid header name"),
            (
                "\n\nPOST http://h/\n@/nope.json\n",
                "t:4: body '/nope.json'",
            ),
        ] {
            let e = parse(text, "t", None, files).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn pragmas_name_and_weigh_the_next_target() {
        let plan = parse(
            "# @name login\n# @weight 3\nPOST http://h/l\n\nGET http://h/x\n",
            "t",
            None,
            files,
        )
        .unwrap();
        let got: Vec<(u32, Option<String>)> = plan
            .flows
            .iter()
            .map(|f| (f.weight, f.steps[0].name.clone()))
            .collect();
        assert_eq!(got, [(3, Some("login".into())), (1, None)]);
        for (text, needle) in [
            ("# @weight x\nGET http://h/\n", "t:1: @weight 'x'"),
            ("# @weight 0\nGET http://h/\n", "every @weight is 0"),
        ] {
            let e = parse(text, "t", None, files).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        }
    }

    #[test]
    fn a_header_authorization_wins_over_userinfo() {
        let plan = parse("GET http://u:p@h/\n", "t", None, files).unwrap();
        let auth = [crate::proto::h1::request::Header {
            name: "Authorization".into(),
            value: "Bearer x".into(),
        }];
        let b = plan
            .build(&Common {
                url: None,
                headers: &auth,
                close: false,
                http2: false,
                checks: &[],
            })
            .unwrap();
        let r = String::from_utf8(b.mix.variants[0].bytes.to_vec()).unwrap();
        assert!(r.contains("Authorization: Bearer x\r\n"), "{r}");
        assert!(!r.contains("Basic"), "{r}");
    }

    #[test]
    fn one_origin_per_run() {
        let plan = parse("GET http://a:1/x\n\nGET http://b:1/y\n", "t", None, files).unwrap();
        let e = plan
            .build(&Common {
                url: None,
                headers: &[],
                close: false,
                http2: false,
                checks: &[],
            })
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .starts_with("t:3: http://b:1/y is not on the origin of t:1 (http://a:1)"),
            "{e}"
        );
        // The command line's URL aims both.
        let reqs = requests(&plan, Some("http://127.0.0.1:9/"));
        assert!(reqs[1].starts_with("GET /y HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"));
    }
}
