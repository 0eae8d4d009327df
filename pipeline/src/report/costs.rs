//! Time and memory: each stage's wall time, rows/s, MB/s of input text and peak memory when
//! it was computed, then the steps after the stages (tokenizer, domain sizes, proxies,
//! search, shards). Figures are those kept beside each step, so a resumed run shows what
//! the work cost, not the time it took to find it cached.

use std::fmt::Write as _;

use super::figures::{ReportFigures, StageFigures};
use super::html::{count, escape};

fn seconds(value: Option<f64>) -> String {
    value.map_or("–".into(), |s| format!("{s:.2} s"))
}

fn megabytes(value: Option<f64>) -> String {
    value.map_or("–".into(), |mb| format!("{mb:.0} MB"))
}

pub fn costs_section(html: &mut String, figures: &ReportFigures) {
    if figures.funnel.iter().all(|s| s.seconds.is_none()) && figures.steps.is_empty() {
        return;
    }
    html.push_str(
        "<h2>Time and memory</h2><table><tr><th>stage</th><th>wall</th><th>docs/s</th><th>MB/s</th><th>peak RSS</th></tr>",
    );
    for stage in &figures.funnel {
        stage_row(html, stage);
    }
    html.push_str("</table>");
    if figures.steps.is_empty() {
        return;
    }
    html.push_str("<table><tr><th>step</th><th>wall</th><th>peak RSS</th></tr>");
    for step in &figures.steps {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&step.step),
            seconds(step.seconds),
            megabytes(step.peak_rss_mb)
        );
    }
    html.push_str("</table><p class=\"muted\">Proxy runs keep their training and evaluation time, not their memory. Peak RSS is the whole process's high-water mark while the step ran.</p>");
}

fn stage_row(html: &mut String, stage: &StageFigures) {
    let _ = write!(
        html,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        escape(&stage.stage),
        seconds(stage.seconds),
        stage
            .rows_per_second
            .map_or("–".into(), |r| count(r.round() as u64)),
        stage
            .mb_per_second
            .map_or("–".into(), |m| format!("{m:.1}")),
        megabytes(stage.peak_rss_mb)
    );
}
