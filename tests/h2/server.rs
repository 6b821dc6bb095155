//! An HTTP/2 test server (h2c, prior knowledge) on the `h2` crate's server
//! API, for what hyper's server does not do on demand: GOAWAY after N
//! requests on a connection, and RST_STREAM with a chosen code. It counts
//! what it answered, reset and refused, for the tests to compare with
//! blast's report.

use crate::support::{listen, Listening};
use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone, Copy, Debug)]
pub enum H2Behavior {
    /// Answer every request 200.
    Ok,
    /// Graceful GOAWAY after this many requests on a connection.
    GoAwayAfter(u64),
    /// After this many requests on a connection, GOAWAY at once (its last
    /// stream id is the highest received) and close: streams received
    /// meanwhile are refused, those still on the wire are cut by the close.
    AbruptAfter(u64),
    /// Reset every k-th stream (over all connections) with this code.
    ResetEvery(u64, h2::Reason),
    /// Read each request's body to its end, counting its bytes, then answer 200.
    ReadBodies,
}

#[derive(Default)]
pub struct H2Counters {
    pub answered: AtomicU64,
    pub reset: AtomicU64,
    pub connections: AtomicU64,
    /// Request body bytes received (ReadBodies).
    pub body_bytes: AtomicU64,
    seen: AtomicU64,
}

pub struct H2Server {
    pub addr: SocketAddr,
    pub counters: Arc<H2Counters>,
    _listening: Listening,
}

impl H2Server {
    pub fn start(b: H2Behavior) -> H2Server {
        let counters = Arc::new(H2Counters::default());
        let c = counters.clone();
        let listening = listen(move |tcp| {
            c.connections.fetch_add(1, Ordering::SeqCst);
            serve(tcp, b, c.clone())
        });
        H2Server {
            addr: listening.addr,
            counters,
            _listening: listening,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn answered(&self) -> u64 {
        self.counters.answered.load(Ordering::SeqCst)
    }

    pub fn reset(&self) -> u64 {
        self.counters.reset.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> u64 {
        self.counters.connections.load(Ordering::SeqCst)
    }

    pub fn body_bytes(&self) -> u64 {
        self.counters.body_bytes.load(Ordering::SeqCst)
    }
}

/// ReadBodies: one stream's body read to its end (its window given back
/// as it comes), then the answer.
async fn read_body(
    mut body: h2::RecvStream,
    mut respond: h2::server::SendResponse<Bytes>,
    c: Arc<H2Counters>,
) {
    while let Some(chunk) = body.data().await {
        let Ok(chunk) = chunk else { return };
        c.body_bytes.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let resp = http::Response::builder().status(200).body(()).unwrap();
    if let Ok(mut s) = respond.send_response(resp, false) {
        let _ = s.send_data(Bytes::from_static(b"ok"), true);
        c.answered.fetch_add(1, Ordering::SeqCst);
    }
}

async fn serve(tcp: tokio::net::TcpStream, b: H2Behavior, c: Arc<H2Counters>) {
    let Ok(mut conn) = h2::server::handshake(tcp).await else {
        return;
    };
    let mut here = 0u64;
    let mut closing = false;
    // AbruptAfter: when to send the GOAWAY and close, once the answers
    // already given have had time to leave (h2 drops queued frames).
    let mut close_at: Option<tokio::time::Instant> = None;
    loop {
        let next = match close_at {
            None => conn.accept().await,
            Some(at) => {
                let timer = tokio::select! {
                    n = conn.accept() => Err(n),
                    _ = tokio::time::sleep_until(at) => Ok(()),
                };
                match timer {
                    Ok(()) => {
                        close_at = None;
                        conn.abrupt_shutdown(h2::Reason::NO_ERROR);
                        continue;
                    }
                    Err(n) => n,
                }
            }
        };
        let Some(next) = next else { break };
        let Ok((req, mut respond)) = next else { break };
        if let H2Behavior::ReadBodies = b {
            tokio::spawn(read_body(req.into_body(), respond, c.clone()));
            continue;
        }
        if closing {
            respond.send_reset(h2::Reason::REFUSED_STREAM);
            continue;
        }
        here += 1;
        let global = c.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if let H2Behavior::ResetEvery(k, reason) = b {
            if global.is_multiple_of(k) {
                respond.send_reset(reason);
                c.reset.fetch_add(1, Ordering::SeqCst);
                continue;
            }
        }
        let resp = http::Response::builder().status(200).body(()).unwrap();
        if let Ok(mut s) = respond.send_response(resp, false) {
            let _ = s.send_data(Bytes::from_static(b"ok"), true);
            c.answered.fetch_add(1, Ordering::SeqCst);
        }
        if let H2Behavior::GoAwayAfter(k) = b {
            if here == k {
                // GOAWAY(2^31-1), a PING, then GOAWAY(last stream id):
                // streams opened meanwhile are still answered, later ones
                // are not processed and must be sent again elsewhere.
                conn.graceful_shutdown();
            }
        }
        if let H2Behavior::AbruptAfter(k) = b {
            if here == k {
                closing = true;
                close_at = Some(tokio::time::Instant::now() + std::time::Duration::from_millis(20));
            }
        }
    }
}
