use super::*;
use crate::config::url::parse_url;

fn spec(target: Target) -> ReqSpec {
    ReqSpec {
        at: "t".into(),
        name: None,
        method: "GET".into(),
        target,
        headers: Vec::new(),
        body: Body::Bytes(Vec::new()),
        body_type: None,
        sniff: false,
        data: None,
        captures: Vec::new(),
        checks: Vec::new(),
        grpc: None,
    }
}

/// A named plan over `table`: each step a flow of its own, of weight 1.
fn plan_over(table: Table, steps: Vec<ReqSpec>) -> Plan {
    Plan {
        flows: steps
            .into_iter()
            .map(|s| Flow {
                weight: 1,
                steps: vec![s],
            })
            .collect(),
        tables: vec![table],
        named: true,
        ..Plan::default()
    }
}

fn common(url: Option<&Url>) -> Common<'_> {
    Common {
        url,
        headers: &[],
        close: false,
        http2: false,
        checks: &[],
    }
}

#[test]
fn relative_paths_join_the_url_path() {
    assert_eq!(join("/", "/a"), "/a");
    assert_eq!(join("/api", "/a?x=1"), "/api/a?x=1");
    assert_eq!(join("/api/?k=v", "a"), "/api/a");
    assert_eq!(join("/", ""), "/");
    assert_eq!(join("/", "?q"), "/?q");
    assert_eq!(join("/api", "?q"), "/api?q");
}

#[test]
fn userinfo_is_basic_auth() {
    assert_eq!(
        split_userinfo("http://user:pass@h:1/p?q=a@b"),
        ("http://h:1/p?q=a@b".into(), Some("user:pass".into()))
    );
    assert_eq!(
        split_userinfo("http://h/a@b"),
        ("http://h/a@b".into(), None)
    );
    assert_eq!(
        split_userinfo("http://us%40r:p%3Aw@h/"),
        ("http://h/".into(), Some("us@r:p:w".into()))
    );
    // Go's SetBasicAuth("user", "password").
    assert_eq!(basic_auth("user:password"), "Basic dXNlcjpwYXNzd29yZA==");
    assert_eq!(basic_auth("user"), basic_auth("user:"));
}

#[test]
fn data_rows_make_variants_only_where_used() {
    let table = Table {
        path: "d.csv".into(),
        columns: vec!["id".into()],
        rows: (1..=3).map(|i| vec![i.to_string()]).collect(),
    };
    let mut with = spec(Target::Exact("/u/{{id}}".into()));
    with.data = Some(0);
    let mut without = spec(Target::Exact("/static".into()));
    without.data = Some(0);
    let plan = plan_over(table, vec![with, without]);
    let u = parse_url("http://h/").unwrap();
    let b = plan.build(&common(Some(&u))).unwrap();
    assert_eq!(b.mix.variants.len(), 4);
    let targets: Vec<String> = b
        .mix
        .variants
        .iter()
        .map(|v| {
            String::from_utf8_lossy(&v.bytes)
                .split(' ')
                .nth(1)
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(targets, ["/u/1", "/u/2", "/u/3", "/static"]);
    assert_eq!(b.mix.names[0].name, "/u/{{id}}");
}

#[test]
fn too_many_variants_are_refused_before_encoding() {
    let table = Table {
        path: "big.csv".into(),
        columns: vec!["id".into()],
        rows: vec![vec!["1".to_string()]; mix::MAX_VARIANTS + 1],
    };
    let mut s = spec(Target::Exact("/{{id}}".into()));
    s.data = Some(0);
    let plan = plan_over(table, vec![s]);
    let u = parse_url("http://h/").unwrap();
    let e = plan.build(&common(Some(&u))).err().unwrap();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("at most 1000000 are encoded"), "{e}");
}

#[test]
fn values_in_paths_are_percent_encoded() {
    let table = Table {
        path: "d.csv".into(),
        columns: vec!["q".into()],
        rows: vec![vec!["a b#c".into()]],
    };
    let mut s = spec(Target::Exact("/s?q={{q}}".into()));
    s.data = Some(0);
    let plan = Plan {
        named: false,
        ..plan_over(table, vec![s])
    };
    let u = parse_url("http://h/").unwrap();
    let b = plan.build(&common(Some(&u))).unwrap();
    assert!(b.mix.variants[0]
        .bytes
        .starts_with(b"GET /s?q=a%20b%23c HTTP/1.1\r\n"));
}
