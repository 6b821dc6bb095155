//! The open-loop schedule (`-R`): when each request is due.
//!
//! Request k of a phase is due at a fixed time computed from k alone, never
//! from when a connection became free, so a server stall shows up as latency
//! of the requests that were due during it (coordinated omission is avoided
//! by construction rather than corrected afterwards). Workers interleave: with
//! `t` threads at a total rate R, worker i owns global requests i, i+t, i+2t,
//! ... so the total is exact even when R is below the thread count.
//! `--ramp-up D` raises the rate linearly from 0 to R over D.
//!
//! `--arrival poisson` (with `--burstiness K`) makes the gaps random, as
//! vLLM's bench does: gamma-distributed with shape K and mean 1/R (K = 1:
//! exponential, a Poisson process). The gaps are drawn in "request units"
//! (mean 1) and summed, so each due time is the previous one plus a gap with
//! no drift, then mapped through the same rate curve as the fixed schedule:
//! during `--ramp-up` that stretches the gaps exactly as the rate is lowered
//! (time rescaling). Every worker draws the one global sequence from the same
//! seed and keeps its own interleaved share (i, i+t, ...), so the arrivals
//! are one gamma process whatever `-t` is, and `--seed` repeats them.

use std::time::Duration;

/// How the gaps between due times are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arrival {
    /// `--arrival constant`: evenly spaced (the default).
    Constant,
    /// `--arrival poisson --burstiness K`: gamma gaps of shape K.
    Gamma { burstiness: f64, seed: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// This worker's share, requests per second (total rate / threads).
    pub per_sec: f64,
    /// Fraction of a request this worker's schedule is shifted by (i / t).
    pub offset: f64,
    /// Linear ramp from 0 to full rate.
    pub ramp: Duration,
}

impl Rate {
    pub fn share(total_per_sec: f64, threads: u64, index: u64, ramp: Duration) -> Rate {
        Rate {
            per_sec: total_per_sec / threads as f64,
            offset: index as f64 / threads as f64,
            ramp,
        }
    }

    /// Seconds after the phase start at which request `k` is due.
    pub fn due_s(&self, k: u64) -> f64 {
        self.due_at(k as f64 + self.offset)
    }

    /// Seconds after the phase start by which `x` of this worker's requests
    /// have fallen due (the inverse of [`Rate::due_before`]'s count).
    pub fn due_at(&self, x: f64) -> f64 {
        let r = self.per_sec;
        let d = self.ramp.as_secs_f64();
        let ramp_n = r * d / 2.0; // requests sent during the ramp
        if d > 0.0 && x < ramp_n {
            // Cumulative N(s) = r s^2 / (2d) during the ramp.
            (2.0 * d * x / r).sqrt()
        } else if d > 0.0 {
            d + (x - ramp_n) / r
        } else {
            x / r
        }
    }

    /// This worker's requests (fractional) due by `s` seconds after the start.
    pub fn count_at(&self, s: f64) -> f64 {
        let r = self.per_sec;
        let d = self.ramp.as_secs_f64();
        if s <= 0.0 {
            0.0
        } else if d > 0.0 && s < d {
            r * s * s / (2.0 * d)
        } else if d > 0.0 {
            r * d / 2.0 + r * (s - d)
        } else {
            r * s
        }
    }

    /// How many requests are due before `s` seconds after the start.
    pub fn due_before(&self, s: f64) -> u64 {
        if s < 0.0 {
            return 0;
        }
        let n = self.count_at(s);
        // Request k is due before s when k + offset < n. Tolerate float
        // noise at exact boundaries.
        let x = n - self.offset - 1e-9;
        if x <= 0.0 {
            0
        } else {
            x.ceil() as u64
        }
    }
}

/// `--burstiness`: a finite number above 0.
pub fn parse_burstiness(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(k) if k > 0.0 && k.is_finite() => Ok(k),
        _ => Err(format!(
            "'{s}' is not a burstiness above 0 (e.g. 1, 0.5, 4)"
        )),
    }
}

/// One worker's place in its phase's schedule: the next request's position
/// in request units (`x`) and, for random arrivals, the generator's state.
/// Plain data, copied in and out of a `Cell`: nothing is allocated per
/// request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    pub rate: Rate,
    /// Gamma shape (`--burstiness`); 0 for the fixed schedule.
    shape: f64,
    rng: SplitMix64,
    /// Workers sharing the global sequence (each draws `threads` gaps per
    /// request of its own).
    threads: u64,
    /// Position of the next request, in this worker's request units.
    x: f64,
}

impl Schedule {
    pub fn new(rate: Rate, arrival: Arrival, threads: u64, index: u64) -> Schedule {
        let mut s = Schedule {
            rate,
            shape: 0.0,
            rng: SplitMix64(0),
            threads: threads.max(1),
            x: 0.0,
        };
        if let Arrival::Gamma { burstiness, seed } = arrival {
            s.shape = burstiness;
            s.rng = SplitMix64(seed);
            // Global request 0 is due at the start; worker i's first is
            // global request i.
            let mut sum = 0.0;
            for _ in 0..index {
                sum += s.gap();
            }
            s.x = sum / s.threads as f64;
        }
        s
    }

    pub fn is_random(&self) -> bool {
        self.shape > 0.0
    }

    /// One global gap in request units (mean 1).
    fn gap(&mut self) -> f64 {
        gamma(&mut self.rng, self.shape) / self.shape
    }

    /// Seconds after the phase start at which request `k` (the next) is due.
    #[inline]
    pub fn due_s(&self, k: u64) -> f64 {
        if self.is_random() {
            self.rate.due_at(self.x)
        } else {
            self.rate.due_s(k)
        }
    }

    /// Where request `k` (the next) stands in this worker's request units:
    /// over stages, the position maps to a time through the stages' area.
    #[inline]
    pub fn position(&self, k: u64) -> f64 {
        if self.is_random() {
            self.x
        } else {
            k as f64 + self.rate.offset
        }
    }

    /// Workers sharing the global sequence.
    pub fn threads(&self) -> u64 {
        self.threads
    }

    /// Move past the next request (random arrivals: draw the gaps up to
    /// this worker's next one).
    #[inline]
    pub fn advance(&mut self) {
        if self.is_random() {
            let mut sum = 0.0;
            for _ in 0..self.threads {
                sum += self.gap();
            }
            self.x += sum / self.threads as f64;
        }
    }

    /// How many requests are due before `s`, given that `k` (this state's
    /// next request) have been handed out, all due before `s`.
    pub fn due_before(&self, s: f64, k: u64) -> u64 {
        if !self.is_random() {
            return self.rate.due_before(s);
        }
        // Walk the backlog forward; past a bound, count the rest by the
        // mean rate rather than draw it.
        const WALK: u64 = 1 << 16;
        let mut c = *self;
        let mut n = k;
        while n - k < WALK {
            if c.due_s(n) >= s {
                return n;
            }
            c.advance();
            n += 1;
        }
        n + (c.rate.count_at(s) - c.x).max(0.0).ceil() as u64
    }
}

/// splitmix64 (Steele, Lea, Flood): a tiny, fast generator, good enough
/// for arrival gaps, and repeatable from its seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1]: never 0, so its logarithm is finite.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box-Muller, one of the pair).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Gamma(shape, 1): exponential for shape 1, else Marsaglia and Tsang's
/// squeeze (shape < 1 boosted through shape + 1).
pub fn gamma(rng: &mut SplitMix64, shape: f64) -> f64 {
    if shape == 1.0 {
        return -rng.unit().ln();
    }
    if shape < 1.0 {
        let u = rng.unit();
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let z = rng.normal();
        let v = 1.0 + c * z;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = rng.unit();
        if u < 1.0 - 0.0331 * z * z * z * z || u.ln() < 0.5 * z * z + d * (1.0 - v + v.ln()) {
            return d * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_cv(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let m = xs.iter().sum::<f64>() / n;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
        (m, v.sqrt() / m)
    }

    #[test]
    fn gamma_sampler_has_the_right_mean_and_cv() {
        for (k, seed) in [(1.0, 1), (4.0, 2), (0.5, 3)] {
            let mut rng = SplitMix64(seed);
            let xs: Vec<f64> = (0..1_000_000).map(|_| gamma(&mut rng, k) / k).collect();
            let (m, cv) = mean_cv(&xs);
            let want = 1.0 / f64::sqrt(k);
            assert!((m - 1.0).abs() < 0.005, "K={k}: mean {m}");
            assert!(
                (cv - want).abs() < 0.01 * want,
                "K={k}: cv {cv}, want {want}"
            );
        }
    }

    /// Due times of worker `i` of `t`, first `n`.
    fn dues(arrival: Arrival, total: f64, t: u64, i: u64, ramp: Duration, n: u64) -> Vec<f64> {
        let mut s = Schedule::new(Rate::share(total, t, i, ramp), arrival, t, i);
        (0..n)
            .map(|k| {
                let d = s.due_s(k);
                s.advance();
                d
            })
            .collect()
    }

    #[test]
    fn poisson_schedule_is_one_process_over_threads_and_repeats() {
        let a = Arrival::Gamma {
            burstiness: 1.0,
            seed: 42,
        };
        let one = dues(a, 1000.0, 1, 0, Duration::ZERO, 30_000);
        // The same seed gives the same due times.
        assert_eq!(one, dues(a, 1000.0, 1, 0, Duration::ZERO, 30_000));
        let other = Arrival::Gamma {
            burstiness: 1.0,
            seed: 43,
        };
        assert_ne!(one, dues(other, 1000.0, 1, 0, Duration::ZERO, 30_000));
        // Three workers interleave the same global sequence.
        let mut merged: Vec<f64> = (0..3)
            .flat_map(|i| dues(a, 1000.0, 3, i, Duration::ZERO, 10_000))
            .collect();
        merged.sort_by(f64::total_cmp);
        for (g, (m, o)) in merged.iter().zip(&one).enumerate() {
            assert!((m - o).abs() < 1e-9, "request {g}: {m} vs {o}");
        }
        let gaps: Vec<f64> = one.windows(2).map(|w| w[1] - w[0]).collect();
        let (m, cv) = mean_cv(&gaps);
        assert!((m - 0.001).abs() < 0.00003, "mean gap {m}");
        assert!((cv - 1.0).abs() < 0.03, "cv {cv}");
    }

    #[test]
    fn burstiness_sets_the_cv() {
        let a = Arrival::Gamma {
            burstiness: 4.0,
            seed: 7,
        };
        let d = dues(a, 500.0, 2, 1, Duration::ZERO, 1);
        assert!(d[0] > 0.0);
        let one = dues(a, 500.0, 1, 0, Duration::ZERO, 100_000);
        let gaps: Vec<f64> = one.windows(2).map(|w| w[1] - w[0]).collect();
        let (m, cv) = mean_cv(&gaps);
        assert!((m - 0.002).abs() < 0.00002, "mean gap {m}");
        assert!((cv - 0.5).abs() < 0.01, "cv {cv}");
    }

    #[test]
    fn poisson_follows_the_ramp_and_counts_what_is_due() {
        let a = Arrival::Gamma {
            burstiness: 1.0,
            seed: 9,
        };
        let r = Rate::share(1000.0, 1, 0, Duration::from_secs(2));
        let mut s = Schedule::new(r, a, 1, 0);
        let mut due = Vec::new();
        for k in 0..5000 {
            due.push(s.due_s(k));
            s.advance();
        }
        // About 1000 during the 2 s ramp (a quarter in its first half), then
        // 1000/s.
        let before = |t: f64| due.iter().filter(|&&d| d < t).count() as f64;
        assert!((before(1.0) - 250.0).abs() < 60.0, "{}", before(1.0));
        assert!((before(2.0) - 1000.0).abs() < 120.0, "{}", before(2.0));
        assert!((before(4.0) - 3000.0).abs() < 200.0, "{}", before(4.0));
        // due_before walks forward from any handed-out point.
        let s0 = Schedule::new(r, a, 1, 0);
        let mut s = s0;
        for k in 0..100 {
            assert_eq!(s.due_before(3.0, k), before(3.0) as u64);
            s.advance();
        }
        assert_eq!(s0.due_before(due[2500], 0), 2500);
    }

    #[test]
    fn constant_rate_is_exact_over_threads() {
        // 2000/s over 3 threads for 5 s: 10,000 requests, interleaved.
        let shares: Vec<Rate> = (0..3)
            .map(|i| Rate::share(2000.0, 3, i, Duration::ZERO))
            .collect();
        let total: u64 = shares.iter().map(|r| r.due_before(5.0)).sum();
        assert_eq!(total, 10_000);
        let mut all: Vec<f64> = shares
            .iter()
            .flat_map(|r| (0..10).map(move |k| r.due_s(k)))
            .collect();
        all.sort_by(f64::total_cmp);
        for (g, t) in all.iter().take(20).enumerate() {
            assert!(
                (t - g as f64 / 2000.0).abs() < 1e-9,
                "request {g} due at {t}"
            );
        }
    }

    #[test]
    fn rate_below_thread_count_stays_exact() {
        // wrk2's -R < -t runaway: 1 request/s over 4 threads.
        let shares: Vec<Rate> = (0..4)
            .map(|i| Rate::share(1.0, 4, i, Duration::ZERO))
            .collect();
        let total: u64 = shares.iter().map(|r| r.due_before(10.0)).sum();
        assert_eq!(total, 10);
        let mut due: Vec<f64> = shares
            .iter()
            .flat_map(|r| (0..3).map(move |k| r.due_s(k)))
            .collect();
        due.sort_by(f64::total_cmp);
        assert_eq!(&due[..5], &[0.0, 1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn ramp_is_linear_then_constant() {
        let r = Rate::share(1000.0, 1, 0, Duration::from_secs(2));
        // 1000 requests during the 2 s ramp (area of the triangle), then 1000/s.
        assert_eq!(r.due_before(2.0), 1000);
        assert_eq!(r.due_before(3.0), 2000);
        // Rate at 1 s is half: requests 250..=500 are due in [1, 1.414).
        assert!((r.due_s(250) - 1.0).abs() < 1e-9);
        assert!((r.due_s(1000) - 2.0).abs() < 1e-9);
        assert!((r.due_s(1500) - 2.5).abs() < 1e-9);
        for k in [0, 1, 10, 999, 1000, 1001, 5000] {
            assert_eq!(r.due_before(r.due_s(k)), k, "k={k}");
            assert_eq!(r.due_before(r.due_s(k) + 1e-4), k + 1, "k={k}");
        }
    }
}
