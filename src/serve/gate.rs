//! How many connections the API keeps, so that callers who never finish
//! cannot take the file descriptors a run needs, or every answer.
//!
//! Three counts: connections (`--max-api-connections`, by default
//! min(1024, a quarter of the open-file limit)), calls reading a body, and event
//! streams, each of the last two at most half the first. A caller's body
//! arrives in one go, so half the connections sending bodies at once is
//! an attack, and the other half stays free for the rest of the API; event
//! streams last as long as a run, so they cannot take them all either.
//!
//! A connection that finds the cap full first takes the place of the one
//! that has waited longest for its first head, if any does: a caller that
//! connects and says nothing (a slow head, or one that is slow to start)
//! holds a place only until others need it, where the 10 s head limit
//! alone would let a crowd of them shut everyone out. One that sent its
//! head is never let go this way.
//!
//! Failing that, it waits up to half a second for a place (first come,
//! first served): callers turned away after their head
//! free their places within a millisecond, so a burst of them does not
//! shut out a `GET` that comes in the middle. Those waiting are counted
//! too (as many as the cap, at most 1024); once the wait is over, or when too many
//! wait, the caller gets a short 503 straight from the socket (no parsing,
//! no hyper), and the socket is closed once the caller closes, or after a
//! second.

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// What a permit counts, besides connections.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Body,
    Stream,
    /// A connection waiting for a place, or being turned away, until it
    /// has one or is closed.
    Waiting,
}

/// How long a connection waits for a place when the cap is full.
const ADMIT_WAIT: Duration = Duration::from_millis(500);

/// How long a turned-away socket waits for its caller to close first (so
/// the caller reads the 503 rather than a reset).
const TURN_AWAY_LINGER: Duration = Duration::from_secs(1);

/// The counts, and the connection cap the others derive from.
#[derive(Debug)]
pub struct Gate {
    max: usize,
    /// Connections, fair to those waiting.
    places: Arc<Semaphore>,
    counts: [AtomicUsize; 3],
    /// Connections yet to send their first head, oldest first, each with
    /// what tells it to go.
    fresh: Mutex<BTreeMap<u64, Arc<Notify>>>,
    next: AtomicU64,
}

/// A connection's place, given back when dropped.
#[derive(Debug)]
pub struct Place {
    _permit: OwnedSemaphorePermit,
    gate: Arc<Gate>,
    id: u64,
    headed: AtomicBool,
    /// Notified when a newcomer takes this place.
    pub evicted: Arc<Notify>,
}

impl Place {
    /// The connection sent a head: it keeps its place from now on.
    pub fn headed(&self) {
        if !self.headed.swap(true, Ordering::AcqRel) {
            self.gate.fresh_list().remove(&self.id);
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.gate.fresh_list().remove(&self.id);
    }
}

/// One taken place, given back when dropped.
#[derive(Debug)]
pub struct Permit {
    gate: Arc<Gate>,
    kind: Kind,
}

impl Gate {
    pub fn new(max_connections: usize) -> Arc<Gate> {
        let max = max_connections.max(1);
        Arc::new(Gate {
            max,
            places: Arc::new(Semaphore::new(max)),
            counts: Default::default(),
            fresh: Mutex::default(),
            next: AtomicU64::new(0),
        })
    }

    fn fresh_list(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Notify>>> {
        self.fresh.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tell the connection that has waited longest for its first head to
    /// go; false when none is waiting for one.
    fn evict_oldest(&self) -> bool {
        let oldest = self.fresh_list().pop_first();
        oldest.map(|(_, go)| go.notify_one()).is_some()
    }

    fn place(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> Place {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let evicted = Arc::new(Notify::new());
        self.fresh_list().insert(id, evicted.clone());
        Place {
            _permit: permit,
            gate: self.clone(),
            id,
            headed: AtomicBool::new(false),
            evicted,
        }
    }

    pub fn cap(&self, kind: Kind) -> usize {
        match kind {
            Kind::Body | Kind::Stream => (self.max / 2).max(1),
            Kind::Waiting => self.max.min(1024),
        }
    }

    /// A place for `stream`, waited for if need be; None once it has been
    /// turned away.
    pub async fn admit(self: &Arc<Self>, stream: &mut TcpStream) -> Option<Place> {
        if let Ok(p) = self.places.clone().try_acquire_owned() {
            return Some(self.place(p));
        }
        // The place let go comes back once its connection has closed.
        self.evict_oldest();
        let Some(_waiting) = self.take(Kind::Waiting) else {
            // Read what has come, so that closing sends the caller the
            // answer and a FIN rather than a reset.
            let mut sink = [0u8; 1024];
            while stream.try_read(&mut sink).is_ok_and(|n| n > 0) {}
            let _ = stream.try_write(&busy_answer());
            return None;
        };
        let waited = tokio::time::timeout(ADMIT_WAIT, self.places.clone().acquire_owned());
        if let Ok(Ok(p)) = waited.await {
            return Some(self.place(p));
        }
        let _ = tokio::time::timeout(TURN_AWAY_LINGER, turn_away(stream)).await;
        None
    }

    /// A place of `kind`, or None when they are all taken.
    pub fn take(self: &Arc<Self>, kind: Kind) -> Option<Permit> {
        let count = &self.counts[kind as usize];
        let cap = self.cap(kind);
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < cap).then_some(n + 1)
            })
            .ok()?;
        Some(Permit {
            gate: self.clone(),
            kind,
        })
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.counts[kind as usize].load(Ordering::Acquire)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.gate.counts[self.kind as usize].fetch_sub(1, Ordering::AcqRel);
    }
}

/// The 503 a caller beyond the connection cap gets, whole.
fn busy_answer() -> Vec<u8> {
    let body = "{\"error\": \"too many connections to this server: try again later\", \
                \"field\": null}\n";
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         cache-control: no-store\r\nretry-after: 1\r\nconnection: close\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Answer `stream` 503 and wait for the caller to close: reading what it
/// sends, so that closing does not reset the connection before the caller
/// has read the answer.
async fn turn_away(stream: &mut TcpStream) -> std::io::Result<()> {
    stream.write_all(&busy_answer()).await?;
    stream.shutdown().await?;
    let mut sink = [0u8; 1024];
    while stream.read(&mut sink).await? > 0 {}
    Ok(())
}

/// A response body that holds a permit for as long as it is sent.
pub struct Held<B> {
    pub body: B,
    pub permit: Permit,
}

impl<B: Body<Data = Bytes> + Unpin> Body for Held<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_are_counted_and_given_back() {
        let g = Gate::new(4);
        assert_eq!(
            (g.cap(Kind::Body), g.cap(Kind::Stream), g.cap(Kind::Waiting)),
            (2, 2, 4)
        );
        let a = g.take(Kind::Body).unwrap();
        let b = g.take(Kind::Body).unwrap();
        assert!(g.take(Kind::Body).is_none());
        assert!(
            g.take(Kind::Stream).is_some(),
            "each kind has its own count"
        );
        drop(a);
        assert_eq!(g.count(Kind::Body), 1);
        assert!(g.take(Kind::Body).is_some());
        drop(b);
        assert_eq!(Gate::new(1).cap(Kind::Body), 1);
        // Places: the oldest yet to send a head is let go first; one that
        // sent a head, never.
        let g = Gate::new(3);
        let place = || g.place(g.places.clone().try_acquire_owned().unwrap());
        let (p0, p1, p2) = (place(), place(), place());
        p0.headed();
        assert!(g.evict_oldest());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let told = |p: &Place| {
            let wait = async {
                tokio::time::timeout(Duration::from_millis(10), p.evicted.notified()).await
            };
            rt.block_on(wait).is_ok()
        };
        assert!(told(&p1));
        assert!(!told(&p2));
        drop(p2);
        assert!(!g.evict_oldest(), "none left yet to send a head");
        drop((p0, p1));
        assert!(g.fresh_list().is_empty());
        assert!(String::from_utf8(busy_answer()).unwrap().contains("503"));
    }
}
