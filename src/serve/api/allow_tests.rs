use super::*;

fn list(entries: &[&str]) -> AllowList {
    let v: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
    AllowList::parse(&v).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn name_globs_match_the_name_and_never_an_address() {
    let l = list(&["*.svc.local", "API.*", "localhost"]);
    assert!(l.names("api.svc.local"));
    assert!(!l.names("svc.local.evil"));
    assert!(l.names("api.example"));
    assert!(l.names("LocalHost"));
    assert!(!l.has_addresses());
    assert!(!l.holds(ip("127.0.0.1")));
    assert!(list(&["*"]).names("10.0.0.1.attacker.test"));
    assert!(AllowList::parse(&[]).unwrap().is_empty());
}

#[test]
fn an_address_glob_is_an_address_pattern_not_a_name() {
    let l = list(&["10.0.0.*"]);
    assert!(!l.names("10.0.0.1.attacker.test"));
    assert!(!l.names("10.0.0.1"));
    assert!(l.holds(ip("10.0.0.1")));
    assert!(l.holds(ip("10.0.0.255")));
    assert!(!l.holds(ip("10.0.1.1")));
    assert!(!l.holds(ip("127.0.0.1")));
    // An IPv4-mapped IPv6 address reaches its IPv4 address.
    assert!(l.holds(ip("::ffff:10.0.0.9")));
    assert!(!l.holds(ip("::ffff:127.0.0.1")));
    assert!(!l.holds(ip("fd00::1")));
    assert!(list(&["*.*.*.*"]).holds(ip("192.0.2.1")));
}

#[test]
fn cidr_blocks_v4_and_v6_with_every_edge_length() {
    let v4 = list(&["10.0.0.0/8"]);
    assert!(v4.holds(ip("10.255.255.255")) && v4.holds(ip("10.0.0.0")));
    assert!(!v4.holds(ip("11.0.0.0")) && !v4.holds(ip("9.255.255.255")));
    assert!(
        !v4.holds(ip("::a00:1")),
        "an IPv6 address is not in an IPv4 block"
    );
    let all4 = list(&["0.0.0.0/0"]);
    assert!(all4.holds(ip("255.255.255.255")) && all4.holds(ip("0.0.0.0")));
    assert!(!all4.holds(ip("::1")));
    let one = list(&["192.0.2.7/32"]);
    assert!(one.holds(ip("192.0.2.7")) && !one.holds(ip("192.0.2.6")));
    let host_bits = list(&["192.0.2.77/24"]);
    assert!(host_bits.holds(ip("192.0.2.1")) && !host_bits.holds(ip("192.0.3.1")));
    let odd = list(&["172.16.0.0/12"]);
    assert!(odd.holds(ip("172.31.255.255")) && !odd.holds(ip("172.32.0.0")));
    let v6 = list(&["fd00::/8"]);
    assert!(v6.holds(ip("fdff:ffff::1")) && !v6.holds(ip("fe80::1")));
    assert!(!v6.holds(ip("10.0.0.1")));
    let all6 = list(&["::/0"]);
    assert!(all6.holds(ip("2001:db8::1")) && !all6.holds(ip("10.0.0.1")));
    let one6 = list(&["2001:db8::1/128"]);
    assert!(one6.holds(ip("2001:db8::1")) && !one6.holds(ip("2001:db8::2")));
    let addrs = list(&["127.0.0.1", "::1"]);
    assert!(addrs.holds(ip("127.0.0.1")) && addrs.holds(ip("::1")));
    assert!(!addrs.holds(ip("127.0.0.2")) && !addrs.holds(ip("::2")));
    assert!(list(&["::ffff:127.0.0.1"]).holds(ip("127.0.0.1")));
}

#[test]
fn bad_entries_are_named_with_why() {
    for (bad, why) in [
        ("10.0.0.0/33", "over 32"),
        ("::/129", "over 128"),
        ("10.0.0.0/", "not a number"),
        ("10.0.0.0/+8", "not a number"),
        ("10.0.0.0/-1", "not a number"),
        ("10.0.0.0/8/8", "not a number"),
        ("10.0.0/8", "not an IPv4 or IPv6"),
        ("host/8", "not an IPv4 or IPv6"),
        ("300.0.0.*", "'300'"),
        ("10.0.0.1.*", "four"),
        ("10..0.*", "empty part"),
        ("10.0.0", "not an IPv4 address"),
        ("fd00::*", "CIDR"),
        ("bad host", "name"),
        ("", "empty"),
    ] {
        let e = AllowList::parse(&[bad.to_string()]).unwrap_err();
        assert!(
            e.starts_with(&format!("--allow-target '{bad}': ")) && e.contains(why),
            "{bad}: {e}"
        );
    }
}

#[test]
fn pinning_refuses_what_only_a_name_could_pass() {
    let l = list(&["10.0.0.*", "*.svc.local"]);
    // Named by a name entry: the run looks it up itself.
    assert_eq!(pin("http://a.svc.local/", &l), Ok(None));
    assert_eq!(pin("http://x/", &AllowList::default()), Ok(None));
    let r = pin("http://127.0.0.1:9/", &l).unwrap_err();
    assert_eq!((r.status, r.field.as_deref()), (403, Some("url")));
    assert!(r.error.contains("to 127.0.0.1, outside"), "{}", r.error);
    let r = pin("http://10.0.0.1.example.invalid/", &l).unwrap_err();
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.error.contains("cannot resolve"), "{}", r.error);
    let r = pin("http://10.0.0.1.example.invalid/", &list(&["*.svc.local"])).unwrap_err();
    assert!(r.error.contains("no entry names it"), "{}", r.error);
    let ok = pin("http://127.0.0.1:9/", &list(&["127.0.0.0/8"]))
        .unwrap()
        .unwrap();
    assert_eq!(ok.addrs, ["127.0.0.1:9".parse().unwrap()]);
    let six = pin("http://[::1]:9/", &list(&["::1"])).unwrap().unwrap();
    assert_eq!(six.chosen(), "[::1]:9".parse().unwrap());
}
