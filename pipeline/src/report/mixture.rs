//! The run's mixture: weights, tokens, documents and epochs per domain.

use std::fmt::Write as _;

use super::html::{count, escape};
use super::svg::{Bar, bar_chart};
use crate::engine::summary::RunSummary;

pub fn mixture_section(html: &mut String, summary: &RunSummary) {
    let mixture = &summary.mixture;
    let _ = write!(
        html,
        "<h2>Mixture</h2><p>Method <code>{}</code> over {} domains, {} tokens.</p>",
        escape(&mixture.method),
        mixture.domains.len(),
        count(mixture.total_tokens)
    );
    let bars: Vec<Bar> = mixture
        .domains
        .iter()
        .map(|d| Bar {
            label: d.domain.clone(),
            value: d.weight,
            caption: format!("{:.1}% · {} tokens", d.weight * 100.0, count(d.tokens)),
        })
        .collect();
    html.push_str(&bar_chart("mixture weights", &bars, "#4f81bd"));
    html.push_str("<table><tr><th>domain</th><th>weight</th><th>tokens</th><th>documents</th><th>epochs</th></tr>");
    for d in &mixture.domains {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{:.4}</td><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
            escape(&d.domain),
            d.weight,
            count(d.tokens),
            count(d.documents),
            d.epochs
        );
    }
    html.push_str("</table>");
}
