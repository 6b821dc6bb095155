//! Issue 18's hardening of the load client and its process: a TLS server
//! that never answers the handshake (`tls_silent`), the edges of a report
//! (`report_edges`: no request at all, a body that outlives its deadline),
//! SIGTERM treated as Ctrl-C (`signals`), `--start-at` read by the `time`
//! crate (`start_at`), a Transfer-Encoding other than chunked (`framing`),
//! the certificate of `blast target --tls` in the temp dir (`tempcert`),
//! and the API's whole numbers above u64 (`api_numbers`).

mod api_numbers;
mod framing;
mod report_edges;
mod signals;
mod start_at;
mod tempcert;
mod tls_silent;

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

/// A listener on 127.0.0.1:0 that hands each accepted connection to
/// `serve` on its own thread and counts the connections it accepted. The
/// threads are left to end with the test process (they hold or close
/// their socket as `serve` says).
pub struct RawServer {
    pub addr: SocketAddr,
    pub accepted: Arc<AtomicU64>,
}

impl RawServer {
    pub fn start(serve: fn(TcpStream)) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicU64::new(0));
        let n = accepted.clone();
        thread::spawn(move || {
            for s in listener.incoming().flatten() {
                n.fetch_add(1, Ordering::SeqCst);
                thread::spawn(move || serve(s));
            }
        });
        RawServer { addr, accepted }
    }

    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Read one request head (up to the blank line); false if the peer closed.
pub fn read_head(s: &mut TcpStream) -> bool {
    let mut got = Vec::new();
    let mut b = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&b[..n]),
        }
    }
    true
}
