//! Precision and recall of a near-duplicate clustering against the synthetic corpus's
//! ground truth. A planted copy (exact or near) is found when it shares a cluster with its
//! original. A flagged document is correct when it belongs to the same family as its
//! cluster's first document: a copy's family is its original; boilerplate junk is one
//! family (one template with a few words filled in, so clustering it is right); every
//! other document is its own family. F1 per edit rate combines that rate's recall with the
//! precision over all flagged documents.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::truth::{DocKind, GroundTruth, JunkKind};

/// One document's clustering: its cluster id (the first member's id) and whether it was
/// flagged as a duplicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusteredDoc {
    pub id: String,
    pub cluster: String,
    pub is_dup: bool,
}

/// Recall (and F1 with the overall precision) of the copies planted at one edit rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditRateAccuracy {
    /// "exact" or the planned token edit rate, e.g. "0.15".
    pub copies: String,
    pub edit_rate: f64,
    pub planted: u64,
    pub found: u64,
    pub recall: f64,
    pub f1: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearDupAccuracy {
    pub flagged: u64,
    pub correctly_flagged: u64,
    pub precision: f64,
    pub by_edit_rate: Vec<EditRateAccuracy>,
    /// Exact copies and near copies with at most 15% edits together.
    pub recall_up_to_15: f64,
    pub f1_up_to_15: f64,
}

fn f1(precision: f64, recall: f64) -> f64 {
    if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}

fn family(truth: &GroundTruth) -> &str {
    match (truth.kind, truth.junk, &truth.copy_of) {
        (DocKind::Junk, Some(JunkKind::Boilerplate), _) => "junk:boilerplate",
        (DocKind::ExactDuplicate | DocKind::NearDuplicate, _, Some(original)) => original,
        _ => &truth.id,
    }
}

/// Scores `docs` (every document of the corpus, any order) against `truth`. Documents
/// without a ground-truth record are counted as their own family.
pub fn near_dup_accuracy(truth: &[GroundTruth], docs: &[ClusteredDoc]) -> NearDupAccuracy {
    let truth_by_id: HashMap<&str, &GroundTruth> =
        truth.iter().map(|t| (t.id.as_str(), t)).collect();
    let cluster_of: HashMap<&str, &str> = docs
        .iter()
        .map(|d| (d.id.as_str(), d.cluster.as_str()))
        .collect();
    let family_of = |id: &str| -> String {
        truth_by_id
            .get(id)
            .map_or_else(|| id.to_string(), |t| family(t).to_string())
    };
    let flagged: Vec<&ClusteredDoc> = docs.iter().filter(|d| d.is_dup).collect();
    let correctly_flagged = flagged
        .iter()
        .filter(|d| family_of(&d.id) == family_of(&d.cluster))
        .count() as u64;
    let precision = if flagged.is_empty() {
        1.0
    } else {
        correctly_flagged as f64 / flagged.len() as f64
    };
    // (planted, found) by edit rate in thousandths; 0 = exact copies.
    let mut by_rate: std::collections::BTreeMap<u64, (u64, u64)> = Default::default();
    for record in truth {
        let rate = match record.kind {
            DocKind::ExactDuplicate => 0.0,
            DocKind::NearDuplicate => record.edit_rate.unwrap_or(0.0),
            _ => continue,
        };
        let Some(original) = record.copy_of.as_deref() else {
            continue;
        };
        let entry = by_rate.entry((rate * 1000.0).round() as u64).or_default();
        entry.0 += 1;
        let together = match (cluster_of.get(record.id.as_str()), cluster_of.get(original)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        };
        if together {
            entry.1 += 1;
        }
    }
    let mut by_edit_rate = Vec::new();
    let (mut planted_15, mut found_15) = (0, 0);
    for (&milli, &(planted, found)) in &by_rate {
        let recall = found as f64 / planted.max(1) as f64;
        if milli <= 150 {
            planted_15 += planted;
            found_15 += found;
        }
        by_edit_rate.push(EditRateAccuracy {
            copies: if milli == 0 {
                "exact".into()
            } else {
                format!("{:.2}", milli as f64 / 1000.0)
            },
            edit_rate: milli as f64 / 1000.0,
            planted,
            found,
            recall,
            f1: f1(precision, recall),
        });
    }
    let recall_up_to_15 = found_15 as f64 / planted_15.max(1) as f64;
    NearDupAccuracy {
        flagged: flagged.len() as u64,
        correctly_flagged,
        precision,
        by_edit_rate,
        recall_up_to_15,
        f1_up_to_15: f1(precision, recall_up_to_15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth(id: &str, kind: DocKind, copy_of: Option<&str>, rate: Option<f64>) -> GroundTruth {
        GroundTruth {
            id: id.into(),
            kind,
            domain: "web".into(),
            language: "en".into(),
            copy_of: copy_of.map(str::to_string),
            edit_rate: rate,
            edits: None,
            junk: None,
        }
    }

    fn doc(id: &str, cluster: &str, is_dup: bool) -> ClusteredDoc {
        ClusteredDoc {
            id: id.into(),
            cluster: cluster.into(),
            is_dup,
        }
    }

    #[test]
    fn counts_found_copies_and_wrong_flags() {
        let truth = vec![
            truth("a", DocKind::Original, None, None),
            truth("a1", DocKind::ExactDuplicate, Some("a"), None),
            truth("a2", DocKind::NearDuplicate, Some("a"), Some(0.15)),
            truth("b", DocKind::Original, None, None),
            truth("b1", DocKind::NearDuplicate, Some("b"), Some(0.15)),
            truth("c", DocKind::Original, None, None),
        ];
        let docs = vec![
            doc("a", "a", false),
            doc("a1", "a", true),
            doc("a2", "a", true),
            doc("b", "b", false),
            doc("b1", "b1", false),
            doc("c", "a", true),
        ];
        let accuracy = near_dup_accuracy(&truth, &docs);
        assert_eq!(accuracy.flagged, 3);
        assert_eq!(accuracy.correctly_flagged, 2);
        assert!((accuracy.precision - 2.0 / 3.0).abs() < 1e-12);
        let rates: Vec<(&str, u64, u64)> = accuracy
            .by_edit_rate
            .iter()
            .map(|r| (r.copies.as_str(), r.planted, r.found))
            .collect();
        assert_eq!(rates, [("exact", 1, 1), ("0.15", 2, 1)]);
        assert!((accuracy.recall_up_to_15 - 2.0 / 3.0).abs() < 1e-12);
    }
}
