//! `blast target --grpc` (issue 21): `blast.Echo/Say` answers the bytes it
//! was sent with `grpc-status: 0` in the trailers and counts each call, as
//! seen by a raw h2 client, by h2load and by blast sending the same framed
//! bytes; and `proto::grpc_reflect::fetch` against its reflection service
//! (`reflect`).

mod grpcio;
mod reflect;

use crate::support::{have, run_line, Scratch, TargetProcess};
use crate::u;
use blast::target::{self, GrpcOptions, Reflection, Target, TargetOptions};
use bytes::Bytes;
use http::HeaderMap;
use std::process::Command;
use std::time::Duration;

/// `EchoMessage { text: "hi" }`, framed: flag 0, length 4, then the message.
pub const HI: &[u8] = b"\x00\x00\x00\x00\x04\x0a\x02hi";

pub fn grpc_target(reflection: Reflection, tls: Option<&std::path::Path>) -> Target {
    target::start(TargetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        grpc: Some(GrpcOptions { reflection }),
        tls_cert: tls.map(|p| p.to_path_buf()),
        ..Default::default()
    })
    .expect("start the target")
}

/// What one h2c POST got back: the head, the body, the trailers.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
    trailers: HeaderMap,
}

/// One h2c request with the `h2` crate (prior knowledge), within 10 s.
fn call(addr: std::net::SocketAddr, method: &str, path: &str, body: &[u8]) -> Answer {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let body = Bytes::copy_from_slice(body);
    let uri = format!("http://{addr}{path}");
    let go = async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (send, conn) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut send = send.ready().await.unwrap();
        let req = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .unwrap();
        let (resp, mut out) = send.send_request(req, body.is_empty()).unwrap();
        if !body.is_empty() {
            out.send_data(body, true).unwrap();
        }
        let (head, mut recv) = resp.await.unwrap().into_parts();
        let mut got = Vec::new();
        while let Some(d) = recv.data().await {
            let d = d.unwrap();
            let _ = recv.flow_control().release_capacity(d.len());
            got.extend_from_slice(&d);
        }
        let trailers = recv.trailers().await.unwrap().unwrap_or_default();
        Answer {
            status: head.status.as_u16(),
            headers: head.headers,
            body: got,
            trailers,
        }
    };
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), go).await })
        .expect("an answer within 10 s")
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).map_or("", |v| v.to_str().unwrap())
}

#[test]
fn say_answers_the_bytes_it_was_sent_with_ok_in_the_trailers() {
    let t = grpc_target(Reflection::Both, None);
    let a = call(t.addr(), "POST", "/blast.Echo/Say", HI);
    assert_eq!(a.status, 200);
    assert_eq!(header(&a.headers, "content-type"), "application/grpc");
    assert_eq!(a.body, HI);
    assert_eq!(header(&a.trailers, "grpc-status"), "0");
    // A bigger message, over several DATA frames of the client's.
    let mut msg = vec![0x12u8]; // field 2 (payload), length-delimited
    prost::encoding::encode_varint(60_000, &mut msg);
    msg.extend(std::iter::repeat_n(7u8, 60_000));
    let mut big = vec![0u8];
    big.extend((msg.len() as u32).to_be_bytes());
    big.extend(msg);
    let a = call(t.addr(), "POST", "/blast.Echo/Say", &big);
    assert_eq!(a.body.len(), big.len());
    assert!(a.body == big, "the large message came back changed");
    assert_eq!(header(&a.trailers, "grpc-status"), "0");
    assert_eq!(t.requests(), 2);
    t.stop();
}

#[test]
fn other_methods_and_broken_frames_are_grpc_errors_and_not_counted() {
    let t = grpc_target(Reflection::Both, None);
    // Trailers-only answers: the status is in the headers, no message.
    let a = call(t.addr(), "POST", "/blast.Echo/Shout", HI);
    assert_eq!(header(&a.headers, "grpc-status"), "12", "UNIMPLEMENTED");
    assert!(a.body.is_empty());
    let a = call(t.addr(), "POST", "/blast.Echo/Say", &HI[..HI.len() - 1]);
    assert_eq!(header(&a.headers, "grpc-status"), "13", "INTERNAL");
    assert!(header(&a.headers, "grpc-message").contains("length-prefixed"));
    assert_eq!(t.requests(), 0);
    t.stop();
}

#[test]
fn requests_that_are_not_grpc_are_answered_as_without_grpc() {
    let t = grpc_target(Reflection::Both, None);
    let a = call(t.addr(), "GET", "/", b"");
    assert_eq!(a.status, 200);
    assert_eq!(a.body, b"xxxxxxxxxxxxx");
    assert_eq!(t.requests(), 1);
    t.stop();
}

#[test]
fn h2load_calls_are_each_counted() {
    if !have(
        "h2load",
        Command::new("h2load").arg("--version").output().is_ok(),
        "apt-get install nghttp2-client",
    ) {
        return;
    }
    let dir = Scratch::new("grpc-h2load");
    let file = dir.join("hi.bin");
    std::fs::write(&file, HI).unwrap();
    let t = TargetProcess::start(&["--grpc"]);
    let out = Command::new("timeout")
        .args(["60", "h2load", "-n", "1000", "-c", "4", "-m", "10", "-d"])
        .arg(&file)
        .args(["-H", "content-type: application/grpc", "-H", "te: trailers"])
        .arg(format!("{}/blast.Echo/Say", t.url))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("1000 succeeded"), "{text}");
    // 14 bytes a response: 9 of message, and h2load counts no trailers.
    assert!(text.contains("(9000) data"), "{text}");
    assert_eq!(t.served(), 1000);
}

#[test]
fn blast_sending_the_same_bytes_is_counted_alike() {
    let dir = Scratch::new("grpc-blast");
    let file = dir.join("hi.bin");
    std::fs::write(&file, HI).unwrap();
    let t = grpc_target(Reflection::Both, None);
    let flags = format!(
        "--http2 --json -n 2000 -c 4 -m 10 -X POST --body-file {} -H content-type:application/grpc -H te:trailers",
        file.display()
    );
    let r = run_line(&flags, &format!("http://{}/blast.Echo/Say", t.addr()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(u(&j, "requests"), 2000, "{j}");
    assert_eq!(u(&j, "status_codes.200"), 2000, "{j}");
    assert_eq!(t.requests(), 2000);
    t.stop();
}

#[test]
fn say_waits_for_delay() {
    let t = target::start(TargetOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        grpc: Some(GrpcOptions::default()),
        delay: Duration::from_millis(150),
        ..Default::default()
    })
    .unwrap();
    let t0 = std::time::Instant::now();
    let a = call(t.addr(), "POST", "/blast.Echo/Say", HI);
    assert!(
        t0.elapsed() >= Duration::from_millis(150),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(header(&a.trailers, "grpc-status"), "0");
    t.stop();
}

#[test]
fn the_reflection_switch_without_grpc_is_exit_2_naming_grpc() {
    let r = crate::support::run(&["target", "--grpc-reflection", "off"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr.trim(),
        "blast: the following required arguments were not provided: --grpc"
    );
}

#[test]
fn calls_over_tls_are_answered_and_counted() {
    let dir = Scratch::new("grpc-tls");
    let (file, cert) = (dir.join("hi.bin"), dir.join("target.pem"));
    std::fs::write(&file, HI).unwrap();
    let t = grpc_target(Reflection::Both, Some(&cert));
    let flags = format!(
        "--http2 --json -n 500 -c 2 -m 10 -X POST --body-file {} --cacert {} -H content-type:application/grpc",
        file.display(),
        cert.display()
    );
    let url = format!("https://localhost:{}/blast.Echo/Say", t.addr().port());
    let r = run_line(&flags, &url);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(u(&j, "status_codes.200"), 500, "{j}");
    assert_eq!(j["tls"]["alpn"], "h2", "{j}");
    assert_eq!(t.requests(), 500);
    t.stop();
}
