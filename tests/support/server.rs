//! Test servers on 127.0.0.1:0 that count what they actually receive. Each
//! misbehaves in one chosen way so a test can compare blast's report with
//! the server's own truth.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How the server answers.
#[derive(Clone, Debug)]
pub enum Behavior {
    /// `status` with a Content-Length body.
    Fixed { status: u16, body: Vec<u8> },
    /// Chunked body in pieces of `chunk` bytes, with a trailer.
    Chunked { body: Vec<u8>, chunk: usize },
    /// No Content-Length: the body ends when the server closes.
    CloseDelimited { body: Vec<u8> },
    /// Answer normally, then close silently after every `n` responses.
    CloseAfter { n: u64, connection_header: bool },
    /// Every `every`-th response on a connection is cut short mid-body.
    CutMidBody { every: u64, reset: bool },
    /// Read requests, never answer.
    Silent,
    /// Read the request, then close without a byte of answer.
    CloseAtOnce,
    /// Answer with bytes that are not HTTP.
    Garbage,
    /// A status that has no body, with a Content-Length that must be ignored.
    NoBody { status: u16 },
    /// Claim a body in Content-Length but send none (for HEAD).
    HeadOnly { length: u64 },
    /// A body of `size` bytes, streamed.
    Large { size: u64 },
    /// Sleep before answering.
    Delay { delay: Duration },
    /// After `first`, the head and the first byte of a 2-byte body; the
    /// second byte `gap` later.
    SlowBody { first: Duration, gap: Duration },
    /// Stall `stall` at the start of every `period` from `origin`: a request
    /// arriving in a stall is answered when it ends.
    Stall {
        origin: Instant,
        period: Duration,
        stall: Duration,
    },
    /// One request at a time over all connections, each taking
    /// `per_request`: a fixed capacity of 1/per_request req/s. `lock` holds
    /// when the queue is next free; a request is answered at a time computed
    /// from that schedule, not by sleeping `per_request` after the last
    /// wake-up, so a busy machine's late wake-ups do not lower the capacity.
    Capacity {
        per_request: Duration,
        lock: Arc<Mutex<Option<Instant>>>,
    },
}

/// A server that answers every request after `ms` milliseconds.
pub fn delay_server(ms: u64) -> Server {
    Server::start(Behavior::Delay {
        delay: Duration::from_millis(ms),
    })
}

/// One request as the server parsed it.
#[derive(Clone, Debug, Default)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
pub struct Counters {
    pub connections: AtomicU64,
    pub open: AtomicU64,
    pub max_open: AtomicU64,
    pub requests: AtomicU64,
    pub bytes_written: AtomicU64,
    pub first: Mutex<Vec<Received>>,
    /// Accepted connections by the client's address (`--source` tests).
    pub peers: Mutex<std::collections::BTreeMap<std::net::IpAddr, u64>>,
    stop: AtomicBool,
    /// Open connections by id, so `stop` can close them; removed when served.
    streams: Mutex<std::collections::HashMap<u64, TcpStream>>,
}

pub struct Server {
    pub addr: SocketAddr,
    pub counters: Arc<Counters>,
    accept: Option<thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(behavior: Behavior) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let accept = thread::spawn(move || {
            for stream in listener.incoming() {
                if c.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                if let Ok(peer) = stream.peer_addr() {
                    *c.peers.lock().unwrap().entry(peer.ip()).or_default() += 1;
                }
                let id = c.connections.fetch_add(1, Ordering::SeqCst);
                if let Ok(clone) = stream.try_clone() {
                    c.streams.lock().unwrap().insert(id, clone);
                }
                let open = c.open.fetch_add(1, Ordering::SeqCst) + 1;
                c.max_open.fetch_max(open, Ordering::SeqCst);
                let (c2, b) = (c.clone(), behavior.clone());
                thread::spawn(move || {
                    serve(stream, &b, &c2);
                    c2.streams.lock().unwrap().remove(&id);
                    c2.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Server {
            addr,
            counters,
            accept: Some(accept),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn requests(&self) -> u64 {
        self.counters.requests.load(Ordering::SeqCst)
    }

    pub fn bytes_written(&self) -> u64 {
        self.counters.bytes_written.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> u64 {
        self.counters.connections.load(Ordering::SeqCst)
    }

    /// Accepted connections by the client's IP address.
    pub fn peers(&self) -> std::collections::BTreeMap<std::net::IpAddr, u64> {
        self.counters.peers.lock().unwrap().clone()
    }

    pub fn received(&self) -> Vec<Received> {
        self.counters.first.lock().unwrap().clone()
    }

    /// Stop listening and close every open connection: later connections
    /// are refused.
    pub fn stop(mut self) {
        self.counters.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        for (_, s) in self.counters.streams.lock().unwrap().drain() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// Read one request (head and Content-Length body); None at EOF or error.
fn read_request(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Received> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(n)) = req.parse(buf) {
            let mut r = Received {
                method: req.method.unwrap_or("").to_string(),
                path: req.path.unwrap_or("").to_string(),
                headers: req
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect(),
                body: Vec::new(),
            };
            let len: usize = r
                .header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while buf.len() < n + len {
                let mut chunk = [0u8; 65536];
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => return None,
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                }
            }
            r.body = buf[n..n + len].to_vec();
            buf.drain(..n + len);
            return Some(r);
        }
        let mut chunk = [0u8; 65536];
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
        }
    }
}

fn serve(mut s: TcpStream, b: &Behavior, c: &Counters) {
    let _ = s.set_nodelay(true);
    let mut buf = Vec::new();
    let mut served_here = 0u64;
    while let Some(req) = read_request(&mut s, &mut buf) {
        c.requests.fetch_add(1, Ordering::SeqCst);
        {
            let mut first = c.first.lock().unwrap();
            if first.len() < 16 {
                first.push(req.clone());
            }
        }
        served_here += 1;
        let mut out: Vec<u8> = Vec::new();
        let mut close = false;
        match b {
            Behavior::Fixed { status, body } => {
                out.extend_from_slice(
                    format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(body);
            }
            Behavior::Chunked { body, chunk } => {
                out.extend_from_slice(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                for piece in body.chunks(*chunk) {
                    out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                    out.extend_from_slice(piece);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\nX-Trailer: yes\r\n\r\n");
            }
            Behavior::CloseDelimited { body } => {
                out.extend_from_slice(b"HTTP/1.1 200 OK\r\n\r\n");
                out.extend_from_slice(body);
                close = true;
            }
            Behavior::CloseAfter {
                n,
                connection_header,
            } => {
                let last = served_here.is_multiple_of(*n);
                let hdr = if last && *connection_header {
                    "Connection: close\r\n"
                } else {
                    ""
                };
                out.extend_from_slice(
                    format!("HTTP/1.1 200 OK\r\n{hdr}Content-Length: 2\r\n\r\nok").as_bytes(),
                );
                close = last;
            }
            Behavior::CutMidBody { every, reset } => {
                if served_here.is_multiple_of(*every) {
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part");
                    c.bytes_written.fetch_add(50, Ordering::SeqCst);
                    if *reset {
                        let _ = socket2_linger_zero(&s);
                    }
                    return;
                }
                out.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
            Behavior::Silent => continue,
            Behavior::CloseAtOnce => return,
            Behavior::Garbage => {
                out.extend_from_slice(b"SSH-2.0-OpenSSH_9.2\r\n");
            }
            Behavior::NoBody { status } => {
                out.extend_from_slice(
                    format!("HTTP/1.1 {status} X\r\nContent-Length: 500\r\n\r\n").as_bytes(),
                );
            }
            Behavior::HeadOnly { length } => {
                out.extend_from_slice(
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n").as_bytes(),
                );
            }
            Behavior::Large { size } => {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n");
                if s.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let block = vec![b'z'; 1 << 20];
                let mut left = *size;
                while left > 0 {
                    let n = left.min(block.len() as u64) as usize;
                    if s.write_all(&block[..n]).is_err() {
                        return;
                    }
                    left -= n as u64;
                }
                c.bytes_written
                    .fetch_add(head.len() as u64 + size, Ordering::SeqCst);
                continue;
            }
            Behavior::SlowBody { first, gap } => {
                thread::sleep(*first);
                let head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\na";
                if s.write_all(head).is_err() {
                    return;
                }
                thread::sleep(*gap);
                out.extend_from_slice(b"b");
                c.bytes_written
                    .fetch_add(head.len() as u64, Ordering::SeqCst);
            }
            Behavior::Delay { delay } => {
                thread::sleep(*delay);
                out.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
            Behavior::Stall {
                origin,
                period,
                stall,
            } => {
                let into = origin.elapsed().as_nanos() % period.as_nanos();
                let stall_ns = stall.as_nanos();
                if into < stall_ns {
                    thread::sleep(Duration::from_nanos((stall_ns - into) as u64));
                }
                out.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
            Behavior::Capacity { per_request, lock } => {
                let done = {
                    let mut free_at = lock.lock().unwrap();
                    let now = Instant::now();
                    let done = free_at.map_or(now, |t| t.max(now)) + *per_request;
                    *free_at = Some(done);
                    done
                };
                thread::sleep(done.saturating_duration_since(Instant::now()));
                out.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
        }
        if s.write_all(&out).is_err() {
            return;
        }
        c.bytes_written
            .fetch_add(out.len() as u64, Ordering::SeqCst);
        if close {
            let _ = s.shutdown(Shutdown::Write);
            return;
        }
    }
}

/// Make close() send RST instead of FIN.
fn socket2_linger_zero(s: &TcpStream) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: valid fd and a correctly sized struct.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &l as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
