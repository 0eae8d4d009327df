//! The report's "Near duplicates" section: for every `dedup.minhash` stage, what it found
//! (clusters, duplicates), how (shingles, permutations, bands × rows and their S-curve),
//! what it cost (band keys, partitions spilled) and, on the synthetic corpus, precision and
//! recall per planted edit rate.

use std::fmt::Write as _;

use blend_operators::OperatorSpec;
use blend_operators::dedup::minhash::{MinHashDedup, MinHashSummary};

use super::html::{bytes, count, escape};
use super::stage_summaries;
use super::svg::unit_line_chart;
use crate::engine::summary::RunSummary;

pub fn near_duplicates_section(html: &mut String, summary: &RunSummary) {
    for (name, found) in stage_summaries::<MinHashSummary>(summary, MinHashDedup::NAME) {
        let _ = write!(
            html,
            "<h2>Near duplicates: <code>{}</code></h2>\
             <div class=\"cards\"><div class=\"card\">documents<b>{}</b></div><div class=\"card\">clusters (≥ 2 docs)<b>{}</b></div>\
             <div class=\"card\">flagged <code>is_dup</code><b>{}</b></div><div class=\"card\">largest cluster<b>{}</b></div></div>\
             <p>{} {}-gram shingles, MinHash with {}, LSH {} bands × {} rows tuned for Jaccard {}; \
             {} band keys grouped in {} partition(s), {} spilled under a {} budget; \
             {} keys shared by ≥ 2 documents, {} candidate edges{}. {} documents had no words and are never clustered.</p>",
            escape(name),
            count(found.documents),
            count(found.clusters),
            count(found.duplicates),
            count(found.largest_cluster),
            escape(&found.shingle),
            found.ngram,
            if found.signature == "one_permutation" {
                format!("one-permutation hashing into {} bins", found.num_perm)
            } else {
                format!("{} permutations", found.num_perm)
            },
            found.bands,
            found.rows,
            found.threshold,
            count(found.band_keys),
            found.partitions,
            bytes(found.spilled_bytes),
            bytes(found.memory_budget),
            count(found.shared_keys),
            count(found.candidate_edges),
            if found.verified_pairs > 0 {
                format!(
                    "; {} candidate pairs verified by exact Jaccard, {} at or above the threshold",
                    count(found.verified_pairs),
                    count(found.verified_similar_pairs)
                )
            } else {
                String::new()
            },
            count(found.documents_without_shingles),
        );
        let _ = write!(
            html,
            "<p class=\"muted\">S-curve: probability that two documents become candidates, by their Jaccard similarity; dashed: the threshold.</p>{}",
            unit_line_chart(
                "LSH S-curve",
                &found.s_curve,
                found.threshold,
                "Jaccard similarity",
                "P(candidate)"
            )
        );
        if let Some(accuracy) = summary.dedup_accuracy.get(name) {
            let _ = write!(
                html,
                "<h3>Accuracy on the planted duplicates</h3><p>Precision {:.4} ({} of {} flagged documents belong to their cluster's family). \
                 Exact and ≤ 15% edits together: recall {:.4}, F1 {:.4}.</p>\
                 <table><tr><th>copies</th><th>planted</th><th>found</th><th>recall</th><th>F1</th></tr>",
                accuracy.precision,
                count(accuracy.correctly_flagged),
                count(accuracy.flagged),
                accuracy.recall_up_to_15,
                accuracy.f1_up_to_15,
            );
            for row in &accuracy.by_edit_rate {
                let copies = if row.copies == "exact" {
                    "exact".to_string()
                } else {
                    format!("{:.0}% token edits", row.edit_rate * 100.0)
                };
                let _ = write!(
                    html,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td></tr>",
                    escape(&copies),
                    count(row.planted),
                    count(row.found),
                    row.recall,
                    row.f1
                );
            }
            html.push_str("</table>");
        }
    }
}
