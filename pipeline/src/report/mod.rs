//! The HTML report: one self-contained file (inline CSS and SVG, no scripts, no network)
//! with the run's inputs, warnings, the stage funnel (documents and bytes kept and removed
//! per rule, with sample ids), the mixture, the tokenizer and the shards.

mod bpe_inference;
mod domains;
mod mixture_search;
mod near_duplicates;
mod proxy_search;
mod quality_rules;
mod quality_scores;
mod svg;

pub use bpe_inference::{render_eval_report, render_inference_report};
pub use mixture_search::{MixReport, render_mix_report};
pub use proxy_search::render_proxy_search_report;

use std::fmt::Write as _;

use domains::domains_section;
use near_duplicates::near_duplicates_section;
use quality_rules::quality_rules_section;
use quality_scores::{language_section, quality_score_section};
use svg::{Bar, bar_chart};

use crate::summary::RunSummary;

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

pub(crate) fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1000px;color:#222;padding:0 1rem}\
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}\
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}\
td:first-child,th:first-child{text-align:left}th{background:#f4f4f4}.warn{background:#fff4e5;border-left:4px solid #e67e22;padding:.5rem 1rem;margin:.5rem 0}\
.muted{color:#666;font-size:.85rem}code{font-size:.85rem}svg .label{font-size:12px;fill:#333}svg .value{font-size:12px;fill:#555}\
.funnel :is(td,th):nth-child(2),.rules :is(td,th):nth-child(2),.rules :is(td,th):nth-child(5),.shards :is(td,th):nth-child(2),.shards :is(td,th):nth-child(5),.shards :is(td,th):nth-child(6){text-align:left}.domains :is(td,th):nth-child(2){text-align:left}\
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;min-width:9rem}.card b{display:block;font-size:1.3rem}";

/// Renders the report of a run.
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

pub fn render_report(summary: &RunSummary) -> String {
    let mut html = String::new();
    let read = &summary.stages[0];
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>blend report: {name}</title><style>{STYLE}</style></head><body>\
         <h1>blend report: {name}</h1><p class=\"muted\">blend {version} · seed {seed} · output stage <code>{output}</code></p>",
        name = escape(&summary.pipeline),
        version = escape(&summary.blend_version),
        seed = summary.seed,
        output = escape(&summary.output_stage),
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
    shards_section(&mut html, summary);
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

fn funnel_section(html: &mut String, summary: &RunSummary) {
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

fn mixture_section(html: &mut String, summary: &RunSummary) {
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

fn shards_section(html: &mut String, summary: &RunSummary) {
    let shards = &summary.shards;
    let tokenizer = &shards.tokenizer;
    let formats: Vec<&str> = shards.formats.iter().map(|f| f.name()).collect();
    let _ = write!(
        html,
        "<h2>Shards</h2><p>Formats <code>{}</code> ({:?} tokens, EOS <code>{}</code> = {} after every document) in <code>{}</code>. \
         Tokenizer <code>{}</code> ({}; vocabulary {}; sha256 <code>{}</code>).</p>",
        escape(&formats.join(", ")),
        shards.dtype,
        escape(&tokenizer.eos_token),
        tokenizer.eos_id,
        escape(&summary.shards_dir.display().to_string()),
        escape(&tokenizer.name),
        if summary.tokenizer_trained {
            "trained on this corpus"
        } else {
            "loaded"
        },
        count(tokenizer.vocab_size),
        escape(&tokenizer.sha256[..16.min(tokenizer.sha256.len())])
    );
    html.push_str("<table class=\"shards\"><tr><th>shard</th><th>split</th><th>documents</th><th>tokens</th><th>first file sha256</th><th>tokens per domain</th></tr>");
    for shard in &shards.shards {
        let per_domain: Vec<String> = shard
            .tokens_per_domain
            .iter()
            .map(|(d, t)| format!("{d}: {}", count(*t)))
            .collect();
        let sha = shard
            .files
            .first()
            .map(|f| &f.sha256[..16.min(f.sha256.len())])
            .unwrap_or("");
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            escape(&shard.name),
            escape(&shard.split),
            count(shard.documents),
            count(shard.tokens),
            escape(sha),
            escape(&per_domain.join(" · "))
        );
    }
    html.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_helpers() {
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(12), "12");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(2048), "2.0 KiB");
        assert_eq!(percent(1, 4), "25.0%");
        assert_eq!(
            escape("<a href='x'>&</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
