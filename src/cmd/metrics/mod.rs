//! A CLI run's live metrics: `--metrics-listen` serves `/metrics`
//! (`listen`), `--prometheus-remote-write` pushes (`push`), both from the
//! `Board` the aggregator publishes each closed second to, on threads of
//! their own; the workers do nothing new. After the run the final values
//! are pushed once more and, with `--metrics-linger D`, served for D.

mod listen;
mod push;

use crate::config::Config;
use crate::engine::INTERRUPT;
use crate::error::{usage, Error};
use crate::report::prom::{self, text, RunMeta};
use crate::serve::store::{id_of, now_ms};
use crate::stats::export::{Board, Frame};
use crate::stats::{IntervalSink, TimelinePoint};
use hdrhistogram::Histogram;
use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

pub struct Exporter {
    board: Arc<Board>,
    pusher: Option<push::Pusher>,
    linger: Duration,
}

impl Exporter {
    /// Bind the listener and start the pusher, as configured (None when
    /// neither is asked for). A port that cannot be bound is exit 2.
    pub fn start(cfg: &Config) -> Result<Option<Exporter>, Error> {
        let m = &cfg.metrics;
        if m.listen.is_none() && m.remote.is_none() {
            return Ok(None);
        }
        let shape = &cfg.load.shape;
        let start = shape.start_at.unwrap_or_else(SystemTime::now) + shape.warmup;
        let meta = RunMeta::of(&id_of(now_ms()), &cfg.load.info, start);
        let board = Arc::new(Board::default());
        if let Some(addr) = m.listen {
            let listener = TcpListener::bind(addr)
                .map_err(|e| usage(format!("--metrics-listen {addr}: {e}")))?;
            let bound = listener.local_addr().unwrap_or(addr);
            eprintln!("blast: metrics at http://{bound}/metrics (run {})", meta.id);
            let (b, meta) = (board.clone(), meta.clone());
            let render: listen::Render = Arc::new(move |openmetrics| {
                let (_, frame) = b.latest();
                let fams = prom::families(&[(&meta, &frame)]);
                let ctype = if openmetrics {
                    text::OPENMETRICS_TYPE
                } else {
                    text::CONTENT_TYPE
                };
                (ctype, text::render(&fams, openmetrics))
            });
            listen::spawn(listener, m.token.clone(), render);
        }
        let pusher = (m.remote.clone()).map(|to| push::Pusher::spawn(to, meta, board.clone()));
        Ok(Some(Exporter {
            board,
            pusher,
            linger: m.linger,
        }))
    }

    /// The engine's sink: frames to the board, intervals to `inner`.
    pub fn sink(&self, inner: Option<Box<dyn IntervalSink>>) -> Box<dyn IntervalSink> {
        Box::new(BoardSink {
            board: self.board.clone(),
            inner,
        })
    }

    /// The final push (its warning, if any push failed).
    pub fn finish(&mut self) -> Vec<String> {
        self.pusher
            .take()
            .and_then(push::Pusher::finish)
            .into_iter()
            .collect()
    }

    /// `--metrics-linger`: keep serving the final values (Ctrl-C ends it).
    pub fn linger(&self) {
        let until = Instant::now() + self.linger;
        while Instant::now() < until && !INTERRUPT.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
        }
    }
}

/// A sink that publishes each frame to a board and hands the intervals
/// on to another sink (`--hlog`'s), if any.
pub struct BoardSink {
    pub board: Arc<Board>,
    pub inner: Option<Box<dyn IntervalSink>>,
}

impl IntervalSink for BoardSink {
    fn interval(
        &mut self,
        start: Duration,
        len: Duration,
        latency: &Histogram<u64>,
        point: &TimelinePoint,
        by_name: &[Histogram<u64>],
    ) {
        if let Some(s) = &mut self.inner {
            s.interval(start, len, latency, point, by_name);
        }
    }

    fn wants_frames(&self) -> bool {
        true
    }

    fn frame(&mut self, frame: Frame) {
        self.board.publish(frame);
    }
}
