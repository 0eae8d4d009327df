//! The report's "Quality rules" section: for every datatrove-style rule stage
//! (`quality.gopher`, `quality.gopher_repetition`, `quality.c4`, `quality.fineweb`), how many
//! documents passed and how many failed at each check (the first failed check counts).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;

use super::html::{count, escape, percent};
use super::svg::{Bar, bar_chart};
use crate::engine::summary::RunSummary;

#[derive(Debug, Deserialize)]
struct RuleSummary {
    passed: u64,
    failed_by_reason: BTreeMap<String, u64>,
}

pub fn quality_rules_section(html: &mut String, summary: &RunSummary) {
    let stages: Vec<(&str, &str, RuleSummary)> = summary
        .stages
        .iter()
        .filter(|s| s.operator.starts_with("quality."))
        .filter_map(|s| {
            let found = serde_json::from_value(s.operator_summary.clone()?).ok()?;
            Some((s.name.as_str(), s.operator.as_str(), found))
        })
        .collect();
    if stages.is_empty() {
        return;
    }
    html.push_str("<h2>Quality rules</h2><p class=\"muted\">Each document counts once per rule, under the first check it fails (datatrove's order and reason names). Rules only add columns; a filter stage removes documents.</p>");
    for (name, operator, found) in stages {
        let failed: u64 = found.failed_by_reason.values().sum();
        let total = found.passed + failed;
        let _ = write!(
            html,
            "<h3><code>{}</code> (<code>{}</code>): {} of {} pass ({})</h3>",
            escape(name),
            escape(operator),
            count(found.passed),
            count(total),
            percent(found.passed, total)
        );
        let mut reasons: Vec<(&String, &u64)> = found.failed_by_reason.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let bars: Vec<Bar> = reasons
            .iter()
            .map(|(reason, n)| Bar {
                label: (*reason).clone(),
                value: **n as f64,
                caption: format!("{} docs ({})", count(**n), percent(**n, total)),
            })
            .collect();
        if !bars.is_empty() {
            html.push_str(&bar_chart(
                "failed documents by first failed check",
                &bars,
                "#c0392b",
            ));
        }
    }
}
