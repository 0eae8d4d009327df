//! The report's "Language" and "Quality classifier" sections: documents per language and
//! the histogram of `lang_score` for every `quality.language` stage, and the histogram of
//! `quality_score` with the model's held-out metrics for every `quality.classifier` stage.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use blend_operators::OperatorSpec;
use blend_operators::quality::classifier::Classifier;
use blend_operators::quality::language::Language;
use blend_operators::quality::score_histogram::ScoreHistogram;
use serde::Deserialize;

use super::html::{count, escape, percent};
use super::stage_summaries;
use super::svg::{Bar, bar_chart};
use crate::engine::summary::RunSummary;

/// Languages drawn one bar each; the rest share one bar.
const LISTED_LANGUAGES: usize = 15;

#[derive(Debug, Deserialize)]
struct LanguageSummary {
    documents_per_language: BTreeMap<String, u64>,
    score_histogram: ScoreHistogram,
}

#[derive(Debug, Deserialize)]
struct ClassifierSummary {
    label: String,
    score_histogram: ScoreHistogram,
    #[serde(default)]
    model: serde_json::Value,
}

fn histogram_bars(histogram: &ScoreHistogram) -> Vec<Bar> {
    let bins = histogram.counts.len();
    histogram
        .counts
        .iter()
        .enumerate()
        .map(|(bin, n)| Bar {
            label: format!(
                "{:.2}–{:.2}",
                bin as f64 / bins as f64,
                (bin + 1) as f64 / bins as f64
            ),
            value: *n as f64,
            caption: format!("{} docs ({})", count(*n), percent(*n, histogram.total)),
        })
        .collect()
}

pub fn language_section(html: &mut String, summary: &RunSummary) {
    let stages: Vec<(&str, LanguageSummary)> = stage_summaries(summary, Language::NAME);
    if stages.is_empty() {
        return;
    }
    html.push_str("<h2>Language</h2><p class=\"muted\">whatlang's answer (ISO 639-3; <code>und</code> = no language found) and its confidence <code>lang_score</code>, before any filtering.</p>");
    for (name, found) in stages {
        let total = found.score_histogram.total;
        let _ = write!(
            html,
            "<h3><code>{}</code>: {} languages in {} documents, mean confidence {:.3}</h3>",
            escape(name),
            found.documents_per_language.len(),
            count(total),
            found.score_histogram.mean().unwrap_or(0.0)
        );
        let mut languages: Vec<(&String, &u64)> = found.documents_per_language.iter().collect();
        languages.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let mut bars: Vec<Bar> = languages
            .iter()
            .take(LISTED_LANGUAGES)
            .map(|(lang, n)| Bar {
                label: (*lang).clone(),
                value: **n as f64,
                caption: format!("{} docs ({})", count(**n), percent(**n, total)),
            })
            .collect();
        let rest: u64 = languages
            .iter()
            .skip(LISTED_LANGUAGES)
            .map(|(_, n)| **n)
            .sum();
        if rest > 0 {
            bars.push(Bar {
                label: format!("{} other languages", languages.len() - LISTED_LANGUAGES),
                value: rest as f64,
                caption: format!("{} docs ({})", count(rest), percent(rest, total)),
            });
        }
        html.push_str("<p class=\"muted\">Documents per language:</p>");
        html.push_str(&bar_chart("documents per language", &bars, "#2e86c1"));
        html.push_str("<p class=\"muted\">Documents by confidence (<code>lang_score</code>):</p>");
        html.push_str(&bar_chart(
            "documents by language confidence (lang_score)",
            &histogram_bars(&found.score_histogram),
            "#5d6d7e",
        ));
    }
}

pub fn quality_score_section(html: &mut String, summary: &RunSummary) {
    let stages: Vec<(&str, ClassifierSummary)> = stage_summaries(summary, Classifier::NAME);
    if stages.is_empty() {
        return;
    }
    html.push_str("<h2>Quality classifier</h2><p class=\"muted\">The fastText-style classifier of <code>blend quality train</code>: each document's probability of the model's positive label, before any filtering.</p>");
    for (name, found) in stages {
        let _ = write!(
            html,
            "<h3><code>{}</code>: P(<code>{}</code>), mean {:.3} over {} documents</h3>",
            escape(name),
            escape(&found.label),
            found.score_histogram.mean().unwrap_or(0.0),
            count(found.score_histogram.total)
        );
        if let Some(training) = model_training_line(&found.model) {
            let _ = write!(html, "<p>{training}</p>");
        }
        html.push_str("<p class=\"muted\">Documents by score:</p>");
        html.push_str(&bar_chart(
            "documents by quality score",
            &histogram_bars(&found.score_histogram),
            "#27ae60",
        ));
    }
}

/// "Trained on …; held-out ROC-AUC …" from the metadata `blend quality train` saved.
fn model_training_line(model: &serde_json::Value) -> Option<String> {
    let per_label = model.get("documents_per_label")?.as_object()?;
    let labels: Vec<String> = per_label
        .iter()
        .map(|(label, n)| format!("{} {}", escape(label), n))
        .collect();
    let mut line = format!(
        "Model trained on {} of the labeled documents ({})",
        count(model.get("model_documents")?.as_u64()?),
        labels.join(", ")
    );
    if let Some(auc) = model.get("roc_auc").and_then(|a| a.as_f64()) {
        let accuracy = model
            .get("accuracy")
            .and_then(|a| a.as_f64())
            .unwrap_or(f64::NAN);
        let _ = write!(line, "; held-out ROC-AUC {auc:.3}, accuracy {accuracy:.3}");
    }
    line.push('.');
    Some(line)
}
