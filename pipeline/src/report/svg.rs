//! Inline SVG charts for the report: horizontal bar charts with labels and values, drawn
//! without scripts or external resources.

use super::escape;

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
}
