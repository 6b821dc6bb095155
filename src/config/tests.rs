//! Tests of `Config::from_args`: the checks across flags, and what each
//! flag becomes in the validated config. Apart from `mod.rs` so that file
//! holds the validation alone.

use super::*;
use clap::Parser;
use cli::Cli;

fn args(v: &[&str]) -> RunArgs {
    let mut all = vec!["blast"];
    all.extend_from_slice(v);
    Cli::try_parse_from(all).unwrap().run
}

fn ok() -> Result<(), String> {
    Ok(())
}

#[test]
fn threads_lowered_to_connections() {
    let c = Config::from_args(&args(&["-c", "2", "-t", "8", "http://127.0.0.1:1/"]), ok).unwrap();
    assert_eq!(c.load.shape.threads, 2);
    assert_eq!(c.notices.len(), 1);
}

#[test]
fn requests_without_duration_has_no_time_limit() {
    let c = Config::from_args(&args(&["-n", "5", "http://127.0.0.1:1/"]), ok).unwrap();
    assert_eq!(c.load.shape.duration, None);
    let c = Config::from_args(&args(&["http://127.0.0.1:1/"]), ok).unwrap();
    assert_eq!(c.load.shape.duration, Some(Duration::from_secs(10)));
}

#[test]
fn engine_fallback_and_refusal() {
    let c = Config::from_args(&args(&["http://127.0.0.1:1/"]), || Err("EPERM".into())).unwrap();
    assert_eq!(c.load.engine, Engine::Epoll);
    assert!(c.notices[0].contains("epoll"));
    let e = Config::from_args(&args(&["--engine", "uring", "http://127.0.0.1:1/"]), || {
        Err("EPERM".into())
    })
    .unwrap_err();
    assert_eq!(e.exit_code(), 3);
}

#[test]
fn bad_headers_and_bodies() {
    for (flags, needle) in [
        (
            &["-H", "NoColon", "http://127.0.0.1:1/"][..],
            "-H 'NoColon'",
        ),
        (
            &["-H", "Bad Name: x", "http://127.0.0.1:1/"][..],
            "invalid header name",
        ),
        (
            &["-b", "x", "-F", "a=b", "http://127.0.0.1:1/"][..],
            "only one body source",
        ),
        (
            &["--body-file", "/nonexistent/x.json", "http://127.0.0.1:1/"][..],
            "/nonexistent/x.json",
        ),
        (
            &["-F", "novalue", "http://127.0.0.1:1/"][..],
            "-F 'novalue'",
        ),
        (&["-X", "GE T", "http://127.0.0.1:1/"][..], "-X 'GE T'"),
    ] {
        let e = Config::from_args(&args(flags), ok).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains(needle), "{e} lacks {needle}");
    }
}

#[test]
fn rate_ramp_and_slo() {
    let c = Config::from_args(
        &args(&[
            "-R",
            "2k",
            "--ramp-up",
            "2s",
            "-d",
            "5s",
            "--slo",
            "p99<5ms",
            "http://127.0.0.1:1/",
        ]),
        ok,
    )
    .unwrap();
    assert_eq!(c.load.shape.rate, Some(2000.0));
    assert_eq!(c.load.shape.ramp_up, Duration::from_secs(2));
    assert_eq!(c.slo.unwrap().conditions.len(), 1);
    let e = Config::from_args(&args(&["--slo", "p42<1ms", "http://127.0.0.1:1/"]), ok).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("p42"), "{e}");
    let e = Config::from_args(&args(&["--slo", "a:p99<1s", "http://127.0.0.1:1/"]), ok);
    assert!(e.unwrap_err().to_string().contains("no request named a"));
    let e = Config::from_args(
        &args(&["--ramp-up", "20s", "-d", "5s", "http://127.0.0.1:1/"]),
        ok,
    )
    .unwrap_err();
    assert!(e.to_string().contains("--ramp-up"), "{e}");
}

#[test]
fn http2_flags() {
    let c = Config::from_args(
        &args(&[
            "--http2",
            "-m",
            "100",
            "-c",
            "8",
            "--engine",
            "epoll",
            "http://127.0.0.1:1/",
        ]),
        ok,
    )
    .unwrap();
    assert_eq!(c.load.conn.h2.as_ref().map(|h| h.max_concurrent), Some(100));
    assert_eq!(c.load.engine, Engine::Epoll);
    assert_eq!(c.notices, Vec::<String>::new());
    let c = Config::from_args(&args(&["--http2", "-k", "https://localhost:1/"]), ok).unwrap();
    let alpn = &c.load.conn.tls.as_ref().unwrap().config.alpn_protocols;
    assert_eq!(alpn, &vec![b"h2".to_vec()]);
    let c = Config::from_args(&args(&["-X", "PUT", "http://127.0.0.1:1/"]), ok).unwrap();
    assert_eq!(c.method, "PUT");
    for (flags, needle) in [
        (&["-m", "2", "http://127.0.0.1:1/"][..], "need --http2"),
        (
            &["--http2", "--engine", "tokio-uring", "http://127.0.0.1:1/"][..],
            "uring and epoll engines only",
        ),
        (
            &["--http2", "--no-keepalive", "http://127.0.0.1:1/"][..],
            "--no-keepalive",
        ),
    ] {
        let e = Config::from_args(&args(flags), ok).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        assert!(e.to_string().contains(needle), "{e} lacks {needle}");
    }
}

#[test]
fn body_makes_post() {
    let c = Config::from_args(&args(&["-b", "{}", "http://127.0.0.1:1/"]), ok).unwrap();
    assert_eq!(c.method, "POST");
    let req = String::from_utf8(c.load.mix.first().bytes.to_vec()).unwrap();
    assert!(req.starts_with("POST / HTTP/1.1\r\n"));
    assert!(req.contains("Content-Type: application/json\r\n"));
}

/// `blast serve` checks a lookup against `--allow-target` and pins it:
/// the run connects to that lookup's address, never to a second one's
/// (localhost would answer 127.0.0.1 here; the pinned lookup said
/// 192.0.2.1), on an HTTP/2 run and a search alike.
#[test]
fn a_pinned_lookup_is_the_address_connected_to() {
    let pinned = url::Resolved {
        host: "localhost".into(),
        port: 9,
        addrs: vec!["192.0.2.1:9".parse().unwrap()],
    };
    for flags in [&[][..], &["--http2"][..]] {
        let mut a = args(&[flags, &["http://localhost:9/x"]].concat());
        a.pool.pinned = Some(pinned.clone());
        let c = Config::from_args(&a, ok).unwrap();
        assert_eq!(c.load.conn.addr, pinned.addrs[0], "{flags:?}");
        assert_eq!(c.load.host, "localhost:9");
    }
    let mut f =
        match Cli::try_parse_from(["blast", "find", "--slo", "p99<9ms", "http://localhost:9/"])
            .unwrap()
            .command
        {
            Some(cli::Command::Find(f)) => f,
            _ => unreachable!(),
        };
    f.pool.pinned = Some(pinned.clone());
    let found = FindConfig::from_args(&f, ok).unwrap();
    assert_eq!(found.run.load.conn.addr, pinned.addrs[0]);
    let mut other = args(&["http://127.0.0.1:9/"]);
    other.pool.pinned = Some(pinned);
    assert!(Config::from_args(&other, ok).is_err());
}
