//! What the connections send: one fixed request, or a mix of named requests
//! (a scenario, a vegeta targets file, rows of a data file).
//!
//! Every request of every row is encoded before the run starts; choosing
//! the next one is an index into `variants`, drawn with the worker's
//! splitmix64 and a per-connection `Cursor`, so the hot path still writes a
//! pre-encoded buffer and allocates nothing.
//!
//! A mix is a list of weighted entries. An entry is one named request or a
//! sequence of steps (a user flow such as login, list, get) that one
//! connection (one HTTP/2 stream lane) sends in order. A step with data has
//! one variant per row; the row is chosen when the entry is, and every step
//! of that entry uses it.

use super::collect::CheckSet;
use super::flow::FlowStep;
use super::pace::SplitMix64;
use crate::proto::h2::H2Request;
use std::time::Duration;

/// Most variants (requests times rows) a run encodes before it starts.
pub const MAX_VARIANTS: usize = 1_000_000;
/// Most bytes all encoded variants may take together.
pub const MAX_BYTES: usize = 1 << 30;
/// Most request names a run keeps statistics for.
pub const MAX_NAMES: usize = 1_000;

/// One request as written: HTTP/1.1 bytes, and for `--http2` its h2 form.
#[derive(Clone, Debug)]
pub struct Variant {
    pub bytes: Box<[u8]>,
    /// A HEAD request: no response to it has a body.
    pub head: bool,
    /// Boxed: most runs are HTTP/1.1, and a million variants would carry
    /// an unboxed `http::Request` each (about 250 bytes) for nothing.
    pub h2: Option<Box<H2Request>>,
    /// A sequence step's part in its run (values it captures or splices
    /// in, whether it begins a run); None for every request of a run
    /// without captures or cookies, which stay pre-encoded.
    pub flow: Option<Box<FlowStep>>,
    /// Its checks: an index into `Mix::checks`; None collects nothing.
    pub checks: Option<u16>,
}

/// A named request, as the reports show it (Locust's Type and Name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestName {
    pub name: String,
    pub method: String,
}

/// One request of an entry: its name and its variants (one per data row,
/// or one), `variants[first .. first + count]` of the mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub name: u16,
    pub first: u32,
    pub count: u32,
}

/// A weighted choice: one request, or a sequence sent in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub weight: u32,
    pub steps: Vec<Step>,
}

/// Locust's `wait_time` for closed-loop users: a pause after each request.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Think {
    #[default]
    None,
    Constant(Duration),
    /// Uniform between the two.
    Between(Duration, Duration),
}

/// How a data row is chosen for each entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RowOrder {
    /// Row after row, per worker thread.
    #[default]
    RoundRobin,
    /// Uniformly at random (repeatable with `--seed`).
    Random,
}

/// What a worker's connections choose from.
#[derive(Debug)]
pub struct Mix {
    /// Names for the per-name statistics; empty for a single request,
    /// which is reported as the run total only.
    pub names: Vec<RequestName>,
    pub variants: Vec<Variant>,
    pub entries: Vec<Entry>,
    pub think: Think,
    pub rows: RowOrder,
    /// Running sum of the weights, for the weighted draw.
    cumulative: Vec<u64>,
    /// Most variants of any step: the data rows.
    max_rows: u64,
    /// One entry of one step of one variant: every pick is the same.
    pub single: bool,
    /// Most values any sequence captures (a lane's store; 0: no capture),
    /// and `cookies = true` or `--cookies` (a cookie jar per lane).
    pub slots: usize,
    pub cookies: bool,
    /// The check sets variants refer to, and the run's check slots: each
    /// (request name, check text) once, in order, for the stats.
    pub checks: Vec<CheckSet>,
    pub check_slots: Vec<(u16, String)>,
}

/// The request a connection sends next: its name (index into `names`;
/// 0 for a single request) and its variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pick {
    pub name: u16,
    pub variant: u32,
}

/// Where one connection (or HTTP/2 lane) is in the mix.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cursor {
    entry: u32,
    /// Next step of the entry; 0 when a new entry is due.
    step: u32,
    row: u32,
}

/// The worker's random and round-robin state, shared by its connections.
#[derive(Clone, Copy, Debug)]
pub struct Chooser {
    rng: SplitMix64,
    next_row: u64,
}

impl Chooser {
    /// Worker `index` of a run seeded with `seed`: each worker draws its
    /// own repeatable sequence.
    pub fn new(seed: u64, index: usize) -> Self {
        let mut rng = SplitMix64(seed ^ 0xA076_1D64_78BD_642F);
        for _ in 0..=index {
            rng.next_u64();
        }
        Chooser {
            rng: SplitMix64(rng.next_u64()),
            next_row: 0,
        }
    }

    /// Uniform in 0..n (n > 0), by Lemire's multiply-shift (no division).
    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.rng.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A think time drawn for this request.
    pub fn think(&mut self, t: Think) -> Duration {
        match t {
            Think::None => Duration::ZERO,
            Think::Constant(d) => d,
            Think::Between(a, b) => a + b.saturating_sub(a).mul_f64(self.rng.unit()),
        }
    }
}

impl Mix {
    /// One request, sent by every connection.
    pub fn single(v: Variant) -> Mix {
        Mix {
            names: Vec::new(),
            variants: vec![v],
            entries: vec![Entry {
                weight: 1,
                steps: vec![Step {
                    name: 0,
                    first: 0,
                    count: 1,
                }],
            }],
            think: Think::None,
            rows: RowOrder::RoundRobin,
            cumulative: vec![1],
            max_rows: 1,
            single: true,
            slots: 0,
            cookies: false,
            checks: Vec::new(),
            check_slots: Vec::new(),
        }
    }

    /// With the check sets its variants refer to and the run's slots.
    pub fn with_checks(mut self, sets: Vec<CheckSet>, slots: Vec<(u16, String)>) -> Mix {
        self.checks = sets;
        self.check_slots = slots;
        self
    }

    /// The checks of variant `v`, if it has any.
    #[inline]
    pub fn checks_of(&self, v: &Variant) -> Option<&CheckSet> {
        v.checks.map(|i| &self.checks[i as usize])
    }

    /// A mix of named requests. Errors are one line naming what is wrong.
    pub fn new(
        names: Vec<RequestName>,
        variants: Vec<Variant>,
        entries: Vec<Entry>,
        think: Think,
        rows: RowOrder,
    ) -> Result<Mix, String> {
        if entries.is_empty() {
            return Err("the scenario has no requests".into());
        }
        if names.len() > MAX_NAMES {
            return Err(format!(
                "{} request names: at most {MAX_NAMES} are supported",
                names.len()
            ));
        }
        if variants.len() > MAX_VARIANTS {
            return Err(format!(
                "{} request variants (requests x data rows): at most {MAX_VARIANTS} are encoded",
                variants.len()
            ));
        }
        let bytes: usize = variants.iter().map(|v| v.bytes.len()).sum();
        if bytes > MAX_BYTES {
            return Err(format!(
                "the encoded requests take {} MiB: at most {} MiB",
                bytes >> 20,
                MAX_BYTES >> 20
            ));
        }
        let mut cumulative = Vec::with_capacity(entries.len());
        let mut sum = 0u64;
        let mut max_rows = 1u64;
        for e in &entries {
            if e.steps.is_empty() {
                return Err("a sequence has no steps".into());
            }
            for s in &e.steps {
                let end = s.first as usize + s.count as usize;
                if s.count == 0 || end > variants.len() {
                    return Err("a request has no encoded variant".into());
                }
                if !names.is_empty() && s.name as usize >= names.len() {
                    return Err("a request refers to an unknown name".into());
                }
                max_rows = max_rows.max(u64::from(s.count));
            }
            sum += u64::from(e.weight);
            cumulative.push(sum);
        }
        if sum == 0 {
            return Err("every weight is 0: nothing would be sent".into());
        }
        let single = entries.len() == 1 && entries[0].steps.len() == 1 && max_rows == 1;
        let flows = variants.iter().filter_map(|v| v.flow.as_ref());
        Ok(Mix {
            single,
            slots: flows.map(|f| f.slots).max().unwrap_or(0),
            cookies: false,
            names,
            variants,
            entries,
            think,
            rows,
            cumulative,
            max_rows,
            checks: Vec::new(),
            check_slots: Vec::new(),
        })
    }

    /// Statistics are kept per name (a scenario, a targets file).
    #[inline]
    pub fn named(&self) -> bool {
        !self.names.is_empty()
    }

    /// The first variant: the request of a single-request run.
    pub fn first(&self) -> &Variant {
        &self.variants[0]
    }

    /// The next request of the connection at `c`.
    #[inline]
    pub fn next(&self, c: &mut Cursor, ch: &mut Chooser) -> Pick {
        if c.step == 0 {
            c.entry = self.draw_entry(ch);
            c.row = self.draw_row(ch);
        }
        let entry = &self.entries[c.entry as usize];
        let step = entry.steps[c.step as usize];
        c.step += 1;
        if c.step as usize == entry.steps.len() {
            c.step = 0;
        }
        Pick {
            name: step.name,
            variant: step.first + c.row % step.count,
        }
    }

    /// The step of `c`'s run just sent failed to capture: `skipped` gets
    /// the name of each step left, and the next pick begins a new run.
    pub fn skip_rest(&self, c: &mut Cursor, mut skipped: impl FnMut(u16)) {
        let steps = &self.entries[c.entry as usize].steps;
        if c.step != 0 {
            steps[c.step as usize..]
                .iter()
                .for_each(|s| skipped(s.name));
        }
        c.step = 0;
    }

    /// Each lane keeps state of its own (captured values, cookies).
    pub fn lanes(&self) -> bool {
        self.slots > 0 || self.cookies
    }

    #[inline]
    fn draw_entry(&self, ch: &mut Chooser) -> u32 {
        if self.entries.len() == 1 {
            return 0;
        }
        let total = *self.cumulative.last().unwrap_or(&1);
        let x = ch.below(total);
        self.cumulative.partition_point(|&c| c <= x) as u32
    }

    #[inline]
    fn draw_row(&self, ch: &mut Chooser) -> u32 {
        let rows = self.max_rows;
        if rows <= 1 {
            return 0;
        }
        match self.rows {
            RowOrder::RoundRobin => {
                let r = ch.next_row;
                ch.next_row = r + 1;
                (r % rows) as u32
            }
            RowOrder::Random => ch.below(rows) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Variant {
        Variant {
            checks: None,
            bytes: s.as_bytes().into(),
            head: false,
            h2: None,
            flow: None,
        }
    }

    fn name(n: &str) -> RequestName {
        RequestName {
            name: n.into(),
            method: "GET".into(),
        }
    }

    fn step(name: u16, first: u32, count: u32) -> Step {
        Step { name, first, count }
    }

    #[test]
    fn weights_are_drawn_in_proportion() {
        let mix = Mix::new(
            vec![name("a"), name("b")],
            vec![v("a"), v("b")],
            vec![
                Entry {
                    weight: 3,
                    steps: vec![step(0, 0, 1)],
                },
                Entry {
                    weight: 1,
                    steps: vec![step(1, 1, 1)],
                },
            ],
            Think::None,
            RowOrder::RoundRobin,
        )
        .unwrap();
        let mut ch = Chooser::new(7, 0);
        let mut c = Cursor::default();
        let a = (0..100_000)
            .filter(|_| mix.next(&mut c, &mut ch).name == 0)
            .count();
        assert!((74_000..76_000).contains(&a), "{a}");
    }

    #[test]
    fn a_sequence_runs_in_order_with_one_row() {
        let mix = Mix::new(
            vec![name("login"), name("list"), name("get")],
            // login has 3 rows, list one, get 3.
            vec![
                v("l0"),
                v("l1"),
                v("l2"),
                v("list"),
                v("g0"),
                v("g1"),
                v("g2"),
            ],
            vec![Entry {
                weight: 1,
                steps: vec![step(0, 0, 3), step(1, 3, 1), step(2, 4, 3)],
            }],
            Think::None,
            RowOrder::RoundRobin,
        )
        .unwrap();
        let mut ch = Chooser::new(1, 0);
        let mut c = Cursor::default();
        let got: Vec<Pick> = (0..6).map(|_| mix.next(&mut c, &mut ch)).collect();
        let names: Vec<u16> = got.iter().map(|p| p.name).collect();
        assert_eq!(names, [0, 1, 2, 0, 1, 2]);
        // One row per pass through the sequence, the same for every step.
        let row0 = got[0].variant;
        assert_eq!(got[2].variant, 4 + row0);
        assert_eq!(got[3].variant, (row0 + 1) % 3);
    }

    #[test]
    fn the_same_seed_draws_the_same_sequence() {
        let mix = Mix::new(
            vec![name("a"), name("b"), name("c")],
            vec![v("a"), v("b"), v("c")],
            (0..3)
                .map(|i| Entry {
                    weight: 1,
                    steps: vec![step(i, u32::from(i), 1)],
                })
                .collect(),
            Think::None,
            RowOrder::Random,
        )
        .unwrap();
        let run = |seed| {
            let mut ch = Chooser::new(seed, 1);
            let mut c = Cursor::default();
            (0..50)
                .map(|_| mix.next(&mut c, &mut ch).name)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn bounds_are_refused() {
        let e = Mix::new(
            vec![],
            vec![v("a")],
            vec![],
            Think::None,
            RowOrder::RoundRobin,
        );
        assert!(e.unwrap_err().contains("no requests"));
        let zero = Mix::new(
            vec![],
            vec![v("a")],
            vec![Entry {
                weight: 0,
                steps: vec![step(0, 0, 1)],
            }],
            Think::None,
            RowOrder::RoundRobin,
        );
        assert!(zero.unwrap_err().contains("weight"));
    }

    #[test]
    fn think_between_stays_in_range() {
        let mut ch = Chooser::new(3, 0);
        let (a, b) = (Duration::from_millis(10), Duration::from_millis(20));
        for _ in 0..1000 {
            let t = ch.think(Think::Between(a, b));
            assert!(t >= a && t <= b, "{t:?}");
        }
        assert_eq!(ch.think(Think::Constant(a)), a);
    }
}
