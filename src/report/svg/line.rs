use super::*;
use std::fmt::Write as _;

impl LineChart {
    pub fn new(title: &str, x_label: &str, y_label: &str) -> LineChart {
        LineChart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x: Axis::Linear,
            y_log: false,
            series: Vec::new(),
            vlines: Vec::new(),
            hlines: Vec::new(),
        }
    }

    /// Latencies spread over more than two decades (one stalled run
    /// next to fast ones) flatten the fast curves against the axis: plot
    /// them on a log scale instead, and say so on the axis.
    pub fn log_y_when_wide(&mut self) {
        let (lo, hi) = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .filter(|y| y.is_finite() && *y > 0.0)
            .fold((f64::INFINITY, 0.0_f64), |(lo, hi), y| {
                (lo.min(y), hi.max(y))
            });
        if hi / lo > 100.0 {
            self.y_log = true;
            self.y_label = match self.y_label.strip_suffix(')') {
                Some(head) => format!("{head}, log scale)"),
                None => format!("{} (log scale)", self.y_label),
            };
        }
    }

    pub fn render(&self) -> String {
        let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
        let pts = || {
            self.series
                .iter()
                .flat_map(|s| s.points.iter().filter(finite))
        };
        let has_data = pts().next().is_some();
        let xs = pts().map(|p| p.0).chain(self.vlines.iter().map(|r| r.at));
        let x_max = xs.fold(0.0, f64::max);
        let x_min = pts().map(|p| p.0).fold(0.0, f64::min);
        let x = match self.x {
            Axis::Linear => Scale::linear(x_min, x_max),
            Axis::Percentile => Scale::percentile(x_max),
        };
        let ys = pts().map(|p| p.1).chain(self.hlines.iter().map(|r| r.at));
        let y = if self.y_log {
            let pos: Vec<f64> = ys.filter(|v| *v > 0.0).collect();
            let lo = pos.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = pos.iter().copied().fold(0.0, f64::max);
            Scale::log(lo, hi)
        } else {
            let hi = ys.fold(0.0, f64::max) * 1.05;
            Scale::linear(0.0, hi)
        };

        let mut out = open();
        let legend: Vec<(String, String, Swatch)> = self
            .series
            .iter()
            .map(|s| {
                let kind = if !s.line {
                    Swatch::Marker
                } else if s.dashed {
                    Swatch::Dashed
                } else {
                    Swatch::Line
                };
                (s.name.clone(), s.color.clone(), kind)
            })
            .collect();
        let top = header(&mut out, &self.title, &legend);
        axes(&mut out, top, Some(&x), &y, &self.x_label, &self.y_label);
        if !has_data {
            no_data(&mut out, top);
        }
        for r in &self.hlines {
            let py = y.px(r.at, BOTTOM, top);
            let _ = write!(
                out,
                "<path class=\"rule\" d=\"M{LEFT} {py:.1}H{RIGHT}\" stroke=\"{c}\" \
                 stroke-width=\"1.5\" stroke-dasharray=\"6 4\" fill=\"none\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" \
                 fill=\"{c}\" {FONT}>{}</text>",
                RIGHT - 4.0,
                py - 5.0,
                esc(&r.label),
                c = r.color
            );
        }
        for r in &self.vlines {
            let px = x.px(r.at, LEFT, RIGHT);
            // Label on the side of the line with more room.
            let (tx, anchor) = if px > (LEFT + RIGHT) / 2.0 {
                (px - 5.0, "end")
            } else {
                (px + 5.0, "start")
            };
            let _ = write!(
                out,
                "<path class=\"rule\" d=\"M{px:.1} {top:.1}V{BOTTOM}\" stroke=\"{c}\" \
                 stroke-width=\"2\" stroke-dasharray=\"6 4\" fill=\"none\"/>\
                 <text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" font-size=\"12\" \
                 font-weight=\"600\" fill=\"{c}\" {FONT}>{}</text>",
                top + 14.0,
                esc(&r.label),
                c = r.color
            );
        }
        for s in &self.series {
            let p: Vec<(f64, f64)> = s
                .points
                .iter()
                .filter(finite)
                .map(|&(vx, vy)| (x.px(vx, LEFT, RIGHT), y.px(vy, BOTTOM, top)))
                .collect();
            if s.line && !p.is_empty() {
                let mut pts = String::new();
                for (px, py) in &p {
                    let _ = write!(pts, "{px:.1},{py:.1} ");
                }
                let dash = if s.dashed {
                    " stroke-dasharray=\"6 4\""
                } else {
                    ""
                };
                let _ = write!(
                    out,
                    "<polyline class=\"series\" points=\"{}\" fill=\"none\" stroke=\"{}\" \
                     stroke-width=\"2.2\" stroke-linejoin=\"round\"{dash}/>",
                    pts.trim_end(),
                    esc(&s.color)
                );
            }
            if s.markers || p.len() == 1 {
                for (px, py) in &p {
                    let _ = write!(
                        out,
                        "<circle class=\"marker\" cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"4.5\" \
                         fill=\"{}\" stroke=\"#fff\" stroke-width=\"1\"/>",
                        esc(&s.color)
                    );
                }
            }
        }
        out.push_str("</svg>");
        out
    }
}
