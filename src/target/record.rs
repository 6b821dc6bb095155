//! `blast target --record N`: what the target received, so tests and users
//! can check a scenario against the server's own view. Every request is
//! counted by path (with its query); the first N are kept in arrival order
//! with their connection, method, path and body (up to 4 KiB of it).
//!
//! Each server thread records into its own log behind its own mutex (taken
//! only by that thread, and by a reader of `/__blast/requests`), and only
//! when recording is on: a target without `--record` does none of this.

use std::collections::HashMap;
use std::sync::Mutex;

/// Path of the record endpoint (`GET` only, not itself recorded).
pub const RECORD_PATH: &str = "/__blast/requests";
/// Bytes of each body kept in the log.
const BODY_KEPT: usize = 4096;

struct Entry {
    conn: u64,
    method: String,
    path: String,
    body: String,
}

#[derive(Default)]
struct ThreadLog {
    paths: HashMap<String, u64>,
    entries: Vec<Entry>,
}

/// The logs of every server thread.
pub struct Recorder {
    keep: usize,
    threads: Box<[Mutex<ThreadLog>]>,
}

impl Recorder {
    pub fn new(threads: usize, keep: usize) -> Self {
        Recorder {
            keep,
            threads: (0..threads).map(|_| Mutex::default()).collect(),
        }
    }

    /// Thread `index` received a request on connection `conn`.
    pub fn record(&self, index: usize, conn: u64, method: &str, path: &str, body: &[u8]) {
        let Ok(mut log) = self.threads[index].lock() else {
            return;
        };
        *log.paths.entry(path.to_string()).or_default() += 1;
        // Each thread keeps up to `keep`; the total is cut to `keep` on reading.
        if log.entries.len() < self.keep {
            log.entries.push(Entry {
                conn,
                method: method.to_string(),
                path: path.to_string(),
                body: String::from_utf8_lossy(&body[..body.len().min(BODY_KEPT)]).into_owned(),
            });
        }
    }

    /// `{"paths": {PATH: N, ...}, "requests": [{"conn", "method", "path",
    /// "body"}, ...]}`: counts of every request, and the first ones kept.
    pub fn to_json(&self) -> String {
        let mut paths: HashMap<String, u64> = HashMap::new();
        let mut requests = Vec::new();
        for t in self.threads.iter() {
            let Ok(log) = t.lock() else { continue };
            for (p, n) in &log.paths {
                *paths.entry(p.clone()).or_default() += n;
            }
            for e in &log.entries {
                if requests.len() < self.keep {
                    requests.push(serde_json::json!({
                        "conn": e.conn,
                        "method": e.method,
                        "path": e.path,
                        "body": e.body,
                    }));
                }
            }
        }
        serde_json::json!({ "paths": paths, "requests": requests }).to_string()
    }
}
