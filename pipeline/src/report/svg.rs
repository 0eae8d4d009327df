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
}
