use super::*;
use std::fmt::Write as _;

impl BarChart {
    pub fn new(title: &str, x_label: &str, y_label: &str) -> BarChart {
        BarChart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            categories: Vec::new(),
            series: Vec::new(),
            bar_colors: None,
            legend: Vec::new(),
            value_label: short,
        }
    }

    pub fn render(&self) -> String {
        let values = || {
            self.series
                .iter()
                .flat_map(|s| s.values.iter().flatten().copied())
                .filter(|v| v.is_finite())
        };
        let has_data = values().next().is_some() && !self.categories.is_empty();
        let y = Scale::linear(0.0, values().fold(0.0, f64::max) * 1.1);
        let legend: Vec<(String, String, Swatch)> = if self.legend.is_empty() {
            self.series
                .iter()
                .map(|s| (s.name.clone(), s.color.clone(), Swatch::Box))
                .collect()
        } else {
            self.legend
                .iter()
                .map(|(n, c)| (n.clone(), c.clone(), Swatch::Box))
                .collect()
        };
        let mut out = open();
        let top = header(&mut out, &self.title, &legend);
        axes(&mut out, top, None, &y, &self.x_label, &self.y_label);
        if !has_data {
            no_data(&mut out, top);
            out.push_str("</svg>");
            return out;
        }
        let slot = (RIGHT - LEFT) / self.categories.len() as f64;
        let n = self.series.len().max(1) as f64;
        let group = slot * 0.8;
        let bar = (group / n).min(90.0);
        let used = bar * n;
        for (ci, cat) in self.categories.iter().enumerate() {
            let x0 = LEFT + slot * ci as f64 + (slot - used) / 2.0;
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\" \
                 fill=\"#444\" {FONT}>{}</text>",
                LEFT + slot * (ci as f64 + 0.5),
                BOTTOM + 17.0,
                esc(cat)
            );
            for (si, s) in self.series.iter().enumerate() {
                let bx = x0 + bar * si as f64;
                let cx = bx + bar / 2.0;
                let color = self
                    .bar_colors
                    .as_ref()
                    .and_then(|c| c.get(ci))
                    .unwrap_or(&s.color);
                match s
                    .values
                    .get(ci)
                    .copied()
                    .flatten()
                    .filter(|v| v.is_finite())
                {
                    Some(v) => {
                        let py = y.px(v, BOTTOM, top);
                        // A zero still shows as a hairline, so the bar is visibly there.
                        let h = (BOTTOM - py).max(1.0);
                        let _ = write!(
                            out,
                            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" \
                             height=\"{h:.1}\" fill=\"{}\"><title>{}: {}</title></rect>\
                             <text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
                             font-size=\"11\" fill=\"#222\" {FONT}>{}</text>",
                            bx + 1.0,
                            BOTTOM - h,
                            (bar - 2.0).max(1.0),
                            esc(color),
                            esc(&s.name),
                            esc(&(self.value_label)(v)),
                            BOTTOM - h - 4.0,
                            esc(&(self.value_label)(v))
                        );
                    }
                    None => {
                        let _ = write!(
                            out,
                            "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
                             font-size=\"11\" fill=\"#888\" {FONT}>n/a</text>",
                            BOTTOM - 4.0
                        );
                    }
                }
            }
        }
        out.push_str("</svg>");
        out
    }
}
