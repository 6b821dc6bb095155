//! A sequence step's part in its run, as the plan builds it and a lane
//! reads it: what it captures, the spliced form of its request, whether it
//! begins a run. Apart from `mix` and `lane` so that both may name it.

use crate::proto::capture::Capture;
use crate::proto::h1::spliced::Spliced;

/// A sequence step's part in its run, built once at load.
#[derive(Clone, Debug, Default)]
pub struct FlowStep {
    /// Its request with captured values spliced in (None: pre-encoded).
    pub spliced: Option<Spliced>,
    /// What it captures: (the value's slot in its sequence, the capture,
    /// the `check` detail when it finds nothing).
    pub captures: Vec<(usize, Capture, Box<str>)>,
    /// The first step of a sequence: a new run begins (values and cookies
    /// are forgotten).
    pub starts_run: bool,
    /// Values its sequence captures in all (the lane's store it needs).
    pub slots: usize,
}
