//! The funnel: documents and bytes in and out of every stage, what the read stage
//! quarantined, and for each filter the documents each rule removed with sample ids.

use std::fmt::Write as _;

use super::html::{bytes, count, escape, percent};
use super::svg::{Bar, bar_chart};
use crate::engine::summary::RunSummary;

pub fn funnel_section(html: &mut String, summary: &RunSummary) {
    html.push_str("<h2>Funnel</h2><table class=\"funnel\"><tr><th>stage</th><th>operator</th><th>docs in</th><th>docs out</th><th>bytes in</th><th>bytes out</th></tr>");
    for stage in &summary.stages {
        let _ = write!(
            html,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&stage.name),
            escape(&stage.operator),
            count(stage.rows_in),
            count(stage.rows_out),
            bytes(stage.text_bytes_in),
            bytes(stage.text_bytes_out)
        );
    }
    html.push_str("</table>");
    if !summary.read.rejected_by_reason.is_empty() {
        html.push_str(
            "<h3>Quarantined while reading</h3><table><tr><th>reason</th><th>records</th></tr>",
        );
        for (reason, n) in &summary.read.rejected_by_reason {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(reason),
                count(*n)
            );
        }
        html.push_str("</table><ul class=\"muted\">");
        for record in &summary.read.rejected_samples {
            let _ = write!(
                html,
                "<li><code>{}</code> at {}: {}</li>",
                escape(&record.file.display().to_string()),
                record.position,
                escape(&record.message)
            );
        }
        html.push_str("</ul>");
    }
    for stage in &summary.stages {
        let Some(filter) = &stage.filter else {
            continue;
        };
        let _ = write!(
            html,
            "<h3>Filter <code>{}</code>: kept {} of {} documents ({}), {} of {}</h3>",
            escape(&stage.name),
            count(filter.kept_docs),
            count(filter.input_docs),
            percent(filter.kept_docs, filter.input_docs),
            bytes(filter.kept_bytes),
            bytes(filter.input_bytes)
        );
        let mut bars: Vec<Bar> = filter
            .rules
            .iter()
            .map(|rule| Bar {
                label: format!("removed by {}", rule.name),
                value: rule.removed_docs as f64,
                caption: format!(
                    "{} docs ({})",
                    count(rule.removed_docs),
                    percent(rule.removed_docs, filter.input_docs)
                ),
            })
            .collect();
        bars.push(Bar {
            label: "removed (any rule)".into(),
            value: filter.removed_docs as f64,
            caption: format!(
                "{} docs ({})",
                count(filter.removed_docs),
                percent(filter.removed_docs, filter.input_docs)
            ),
        });
        bars.push(Bar {
            label: "kept".into(),
            value: filter.kept_docs as f64,
            caption: format!(
                "{} docs ({})",
                count(filter.kept_docs),
                percent(filter.kept_docs, filter.input_docs)
            ),
        });
        html.push_str(&bar_chart(
            &format!("filter {}", stage.name),
            &bars,
            "#c0504d",
        ));
        html.push_str("<table class=\"rules\"><tr><th>rule</th><th>keeps rows where</th><th>docs removed</th><th>bytes removed</th><th>sample removed ids</th></tr>");
        for rule in &filter.rules {
            let _ = write!(
                html,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                escape(&rule.name),
                escape(&rule.keep),
                count(rule.removed_docs),
                bytes(rule.removed_bytes),
                escape(&rule.sample_ids.join(", "))
            );
        }
        let _ = write!(
            html,
            "<tr><th>total (each document once)</th><th></th><th>{}</th><th>{}</th><th></th></tr></table>\
             <p class=\"muted\">A document failing several rules counts under each rule and once in the total.</p>",
            count(filter.removed_docs),
            bytes(filter.removed_bytes)
        );
    }
}
