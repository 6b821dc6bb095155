//! How many connections the API keeps, so that callers who never finish
//! cannot take the file descriptors a run needs, or every answer.
//!
//! Three counts: connections (`--max-api-connections`, by default
//! min(1024, half the open-file limit)), calls reading a body, and event
//! streams, each of the last two at most half the first. A caller's body
//! arrives in one go, so half the connections sending bodies at once is
//! an attack, and the other half stays free for the rest of the API; event
//! streams last as long as a run, so they cannot take them all either.
//! Beyond the connection cap a caller gets a short 503 straight from the
//! accept loop (no parsing, no hyper), and the socket is closed after a
//! second at most, counted under a fourth, small cap; beyond that too,
//! it is closed at once.

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a permit counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Connection,
    Body,
    Stream,
    /// A connection turned away with a 503, until it is closed.
    TurnedAway,
}

/// How long a turned-away socket waits for its caller to close first (so
/// the caller reads the 503 rather than a reset).
const TURN_AWAY_LINGER: Duration = Duration::from_secs(1);

/// The counts, and the connection cap the others derive from.
#[derive(Debug)]
pub struct Gate {
    max: usize,
    counts: [AtomicUsize; 4],
}

/// One taken place, given back when dropped.
#[derive(Debug)]
pub struct Permit {
    gate: Arc<Gate>,
    kind: Kind,
}

impl Gate {
    pub fn new(max_connections: usize) -> Arc<Gate> {
        Arc::new(Gate {
            max: max_connections.max(1),
            counts: Default::default(),
        })
    }

    pub fn cap(&self, kind: Kind) -> usize {
        match kind {
            Kind::Connection => self.max,
            Kind::Body | Kind::Stream => (self.max / 2).max(1),
            Kind::TurnedAway => self.max.min(256),
        }
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

/// Answer `stream` 503 and close it: at once when even the turned-away
/// are too many, else once the caller closes, or after a second.
pub fn turn_away(gate: &Arc<Gate>, mut stream: TcpStream) {
    let Some(permit) = gate.take(Kind::TurnedAway) else {
        let _ = stream.try_write(&busy_answer());
        return;
    };
    tokio::spawn(async move {
        let _held = permit;
        let _ = tokio::time::timeout(TURN_AWAY_LINGER, async {
            stream.write_all(&busy_answer()).await?;
            stream.shutdown().await?;
            // Read what the caller sends, so that closing does not reset
            // the connection before it has read the answer.
            let mut sink = [0u8; 1024];
            while stream.read(&mut sink).await? > 0 {}
            Ok::<_, std::io::Error>(())
        })
        .await;
    });
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
        assert_eq!((g.cap(Kind::Body), g.cap(Kind::Stream)), (2, 2));
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
        assert!(String::from_utf8(busy_answer()).unwrap().contains("503"));
    }
}
