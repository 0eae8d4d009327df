//! The HTML report of a pipeline run: one self-contained file (see [`html`]) with the run's
//! inputs, warnings, the stage funnel (documents and bytes kept and removed per rule, with
//! sample ids), near duplicates, quality rules and scores, languages, domains, the mixture and
//! the shards; one file per section. It reads only the engine's [`RunSummary`] (and the
//! summaries operators leave in it). `mixture_search` renders the pages of `blend mix`.

mod costs;
mod domains;
pub mod figures;
mod funnel;
pub(crate) mod html;
mod method_runs;
mod mixture;
mod mixture_choice;
mod mixture_search;
mod near_duplicates;
mod proxy_runs;
mod quality_rules;
mod quality_scores;
mod shards;
pub(crate) mod svg;

pub use mixture_search::{MixReport, render_mix_report};
pub use proxy_runs::{ProxyRuns, proxies_section};

use std::fmt::Write as _;

use costs::costs_section;
use domains::domains_section;
use figures::ReportFigures;
use funnel::funnel_section;
use html::{count, escape, page_start};
use mixture::mixture_section;
use mixture_choice::mixture_choice_section;
use near_duplicates::near_duplicates_section;
use quality_rules::quality_rules_section;
use quality_scores::{language_section, quality_score_section};
use shards::shards_section;

use crate::engine::summary::RunSummary;

/// The stages running `operator` whose summary reads as `T`, with their names.
pub(crate) fn stage_summaries<'a, T: serde::de::DeserializeOwned>(
    summary: &'a RunSummary,
    operator: &str,
) -> Vec<(&'a str, T)> {
    summary
        .stages
        .iter()
        .filter(|s| s.operator == operator)
        .filter_map(|s| {
            let found = serde_json::from_value(s.operator_summary.clone()?).ok()?;
            Some((s.name.as_str(), found))
        })
        .collect()
}

/// Renders the report of a run.
pub fn render_report(summary: &RunSummary) -> String {
    let mut html = String::new();
    let read = &summary.stages[0];
    page_start(
        &mut html,
        &format!("blend report: {}", summary.pipeline),
        &format!(
            "blend {} · seed {} · output stage <code>{}</code>",
            escape(&summary.blend_version),
            summary.seed,
            escape(&summary.output_stage)
        ),
    );
    let shards = &summary.shards;
    let _ = write!(
        html,
        "<div class=\"cards\"><div class=\"card\">input files<b>{}</b></div><div class=\"card\">documents read<b>{}</b></div>\
         <div class=\"card\">documents kept<b>{}</b></div><div class=\"card\">tokens<b>{}</b></div><div class=\"card\">shards<b>{}</b></div></div>",
        count(summary.read.files.len() as u64),
        count(read.rows_out),
        count(shards.total_documents),
        count(shards.total_tokens),
        count(shards.shards.len() as u64),
    );
    if !summary.warnings.is_empty() {
        html.push_str("<h2>Warnings</h2>");
        for warning in &summary.warnings {
            let _ = write!(html, "<div class=\"warn\">{}</div>", escape(warning));
        }
    }
    funnel_section(&mut html, summary);
    near_duplicates_section(&mut html, summary);
    quality_rules_section(&mut html, summary);
    language_section(&mut html, summary);
    quality_score_section(&mut html, summary);
    domains_section(&mut html, summary);
    mixture_section(&mut html, summary);
    mixture_choice_section(&mut html, summary);
    shards_section(&mut html, summary);
    costs_section(&mut html, &ReportFigures::of(summary));
    html.push_str("<h2>Inputs</h2><ul>");
    const LISTED_INPUTS: usize = 50;
    for file in summary.read.files.iter().take(LISTED_INPUTS) {
        let _ = write!(
            html,
            "<li><code>{}</code></li>",
            escape(&file.display().to_string())
        );
    }
    if summary.read.files.len() > LISTED_INPUTS {
        let _ = write!(
            html,
            "<li>… and {} more files (all listed in run_summary.json)</li>",
            count((summary.read.files.len() - LISTED_INPUTS) as u64)
        );
    }
    html.push_str("</ul></body></html>\n");
    html
}
