//! The open-loop schedule (`-R`): when each request is due.
//!
//! Request k of a phase is due at a fixed time computed from k alone, never
//! from when a connection became free, so a server stall shows up as latency
//! of the requests that were due during it (coordinated omission is avoided
//! by construction rather than corrected afterwards). Workers interleave: with
//! `t` threads at a total rate R, worker i owns global requests i, i+t, i+2t,
//! ... so the total is exact even when R is below the thread count.
//! `--ramp-up D` raises the rate linearly from 0 to R over D.

use std::time::Duration;

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
        let x = k as f64 + self.offset;
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

    /// How many requests are due before `s` seconds after the start.
    pub fn due_before(&self, s: f64) -> u64 {
        if s < 0.0 {
            return 0;
        }
        let r = self.per_sec;
        let d = self.ramp.as_secs_f64();
        let n = if d > 0.0 && s < d {
            r * s * s / (2.0 * d)
        } else if d > 0.0 {
            r * d / 2.0 + r * (s - d)
        } else {
            r * s
        };
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

#[cfg(test)]
mod tests {
    use super::*;

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
