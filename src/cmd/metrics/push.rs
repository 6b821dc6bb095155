//! `--prometheus-remote-write`: a thread of its own pushes the latest frame
//! once a second (and as each second closes), then once more when the run
//! ends. Each push is one short HTTP/1.1 POST on a fresh connection with a
//! bounded time (`CONNECT`, `IO`), so a receiver that refuses or hangs
//! costs the pushing thread a second or two and the run nothing. A failed
//! push is a warning (stderr once, then the count in the report).

use crate::config::RemoteWrite;
use crate::report::prom::{self, remote, RunMeta};
use crate::stats::export::Board;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CONNECT: Duration = Duration::from_secs(1);
const IO: Duration = Duration::from_secs(2);
const EVERY: Duration = Duration::from_secs(1);

/// How the pushes went.
#[derive(Default)]
pub struct PushLog {
    pub ok: u64,
    pub failed: u64,
    pub last_error: Option<String>,
}

/// The pushing thread's handle: ask for the final push, and the log.
pub struct Pusher {
    done: Sender<Sender<()>>,
    pub log: Arc<Mutex<PushLog>>,
    url: String,
}

impl Pusher {
    pub fn spawn(to: RemoteWrite, meta: RunMeta, board: Arc<Board>) -> Pusher {
        let (done, rx) = crossbeam_channel::bounded(1);
        let log = Arc::new(Mutex::new(PushLog::default()));
        let url = to.url.clone();
        let mine = log.clone();
        let _ = std::thread::Builder::new()
            .name("blast-remote-write".into())
            .spawn(move || run(&to, &meta, &board, &rx, &mine));
        Pusher { done, log, url }
    }

    /// Push the final values and wait for that push (bounded by its own
    /// timeouts); the warning to report, if any push failed.
    pub fn finish(self) -> Option<String> {
        let (ack, acked) = crossbeam_channel::bounded(1);
        if self.done.send(ack).is_ok() {
            let _ = acked.recv_timeout(CONNECT + IO * 2 + EVERY);
        }
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        (log.failed > 0).then(|| {
            format!(
                "--prometheus-remote-write {}: {} of {} pushes failed (last: {})",
                self.url,
                log.failed,
                log.failed + log.ok,
                log.last_error.as_deref().unwrap_or("?")
            )
        })
    }
}

fn run(
    to: &RemoteWrite,
    meta: &RunMeta,
    board: &Board,
    done: &Receiver<Sender<()>>,
    log: &Mutex<PushLog>,
) {
    let mut seen = 0;
    let mut last = Instant::now();
    loop {
        match done.recv_timeout(Duration::from_millis(100)) {
            Ok(ack) => {
                push_latest(to, meta, board, log);
                let _ = ack.send(());
                return;
            }
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        let (n, _) = board.latest();
        if n > 0 && (n != seen || last.elapsed() >= EVERY) {
            seen = n;
            last = Instant::now();
            push_latest(to, meta, board, log);
        }
    }
}

fn push_latest(to: &RemoteWrite, meta: &RunMeta, board: &Board, log: &Mutex<PushLog>) {
    let (_, frame) = board.latest();
    let fams = prom::families(&[(meta, &frame)]);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let body = remote::encode(&remote::write_request(&fams, now_ms));
    let outcome = post(to, &body);
    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
    match outcome {
        Ok(()) => log.ok += 1,
        Err(e) => {
            if log.failed == 0 {
                eprintln!("blast: warning: --prometheus-remote-write {}: {e}", to.url);
            }
            log.failed += 1;
            log.last_error = Some(e);
        }
    }
}

/// One POST; Err says why it failed.
fn post(to: &RemoteWrite, body: &[u8]) -> Result<(), String> {
    let mut s = TcpStream::connect_timeout(&to.addr, CONNECT)
        .map_err(|e| format!("cannot connect to {}: {e}", to.addr))?;
    let _ = s.set_nodelay(true);
    s.set_write_timeout(Some(IO)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(IO)).map_err(|e| e.to_string())?;
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: blast/{}\r\n\
         Content-Type: {}\r\nContent-Encoding: {}\r\n{}: {}\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        to.path,
        to.host,
        env!("CARGO_PKG_VERSION"),
        remote::CONTENT_TYPE,
        remote::CONTENT_ENCODING,
        remote::VERSION_HEADER.0,
        remote::VERSION_HEADER.1,
        body.len()
    );
    for (k, v) in &to.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let sent = s
        .write_all(head.as_bytes())
        .and_then(|()| s.write_all(body));
    sent.map_err(|e| format!("sending: {e}"))?;
    let mut buf = [0u8; 512];
    let mut got = 0;
    while got < buf.len() && !buf[..got].contains(&b'\n') {
        match s.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(format!("no answer within {}s: {e}", IO.as_secs())),
        }
    }
    let line = String::from_utf8_lossy(&buf[..got]);
    let line = line.lines().next().unwrap_or("");
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {line:?}"))?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("the receiver answered {}", line.trim()))
    }
}
