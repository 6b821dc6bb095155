use super::*;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::time::Instant;

struct Resp {
    status_line: String,
    content_length: Option<usize>,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn opts(threads: usize) -> TargetOptions {
    TargetOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        threads,
        ..TargetOptions::default()
    }
}

fn connect(t: &Target) -> (TcpStream, BufReader<TcpStream>) {
    let s = TcpStream::connect(t.addr()).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let r = BufReader::new(s.try_clone().unwrap());
    (s, r)
}

fn read_response(r: &mut BufReader<TcpStream>) -> Resp {
    let mut status_line = String::new();
    r.read_line(&mut status_line).unwrap();
    let mut content_length = None;
    let mut content_type = None;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(value.parse().unwrap());
        } else if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.to_string());
        }
    }
    let mut body = vec![0; content_length.unwrap_or(0)];
    r.read_exact(&mut body).unwrap();
    Resp {
        status_line: status_line.trim_end().to_string(),
        content_length,
        content_type,
        body,
    }
}

fn get(s: &mut TcpStream, r: &mut BufReader<TcpStream>, path: &str) -> Resp {
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    read_response(r)
}

fn keep_alive_run(threads: usize) {
    let t = start(TargetOptions {
        body_size: 100,
        ..opts(threads)
    })
    .unwrap();
    assert_ne!(t.addr().port(), 0);
    let (mut s, mut r) = connect(&t);
    for _ in 0..5 {
        let resp = get(&mut s, &mut r, "/");
        assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
        assert_eq!(resp.content_length, Some(100));
        assert_eq!(resp.body, vec![b'x'; 100]);
    }
    assert_eq!(t.requests(), 5);
    assert_eq!(t.connections(), 1);
    t.stop();
}

#[test]
fn keep_alive_one_thread() {
    keep_alive_run(1);
}

#[test]
fn keep_alive_two_threads() {
    keep_alive_run(2);
}

#[test]
fn many_connections_two_threads_pinned() {
    let t = start(TargetOptions {
        cpus: Some(vec![0]),
        ..opts(2)
    })
    .unwrap();
    let mut conns: Vec<_> = (0..8).map(|_| connect(&t)).collect();
    for (s, r) in conns.iter_mut() {
        for _ in 0..3 {
            let resp = get(s, r, "/anything?q=1");
            assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
            assert_eq!(resp.body, vec![b'x'; 13]);
        }
    }
    assert_eq!(t.requests(), 24);
    assert_eq!(t.connections(), 8);
    t.stop();
}

#[test]
fn zero_body() {
    let t = start(TargetOptions {
        body_size: 0,
        ..opts(1)
    })
    .unwrap();
    let (mut s, mut r) = connect(&t);
    for _ in 0..2 {
        let resp = get(&mut s, &mut r, "/");
        assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
        assert_eq!(resp.content_length, Some(0));
    }
    t.stop();
}

#[test]
fn delay_is_applied() {
    let t = start(TargetOptions {
        delay: Duration::from_millis(30),
        ..opts(1)
    })
    .unwrap();
    let (mut s, mut r) = connect(&t);
    for _ in 0..2 {
        let began = Instant::now();
        let resp = get(&mut s, &mut r, "/");
        assert!(began.elapsed() >= Duration::from_millis(30));
        assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    }
    assert_eq!(t.requests(), 2);
    t.stop();
}

#[test]
fn stats_endpoint() {
    let t = start(opts(2)).unwrap();
    let (mut s, mut r) = connect(&t);
    for _ in 0..3 {
        get(&mut s, &mut r, "/");
    }
    let resp = get(&mut s, &mut r, STATS_PATH);
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert_eq!(resp.content_type.as_deref(), Some("application/json"));
    let text = String::from_utf8(resp.body).unwrap();
    assert_eq!(text, r#"{"requests": 3, "connections": 1}"#);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["requests"], 3);
    assert_eq!(v["connections"], 1);
    // The stats request itself is not counted.
    assert_eq!(t.requests(), 3);
    t.stop();
}

#[test]
fn status_503() {
    let t = start(TargetOptions {
        status: 503,
        ..opts(1)
    })
    .unwrap();
    let (mut s, mut r) = connect(&t);
    let resp = get(&mut s, &mut r, "/");
    assert_eq!(resp.status_line, "HTTP/1.1 503 Service Unavailable");
    assert_eq!(resp.body, vec![b'x'; 13]);
    // Stats still answer 200 whatever the configured status.
    let resp = get(&mut s, &mut r, STATS_PATH);
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert_eq!(t.requests(), 1);
    t.stop();
}

#[test]
fn invalid_options_are_errors() {
    for status in [0, 99, 100, 150, 1000, u16::MAX] {
        let err = start(TargetOptions { status, ..opts(1) }).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "status {status}");
    }
    let err = start(opts(0)).err().unwrap();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err = start(TargetOptions {
        cpus: Some(vec![]),
        ..opts(1)
    })
    .err()
    .unwrap();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn post_body_split_across_writes_keeps_connection() {
    let t = start(opts(1)).unwrap();
    let (mut s, mut r) = connect(&t);
    let body = vec![b'a'; 200_000];
    write!(
        s,
        "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.flush().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    s.write_all(&body).unwrap();
    let resp = read_response(&mut r);
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    let resp = get(&mut s, &mut r, "/");
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert_eq!(t.requests(), 2);
    assert_eq!(t.connections(), 1);
    t.stop();
}

#[test]
fn pipelined_requests() {
    let t = start(opts(1)).unwrap();
    let (mut s, mut r) = connect(&t);
    let req = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(10);
    s.write_all(req.as_bytes()).unwrap();
    for _ in 0..10 {
        assert_eq!(read_response(&mut r).status_line, "HTTP/1.1 200 OK");
    }
    assert_eq!(t.requests(), 10);
    t.stop();
}

#[test]
fn stop_is_prompt_with_open_connections() {
    let t = start(TargetOptions {
        delay: Duration::from_secs(30),
        ..opts(2)
    })
    .unwrap();
    let addr = t.addr();
    let (mut idle, mut idle_r) = connect(&t);
    let (mut busy, mut busy_r) = connect(&t);
    // One request stuck in its 30 s delay.
    write!(busy, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    while t.connections() < 2 {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(20));
    let began = Instant::now();
    t.stop();
    assert!(began.elapsed() < Duration::from_secs(2));
    // Open connections are closed and the port no longer accepts.
    let mut buf = [0u8; 16];
    assert!(matches!(busy_r.read(&mut buf), Ok(0) | Err(_)));
    let _ = idle.write_all(b"GET / HTTP/1.1\r\n\r\n");
    assert!(matches!(idle_r.read(&mut buf), Ok(0) | Err(_)));
    let _ = busy.flush();
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn record_counts_paths_and_keeps_the_first_requests() {
    let t = start(TargetOptions {
        record: 3,
        ..opts(1)
    })
    .unwrap();
    let (mut s, mut r) = connect(&t);
    for p in ["/a?x=1", "/b", "/a?x=1", "/c"] {
        assert!(get(&mut s, &mut r, p).status_line.contains("200"));
    }
    let post = "POST /p HTTP/1.1\r\nHost: localhost\r\nContent-Length: 7\r\n\r\n{\"k\":1}";
    s.write_all(post.as_bytes()).unwrap();
    read_response(&mut r);
    let (mut s2, mut r2) = connect(&t);
    let body = get(&mut s2, &mut r2, record::RECORD_PATH).body;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["paths"]["/a?x=1"], 2);
    assert_eq!(v["paths"]["/p"], 1);
    assert_eq!(v["paths"]["/c"], 1);
    assert!(v["paths"].get(record::RECORD_PATH).is_none());
    let kept = v["requests"].as_array().unwrap();
    assert_eq!(kept.len(), 3);
    let paths: Vec<&str> = kept.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/a?x=1", "/b", "/a?x=1"]);
    assert!(kept.iter().all(|e| e["conn"] == kept[0]["conn"]));
    // The requests endpoint is not counted as a request.
    assert_eq!(t.requests(), 5);
    t.stop();
}

#[test]
fn record_keeps_bodies() {
    let t = start(TargetOptions {
        record: 10,
        ..opts(1)
    })
    .unwrap();
    let (mut s, mut r) = connect(&t);
    let post = "POST /p HTTP/1.1\r\nHost: localhost\r\nContent-Length: 7\r\n\r\n{\"k\":1}";
    s.write_all(post.as_bytes()).unwrap();
    read_response(&mut r);
    let body = get(&mut s, &mut r, record::RECORD_PATH).body;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["requests"][0]["method"], "POST");
    assert_eq!(v["requests"][0]["body"], "{\"k\":1}");
    t.stop();
}
