//! Defect 7: a server that accepts and never answers the TLS handshake was
//! reported as "connection refused". The message now says the handshake
//! got no answer within the connect timeout, over HTTP/1.1 and HTTP/2, and
//! a TCP connect that gets no answer says that.

use super::RawServer;
use crate::support::{run, run_line, wait_until, Run};
use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

/// Accept, read whatever comes (the ClientHello), never write.
fn silent(mut s: TcpStream) {
    let mut b = [0u8; 4096];
    while matches!(s.read(&mut b), Ok(n) if n > 0) {}
}

fn silent_handshake(extra: &[&str]) {
    let srv = RawServer::start(silent);
    let url = format!("https://{}/", srv.addr);
    let mut args = vec!["-k", "-c", "2", "-t", "1", "-d", "2s"];
    args.extend_from_slice(extra);
    args.push(&url);
    let r = run(&args);
    assert_eq!(r.code, 3, "{args:?}: {}", r.stderr);
    assert!(srv.accepted() >= 1, "the server accepted nothing");
    let want = format!(
        "cannot connect to {0} ({0}): the TLS handshake got no answer within \
         the connect timeout (2s, --connect-timeout)",
        srv.addr
    );
    assert!(r.stderr.contains(&want), "{args:?}: {}", r.stderr);
    assert!(!r.stderr.contains("refused"), "{}", r.stderr);
}

/// Exit 3, and the message says which `step` got no answer within
/// `--connect-timeout 1s`.
fn no_answer_within_1s(r: &Run, step: &str) {
    assert_eq!(r.code, 3, "{}", r.stderr);
    let want =
        format!("the {step} got no answer within the connect timeout (1s, --connect-timeout)");
    assert!(r.stderr.contains(&want), "{}", r.stderr);
}

#[test]
fn silent_tls_handshake_is_named() {
    silent_handshake(&[]);
}

#[test]
fn silent_tls_handshake_is_named_over_http2() {
    silent_handshake(&["--http2"]);
}

/// A run longer than the connect timeout: every attempt's own timeout is
/// what ends it, and the message is the same.
#[test]
fn silent_tls_handshake_over_a_longer_run() {
    let srv = RawServer::start(silent);
    let url = format!("https://{}/", srv.addr);
    let r = run_line("-k -c 1 -t 1 -d 5s --connect-timeout 1s", &url);
    no_answer_within_1s(&r, "TLS handshake");
}

/// A TCP connect that gets no answer: a listener whose accept queue is full
/// (backlog 0, one connection queued, never accepted) drops blast's SYN.
#[test]
fn silent_tcp_connect_is_named() {
    // SAFETY: plain socket calls on a descriptor this test owns.
    let (fd, port) = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let mut a: libc::sockaddr_in = std::mem::zeroed();
        a.sin_family = libc::AF_INET as libc::sa_family_t;
        a.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            libc::bind(fd, &a as *const _ as *const libc::sockaddr, len),
            0
        );
        assert_eq!(libc::listen(fd, 0), 0);
        let mut got: libc::sockaddr_in = std::mem::zeroed();
        let mut l = len;
        libc::getsockname(fd, &mut got as *mut _ as *mut libc::sockaddr, &mut l);
        (fd, u16::from_be(got.sin_port))
    };
    // Fill the queue: these complete the handshake and are never accepted.
    let mut queued = Vec::new();
    for _ in 0..3 {
        if let Ok(s) =
            TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(300))
        {
            queued.push(s);
        }
    }
    wait_until(Duration::from_secs(5), "the accept queue to fill", || {
        !queued.is_empty()
    });
    let url = format!("http://127.0.0.1:{port}/");
    let r = run_line("-c 1 -t 1 -d 2s --connect-timeout 1s", &url);
    // SAFETY: closing the listener this test opened.
    unsafe { libc::close(fd) };
    no_answer_within_1s(&r, "TCP connect");
}
