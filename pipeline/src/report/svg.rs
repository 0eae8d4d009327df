//! Inline SVG charts for the reports: horizontal bar charts, paired bars, line charts and
//! scatter plots with labelled axes, drawn without scripts or external resources.

use super::html::escape;

/// One bar: label on the left, value as bar length, caption after the bar.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub caption: String,
}

const LABEL_WIDTH: f64 = 290.0;
const BAR_WIDTH: f64 = 400.0;
const CAPTION_WIDTH: f64 = 220.0;
const ROW_HEIGHT: f64 = 24.0;

/// A horizontal bar chart; bars are scaled to the largest value.
pub fn bar_chart(title: &str, bars: &[Bar], color: &str) -> String {
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let height = ROW_HEIGHT * bars.len() as f64 + 8.0;
    let width = LABEL_WIDTH + BAR_WIDTH + CAPTION_WIDTH;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">",
        escape(title)
    );
    for (row, bar) in bars.iter().enumerate() {
        let y = row as f64 * ROW_HEIGHT + 4.0;
        let length = if max > 0.0 {
            (bar.value / max * BAR_WIDTH).max(if bar.value > 0.0 { 1.0 } else { 0.0 })
        } else {
            0.0
        };
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text>\
             <rect x=\"{LABEL_WIDTH}\" y=\"{y}\" width=\"{length:.1}\" height=\"{}\" fill=\"{color}\"><title>{}: {}</title></rect>\
             <text x=\"{}\" y=\"{}\" class=\"value\">{}</text>",
            LABEL_WIDTH - 8.0,
            y + 16.0,
            escape(&bar.label),
            ROW_HEIGHT - 6.0,
            escape(&bar.label),
            escape(&bar.caption),
            LABEL_WIDTH + length + 6.0,
            y + 16.0,
            escape(&bar.caption)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// A line chart of `points` (x and y both in [0, 1]) with a dashed vertical marker at
/// `marker_x`, e.g. an LSH S-curve and its threshold.
pub fn unit_line_chart(
    title: &str,
    points: &[(f64, f64)],
    marker_x: f64,
    x_label: &str,
    y_label: &str,
) -> String {
    const W: f64 = 420.0;
    const H: f64 = 240.0;
    const LEFT: f64 = 48.0;
    const BOTTOM: f64 = 36.0;
    let (plot_w, plot_h) = (W - LEFT - 12.0, H - BOTTOM - 10.0);
    let x = |v: f64| LEFT + v * plot_w;
    let y = |v: f64| 10.0 + (1.0 - v) * plot_h;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\">\
         <rect x=\"{LEFT}\" y=\"10\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" stroke=\"#ccc\"/>",
        escape(title)
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"value\">{tick}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"value\">{tick}</text>",
            x(tick),
            H - BOTTOM + 16.0,
            LEFT - 6.0,
            y(tick) + 4.0
        ));
    }
    let path: Vec<String> = points
        .iter()
        .map(|&(px, py)| format!("{:.1},{:.1}", x(px), y(py)))
        .collect();
    svg.push_str(&format!(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#2c5aa0\" stroke-width=\"2\"/>\
         <line x1=\"{mx:.1}\" y1=\"10\" x2=\"{mx:.1}\" y2=\"{:.1}\" stroke=\"#e67e22\" stroke-dasharray=\"4 3\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"label\">{}</text>\
         <text x=\"12\" y=\"{:.1}\" transform=\"rotate(-90 12 {:.1})\" text-anchor=\"middle\" class=\"label\">{}</text></svg>",
        path.join(" "),
        10.0 + plot_h,
        LEFT + plot_w / 2.0,
        H - 4.0,
        escape(x_label),
        10.0 + plot_h / 2.0,
        10.0 + plot_h / 2.0,
        escape(y_label),
        mx = x(marker_x),
    ));
    svg
}

/// Axes mapping data ranges onto a plot area, with tick labels.
struct Axes {
    x_range: (f64, f64),
    y_range: (f64, f64),
}

const PLOT_W: f64 = 460.0;
const PLOT_H: f64 = 280.0;
const PLOT_LEFT: f64 = 58.0;
const PLOT_BOTTOM: f64 = 40.0;
const PLOT_TOP: f64 = 10.0;

impl Axes {
    /// Ranges padded by 4% so points do not sit on the frame.
    fn around(xs: impl Iterator<Item = f64>, ys: impl Iterator<Item = f64>) -> Self {
        fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
            let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
            for v in values.filter(|v| v.is_finite()) {
                low = low.min(v);
                high = high.max(v);
            }
            if !low.is_finite() {
                return (0.0, 1.0);
            }
            let pad = ((high - low) * 0.04).max(1e-9);
            (low - pad, high + pad)
        }
        Self {
            x_range: range(xs),
            y_range: range(ys),
        }
    }

    fn width(&self) -> f64 {
        PLOT_W - PLOT_LEFT - 12.0
    }

    fn height(&self) -> f64 {
        PLOT_H - PLOT_BOTTOM - PLOT_TOP
    }

    fn x(&self, v: f64) -> f64 {
        PLOT_LEFT + (v - self.x_range.0) / (self.x_range.1 - self.x_range.0) * self.width()
    }

    fn y(&self, v: f64) -> f64 {
        PLOT_TOP + (1.0 - (v - self.y_range.0) / (self.y_range.1 - self.y_range.0)) * self.height()
    }

    /// The frame, five ticks per axis and the axis labels.
    fn open(&self, title: &str, x_label: &str, y_label: &str) -> String {
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" width=\"{PLOT_W}\" height=\"{PLOT_H}\" viewBox=\"0 0 {PLOT_W} {PLOT_H}\">\
             <rect x=\"{PLOT_LEFT}\" y=\"{PLOT_TOP}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#ccc\"/>",
            escape(title),
            self.width(),
            self.height()
        );
        for i in 0..5 {
            let t = i as f64 / 4.0;
            let xv = self.x_range.0 + t * (self.x_range.1 - self.x_range.0);
            let yv = self.y_range.0 + t * (self.y_range.1 - self.y_range.0);
            svg.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"value\">{}</text>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"value\">{}</text>",
                self.x(xv),
                PLOT_H - PLOT_BOTTOM + 16.0,
                tick(xv),
                PLOT_LEFT - 6.0,
                self.y(yv) + 4.0,
                tick(yv)
            ));
        }
        let middle_y = PLOT_TOP + self.height() / 2.0;
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"label\">{}</text>\
             <text x=\"12\" y=\"{middle_y:.1}\" transform=\"rotate(-90 12 {middle_y:.1})\" text-anchor=\"middle\" class=\"label\">{}</text>",
            PLOT_LEFT + self.width() / 2.0,
            PLOT_H - 6.0,
            escape(x_label),
            escape(y_label)
        ));
        svg
    }
}

/// A tick label with three significant digits.
fn tick(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e4 || v.abs() < 1e-2) {
        format!("{v:.2e}")
    } else {
        format!("{:.3}", v)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// Predicted against actual values, with the identity line.
pub fn scatter_chart(title: &str, points: &[(f64, f64)], x_label: &str, y_label: &str) -> String {
    let all = points.iter().flat_map(|&(x, y)| [x, y]);
    let axes = Axes::around(all.clone(), all);
    let mut svg = axes.open(title, x_label, y_label);
    let (low, high) = axes.x_range;
    svg.push_str(&format!(
        "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#e67e22\" stroke-dasharray=\"4 3\"/>",
        axes.x(low),
        axes.y(low),
        axes.x(high),
        axes.y(high)
    ));
    for &(x, y) in points
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
    {
        svg.push_str(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"#2c5aa0\" fill-opacity=\"0.6\"/>",
            axes.x(x),
            axes.y(y)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// One point of a [`group_scatter_chart`]: its area grows with `weight`.
#[derive(Debug, Clone)]
pub struct Dot {
    pub x: f64,
    pub y: f64,
    pub weight: f64,
    /// Index into the chart's groups.
    pub group: usize,
    pub title: String,
}

/// Colors of groups, in order; groups past the end reuse them.
pub const PALETTE: [&str; 10] = [
    "#2c5aa0", "#e67e22", "#27ae60", "#8e44ad", "#c0392b", "#16a085", "#d4ac0d", "#7f8c8d",
    "#e84393", "#34495e",
];

/// Points colored by group with a legend; each group is `(name, color)`.
pub fn group_scatter_chart(
    title: &str,
    dots: &[Dot],
    groups: &[(String, &str)],
    x_label: &str,
    y_label: &str,
) -> String {
    let axes = Axes::around(dots.iter().map(|d| d.x), dots.iter().map(|d| d.y));
    let mut svg = axes.open(title, x_label, y_label);
    let heaviest = dots.iter().map(|d| d.weight).fold(0.0_f64, f64::max);
    for dot in dots.iter().filter(|d| d.x.is_finite() && d.y.is_finite()) {
        let radius = if heaviest > 0.0 {
            2.0 + 8.0 * (dot.weight / heaviest).sqrt()
        } else {
            3.0
        };
        let color = groups.get(dot.group).map_or("#999", |g| g.1);
        svg.push_str(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{radius:.1}\" fill=\"{color}\" fill-opacity=\"0.55\"><title>{}</title></circle>",
            axes.x(dot.x),
            axes.y(dot.y),
            escape(&dot.title)
        ));
    }
    for (index, (name, color)) in groups.iter().enumerate() {
        let legend_y = PLOT_TOP + 14.0 + 16.0 * index as f64;
        svg.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{:.1}\" class=\"label\">{}</text>",
            PLOT_LEFT + 10.0,
            legend_y - 9.0,
            PLOT_LEFT + 24.0,
            legend_y,
            escape(name)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// One named line of a [`line_chart`].
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub points: Vec<(f64, f64)>,
}

/// Lines with markers and a legend; `log_x` spaces x by its logarithm (sizes that double).
pub fn line_chart(
    title: &str,
    series: &[Series],
    x_label: &str,
    y_label: &str,
    log_x: bool,
) -> String {
    let fx = |x: f64| if log_x { x.log2() } else { x };
    let axes = Axes::around(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(move |p| fx(p.0))),
        series.iter().flat_map(|s| s.points.iter().map(|p| p.1)),
    );
    let mut svg = axes.open(title, x_label, y_label);
    if log_x {
        // Replace the bottom ticks by the data's own x values.
        let xs: std::collections::BTreeSet<u64> = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0.to_bits()))
            .collect();
        svg = svg
            .split("<text")
            .enumerate()
            .filter(|(i, part)| *i == 0 || !part.contains("text-anchor=\"middle\" class=\"value\""))
            .map(|(i, part)| {
                if i == 0 {
                    part.to_string()
                } else {
                    format!("<text{part}")
                }
            })
            .collect();
        for bits in xs {
            let x = f64::from_bits(bits);
            svg.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"value\">{}</text>",
                axes.x(fx(x)),
                PLOT_H - PLOT_BOTTOM + 16.0,
                tick(x)
            ));
        }
    }
    for (index, line) in series.iter().enumerate() {
        let path: Vec<String> = line
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", axes.x(fx(x)), axes.y(y)))
            .collect();
        svg.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
            path.join(" "),
            line.color
        ));
        for &(x, y) in &line.points {
            svg.push_str(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"><title>{}: {} → {}</title></circle>",
                axes.x(fx(x)),
                axes.y(y),
                line.color,
                escape(&line.name),
                tick(x),
                tick(y)
            ));
        }
        let legend_y = PLOT_TOP + 14.0 + 16.0 * index as f64;
        svg.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\" class=\"label\">{}</text>",
            PLOT_LEFT + 10.0,
            legend_y - 9.0,
            line.color,
            PLOT_LEFT + 24.0,
            legend_y,
            escape(&line.name)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Two bars per label (e.g. a searched mixture against the natural one), one color each.
pub fn paired_bar_chart(title: &str, rows: &[(String, f64, f64)], names: (&str, &str)) -> String {
    const PAIR_HEIGHT: f64 = 30.0;
    let max = rows
        .iter()
        .flat_map(|r| [r.1, r.2])
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let height = PAIR_HEIGHT * rows.len() as f64 + 30.0;
    let width = LABEL_WIDTH + BAR_WIDTH + 80.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\
         <rect x=\"{LABEL_WIDTH}\" y=\"2\" width=\"10\" height=\"10\" fill=\"#2c5aa0\"/><text x=\"{}\" y=\"11\" class=\"label\">{}</text>\
         <rect x=\"{}\" y=\"2\" width=\"10\" height=\"10\" fill=\"#bbb\"/><text x=\"{}\" y=\"11\" class=\"label\">{}</text>",
        escape(title),
        LABEL_WIDTH + 14.0,
        escape(names.0),
        LABEL_WIDTH + 160.0,
        LABEL_WIDTH + 174.0,
        escape(names.1)
    );
    for (row, (label, first, second)) in rows.iter().enumerate() {
        let y = 24.0 + row as f64 * PAIR_HEIGHT;
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" class=\"label\">{}</text>",
            LABEL_WIDTH - 8.0,
            y + 16.0,
            escape(label)
        ));
        for (offset, value, color) in [(0.0, first, "#2c5aa0"), (12.0, second, "#bbb")] {
            let length = value / max * BAR_WIDTH;
            svg.push_str(&format!(
                "<rect x=\"{LABEL_WIDTH}\" y=\"{:.1}\" width=\"{length:.1}\" height=\"11\" fill=\"{color}\"><title>{}: {value:.4}</title></rect>\
                 <text x=\"{:.1}\" y=\"{:.1}\" class=\"value\">{value:.4}</text>",
                y + offset,
                escape(label),
                LABEL_WIDTH + length + 4.0,
                y + offset + 10.0
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_labels_are_escaped() {
        let svg = bar_chart(
            "t",
            &[
                Bar {
                    label: "a<b".into(),
                    value: 2.0,
                    caption: "2".into(),
                },
                Bar {
                    label: "c".into(),
                    value: 1.0,
                    caption: "1".into(),
                },
            ],
            "#336",
        );
        assert!(svg.contains("width=\"400.0\""));
        assert!(svg.contains("width=\"200.0\""));
        assert!(svg.contains("a&lt;b"));
        assert!(!svg.contains("a<b"));
    }

    #[test]
    fn line_chart_maps_the_unit_square() {
        let svg = unit_line_chart("s", &[(0.0, 0.0), (1.0, 1.0)], 0.5, "x", "y");
        assert!(svg.contains("points=\"48.0,204.0 408.0,10.0\""), "{svg}");
        assert!(svg.contains("x1=\"228.0\""));
    }

    #[test]
    fn scatter_puts_points_on_the_identity_line_diagonal() {
        let svg = scatter_chart("p", &[(1.0, 1.0), (2.0, 2.0)], "actual", "predicted");
        assert_eq!(svg.matches("<circle").count(), 2);
        // Equal axes: each point's cx and cy sit on the dashed identity line's ends.
        assert!(svg.contains("cx=\"72.4\" cy=\"231.5\""), "{svg}");
    }

    #[test]
    fn line_chart_labels_log_ticks_by_data_values() {
        let series = [Series {
            name: "lightgbm".into(),
            color: "#000",
            points: vec![(32.0, 0.9), (64.0, 0.95), (128.0, 0.97)],
        }];
        let svg = line_chart("c", &series, "runs", "rho", true);
        assert!(
            svg.contains(">32</text>") && svg.contains(">128</text>"),
            "{svg}"
        );
        assert_eq!(svg.matches("<circle").count(), 3);
    }

    #[test]
    fn paired_bars_scale_together() {
        let svg = paired_bar_chart("m", &[("a".into(), 0.5, 0.25)], ("searched", "natural"));
        assert!(
            svg.contains("width=\"400.0\"") && svg.contains("width=\"200.0\""),
            "{svg}"
        );
    }
}
