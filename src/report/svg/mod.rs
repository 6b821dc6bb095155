//! Just enough SVG plotting for the HTML reports: axes with round ticks,
//! lines, markers, grouped bars, reference rules and a legend. Knows nothing
//! of runs or reports; every label it is given is escaped here.

mod bar;
mod line;

use std::fmt::Write as _;

/// Tableau 10: distinct, colour-blind-aware, readable on white.
pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

const W: f64 = 600.0;
const H: f64 = 360.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = W - 36.0;
const BOTTOM: f64 = H - 52.0;
const FONT: &str = "font-family=\"system-ui,'DejaVu Sans',sans-serif\"";

#[derive(Clone, Copy, PartialEq)]
pub enum Axis {
    Linear,
    /// x is already log10(1/(1-q)); ticks read 0%, 90%, 99%, ...
    Percentile,
}

pub struct Series {
    pub name: String,
    pub color: String,
    pub points: Vec<(f64, f64)>,
    pub line: bool,
    pub markers: bool,
    pub dashed: bool,
}

impl Series {
    pub fn line(name: &str, color: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            color: color.into(),
            points,
            line: true,
            markers: false,
            dashed: false,
        }
    }
    pub fn markers(name: &str, color: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            line: false,
            markers: true,
            ..Series::line(name, color, points)
        }
    }
}

/// A labelled reference line across the plot.
#[derive(Clone)]
pub struct Rule {
    pub at: f64,
    pub label: String,
    pub color: &'static str,
}

pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x: Axis,
    pub y_log: bool,
    pub series: Vec<Series>,
    pub vlines: Vec<Rule>,
    pub hlines: Vec<Rule>,
}

pub struct BarSeries {
    pub name: String,
    pub color: String,
    pub values: Vec<Option<f64>>,
}

pub struct BarChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub categories: Vec<String>,
    pub series: Vec<BarSeries>,
    /// One colour per category instead of per series.
    pub bar_colors: Option<Vec<String>>,
    /// Legend entries; the series' names when empty.
    pub legend: Vec<(String, String)>,
    pub value_label: fn(f64) -> String,
}

/// A scale from data values to pixels, with its ticks.
struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
    ticks: Vec<(f64, String)>,
}

impl Scale {
    fn px(&self, v: f64, a: f64, b: f64) -> f64 {
        let t = if self.log {
            let v = v.max(self.lo);
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        let t = if t.is_finite() {
            t.clamp(0.0, 1.0)
        } else {
            0.0
        };
        a + t * (b - a)
    }

    fn linear(lo: f64, hi: f64) -> Scale {
        // Values come from saved files too: keep the axis finite.
        let bound = |v: f64| {
            if v.is_finite() {
                v.clamp(-1e300, 1e300)
            } else {
                0.0
            }
        };
        let (lo, hi) = (bound(lo), bound(hi));
        let (lo, mut hi) = (lo.min(hi), hi.max(lo));
        if hi - lo < 1e-9 {
            hi = lo + if lo.abs() > 0.0 { lo.abs() } else { 1.0 };
        }
        let step = nice_step((hi - lo) / 5.0);
        let lo = (lo / step).floor() * step;
        let hi = (hi / step - 1e-9).ceil() * step;
        let mut ticks = Vec::new();
        let mut i = 0;
        while i <= 100 {
            let v = lo + i as f64 * step;
            if v > hi + step * 1e-6 {
                break;
            }
            ticks.push((v, tick_label(v, step)));
            i += 1;
        }
        Scale {
            lo,
            hi,
            log: false,
            ticks,
        }
    }

    fn log(lo: f64, hi: f64) -> Scale {
        let lo = if lo > 0.0 && lo.is_finite() {
            lo
        } else {
            0.001
        };
        let hi = if hi > lo { hi } else { lo * 10.0 };
        let (d0, d1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
        let d1 = d1.max(d0 + 1);
        let mults: &[f64] = if d1 - d0 <= 3 {
            &[1.0, 2.0, 5.0]
        } else {
            &[1.0]
        };
        let mut ticks = Vec::new();
        for d in d0..=d1 {
            for m in mults {
                let v = m * 10f64.powi(d);
                if v <= 10f64.powi(d1) * 1.0001 {
                    ticks.push((v, short(v)));
                }
            }
        }
        Scale {
            lo: 10f64.powi(d0),
            hi: 10f64.powi(d1),
            log: true,
            ticks,
        }
    }

    fn percentile(max_x: f64) -> Scale {
        let hi = max_x.ceil().clamp(1.0, 7.0);
        let ticks = (0..=hi as usize)
            .map(|k| {
                let label = match k {
                    0 => "0%".to_string(),
                    1 => "90%".to_string(),
                    _ => format!("99.{}%", "9".repeat(k - 2)).replace(".%", "%"),
                };
                (k as f64, label)
            })
            .collect();
        Scale {
            lo: 0.0,
            hi,
            log: false,
            ticks,
        }
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let raw = if raw > 0.0 && raw.is_finite() {
        raw
    } else {
        1.0
    };
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// A tick value with as many decimals as its step needs, in k or M when
/// the step is that large: 0.25, 40, 2k, 1.5M.
pub fn tick_label(v: f64, step: f64) -> String {
    if v.abs() < step * 1e-6 {
        return "0".into();
    }
    let (v, step, suffix) = if step >= 1e6 {
        (v / 1e6, step / 1e6, "M")
    } else if step >= 1e3 {
        (v / 1e3, step / 1e3, "k")
    } else {
        (v, step, "")
    };
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil().max(0.0) as usize
    };
    let s = format!("{v:.decimals$}");
    let s = if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_string()
    } else {
        s
    };
    format!("{s}{suffix}")
}

/// Title, legend (wrapped over rows) and the top of the plot area.
fn header(out: &mut String, title: &str, legend: &[(String, String, Swatch)]) -> f64 {
    let _ = write!(
        out,
        "<title>{t}</title><text x=\"{x}\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" \
         font-weight=\"600\" fill=\"#222\" {FONT}>{t}</text>",
        t = esc(title),
        x = W / 2.0
    );
    let (mut x, mut y) = (LEFT, 46.0);
    for (name, color, kind) in legend {
        let text_w = name.chars().count() as f64 * 6.6;
        let item_w = 26.0 + text_w + 18.0;
        if x + item_w > RIGHT && x > LEFT {
            x = LEFT;
            y += 18.0;
        }
        match kind {
            Swatch::Line => {
                let _ = write!(
                    out,
                    "<path class=\"legend\" d=\"M{:.1} {:.1}h20\" stroke=\"{c}\" \
                     stroke-width=\"3\"/>",
                    x,
                    y - 4.0,
                    c = esc(color)
                );
            }
            Swatch::Dashed => {
                let _ = write!(
                    out,
                    "<path class=\"legend\" d=\"M{:.1} {:.1}h20\" stroke=\"{c}\" \
                     stroke-width=\"2\" stroke-dasharray=\"5 3\"/>",
                    x,
                    y - 4.0,
                    c = esc(color)
                );
            }
            Swatch::Marker => {
                let _ = write!(
                    out,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4.5\" fill=\"{c}\"/>",
                    x + 10.0,
                    y - 4.0,
                    c = esc(color)
                );
            }
            Swatch::Box => {
                let _ = write!(
                    out,
                    "<rect class=\"legend\" x=\"{:.1}\" y=\"{:.1}\" width=\"14\" height=\"12\" \
                     fill=\"{c}\"/>",
                    x + 3.0,
                    y - 10.0,
                    c = esc(color)
                );
            }
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{y:.1}\" font-size=\"12\" fill=\"#333\" {FONT}>{}</text>",
            x + 26.0,
            esc(name)
        );
        x += item_w;
    }
    y + 20.0
}

enum Swatch {
    Line,
    Dashed,
    Marker,
    Box,
}

fn open() -> String {
    format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" \
         width=\"{W}\" height=\"{H}\" role=\"img\">\
         <rect x=\"0\" y=\"0\" width=\"{W}\" height=\"{H}\" fill=\"#fff\"/>"
    )
}

/// Grid, ticks and axis labels for a plot area.
fn axes(out: &mut String, top: f64, x: Option<&Scale>, y: &Scale, x_label: &str, y_label: &str) {
    let mut grid = String::new();
    for (v, label) in &y.ticks {
        let py = y.px(*v, BOTTOM, top);
        let _ = write!(grid, "M{LEFT} {py:.1}H{RIGHT}");
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"#444\" \
             {FONT}>{}</text>",
            LEFT - 6.0,
            py + 4.0,
            esc(label)
        );
    }
    if let Some(x) = x {
        for (v, label) in &x.ticks {
            let px = x.px(*v, LEFT, RIGHT);
            let _ = write!(grid, "M{px:.1} {top:.1}V{BOTTOM}");
            let _ = write!(
                out,
                "<text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\" \
                 fill=\"#444\" {FONT}>{}</text>",
                BOTTOM + 17.0,
                esc(label)
            );
        }
    }
    let _ = write!(
        out,
        "<path class=\"grid\" d=\"{grid}\" stroke=\"#e6e6e6\" stroke-width=\"1\" fill=\"none\"/>\
         <path class=\"axis\" d=\"M{LEFT} {top:.1}V{BOTTOM}H{RIGHT}\" stroke=\"#333\" \
         stroke-width=\"1.2\" fill=\"none\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"13\" fill=\"#222\" \
         {FONT}>{}</text>\
         <text transform=\"translate(18 {:.1}) rotate(-90)\" text-anchor=\"middle\" \
         font-size=\"13\" fill=\"#222\" {FONT}>{}</text>",
        (LEFT + RIGHT) / 2.0,
        H - 12.0,
        esc(x_label),
        (top + BOTTOM) / 2.0,
        esc(y_label)
    );
}

fn no_data(out: &mut String, top: f64) {
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"14\" fill=\"#888\" \
         {FONT}>no data</text>",
        (LEFT + RIGHT) / 2.0,
        (top + BOTTOM) / 2.0
    );
}

/// x of a percentile on HdrHistogram's plot: log10(1 / (1 - q)), so 90%,
/// 99%, 99.9% are evenly spaced. 100% has no place on that axis; it is drawn
/// where one sample in `count` is left, 1 - 1/count.
pub fn percentile_x(q: f64, count: u64) -> f64 {
    let last = (count.max(1) as f64).log10();
    if q >= 1.0 {
        last
    } else {
        (1.0 / (1.0 - q.max(0.0))).log10().min(last.max(0.0))
    }
}

/// Escape text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A number with at most 3 significant decimals: 0.25, 12.3, 1500.
pub fn short(v: f64) -> String {
    let d = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else if v.abs() >= 1.0 {
        2
    } else {
        3
    };
    let s = format!("{v:.d$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        let s = Scale::linear(0.0, 937.0);
        let labels: Vec<&str> = s.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["0", "200", "400", "600", "800", "1000"]);
        let s = Scale::linear(0.0, 0.9);
        assert_eq!(s.ticks[1].1, "0.2");
        let s = Scale::linear(0.0, 23_500.0);
        let labels: Vec<&str> = s.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["0", "5k", "10k", "15k", "20k", "25k"]);
        // No data at all still gives a usable axis.
        assert!(Scale::linear(0.0, 0.0).ticks.len() >= 2);
    }

    #[test]
    fn percentile_and_log_axes() {
        let s = Scale::percentile(2.7);
        let labels: Vec<&str> = s.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%"]);
        let s = Scale::percentile(5.0);
        assert_eq!(s.ticks[5].1, "99.999%");
        let s = Scale::log(1.2, 600.0);
        assert_eq!(s.lo, 1.0);
        assert_eq!(s.hi, 1000.0);
        assert!(s.ticks.iter().any(|t| t.1 == "50"));
    }
}
