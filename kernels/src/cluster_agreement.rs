//! How well predicted clusters match known classes: purity, normalized mutual information
//! (arithmetic normalization, scikit-learn's default) and the adjusted Rand index, from one
//! contingency table. Sums run in key order (`BTreeMap`), so the figures are the same bytes on
//! every run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// Share of documents whose cluster's most common class is their own class.
    pub purity: f64,
    /// Mutual information over the mean of both entropies (1 = same partition).
    pub nmi: f64,
    /// Rand index corrected for chance (0 = random, 1 = same partition).
    pub ari: f64,
    pub documents: u64,
    pub clusters: usize,
    pub classes: usize,
}

fn entropy(counts: impl Iterator<Item = u64>, n: f64) -> f64 {
    counts
        .filter(|&c| c > 0)
        .map(|c| {
            let p = c as f64 / n;
            -p * p.ln()
        })
        .sum()
}

fn pairs(n: u64) -> f64 {
    let n = n as f64;
    n * (n - 1.0) / 2.0
}

/// Agreement of `predicted` cluster ids with `truth` class ids (same length).
pub fn agreement(predicted: &[u32], truth: &[u32]) -> Agreement {
    assert_eq!(predicted.len(), truth.len(), "one label per document");
    let mut table: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    for (&p, &t) in predicted.iter().zip(truth) {
        *table.entry((p, t)).or_default() += 1;
    }
    agreement_from_counts(&table)
}

/// Agreement from the contingency table: documents per (cluster id, class id). What a
/// streaming pass accumulates instead of one label per document.
pub fn agreement_from_counts(counts: &BTreeMap<(u32, u32), u64>) -> Agreement {
    let table: BTreeMap<(u32, u32), u64> = counts
        .iter()
        .filter(|&(_, &c)| c > 0)
        .map(|(&key, &c)| (key, c))
        .collect();
    let mut by_cluster: BTreeMap<u32, u64> = BTreeMap::new();
    let mut by_class: BTreeMap<u32, u64> = BTreeMap::new();
    for (&(p, t), &c) in &table {
        *by_cluster.entry(p).or_default() += c;
        *by_class.entry(t).or_default() += c;
    }
    let n: u64 = table.values().sum();
    let clusters = by_cluster.len();
    let classes = by_class.len();
    if n == 0 {
        return Agreement {
            purity: 1.0,
            nmi: 1.0,
            ari: 1.0,
            documents: 0,
            clusters,
            classes,
        };
    }
    let total = n as f64;
    let mut majority: BTreeMap<u32, u64> = BTreeMap::new();
    for (&(p, _), &c) in &table {
        let best = majority.entry(p).or_default();
        *best = (*best).max(c);
    }
    let purity = majority.values().sum::<u64>() as f64 / total;

    let h_cluster = entropy(by_cluster.values().copied(), total);
    let h_class = entropy(by_class.values().copied(), total);
    let mutual: f64 = table
        .iter()
        .map(|(&(p, t), &c)| {
            let joint = c as f64 / total;
            let independent = by_cluster[&p] as f64 * by_class[&t] as f64 / (total * total);
            joint * (joint / independent).ln()
        })
        .sum();
    let nmi = if h_cluster == 0.0 && h_class == 0.0 {
        1.0
    } else {
        (mutual / ((h_cluster + h_class) / 2.0)).clamp(0.0, 1.0)
    };

    let index: f64 = table.values().map(|&c| pairs(c)).sum();
    let cluster_pairs: f64 = by_cluster.values().map(|&c| pairs(c)).sum();
    let class_pairs: f64 = by_class.values().map(|&c| pairs(c)).sum();
    let expected = cluster_pairs * class_pairs / pairs(n).max(1.0);
    let max_index = (cluster_pairs + class_pairs) / 2.0;
    let ari = if (max_index - expected).abs() < f64::EPSILON {
        1.0
    } else {
        (index - expected) / (max_index - expected)
    };
    Agreement {
        purity,
        nmi,
        ari,
        documents: n,
        clusters,
        classes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scikit_learn_on_small_partitions() {
        // Values from scikit-learn 1.9.1: normalized_mutual_info_score, adjusted_rand_score.
        let a = agreement(
            &[1, 1, 0, 0, 0, 0, 2, 2, 3, 3],
            &[0, 0, 0, 1, 1, 1, 2, 2, 2, 2],
        );
        assert!((a.nmi - 0.713_703_197_579_881_1).abs() < 1e-12, "{a:?}");
        assert!((a.ari - 0.444_444_444_444_444_4).abs() < 1e-12, "{a:?}");
        assert!((a.purity - 0.9).abs() < 1e-12);
        assert_eq!((a.clusters, a.classes, a.documents), (4, 3, 10));
        let mut table = BTreeMap::new();
        for (p, t) in [
            (1, 0),
            (1, 0),
            (0, 0),
            (0, 1),
            (0, 1),
            (0, 1),
            (2, 2),
            (2, 2),
        ] {
            *table.entry((p, t)).or_insert(0u64) += 1;
        }
        table.insert((3, 2), 2);
        table.insert((5, 9), 0);
        assert_eq!(
            agreement_from_counts(&table),
            a,
            "counts give the same figures"
        );
        let b = agreement(&[0, 0, 1, 2], &[0, 0, 1, 1]);
        assert!((b.nmi - 0.8).abs() < 1e-12 && (b.ari - 0.571_428_571_428_571_4).abs() < 1e-12);
        assert!(
            (b.purity - 1.0).abs() < 1e-12,
            "splitting a class keeps purity 1"
        );
    }

    #[test]
    fn renamed_partitions_agree_fully_and_one_cluster_does_not() {
        let truth = [0, 0, 1, 1, 2, 2];
        let same = agreement(&[7, 7, 3, 3, 5, 5], &truth);
        assert_eq!((same.nmi, same.ari, same.purity), (1.0, 1.0, 1.0));
        let lumped = agreement(&[0; 6], &truth);
        assert!(lumped.nmi.abs() < 1e-12 && lumped.ari.abs() < 1e-12);
        assert!((lumped.purity - 1.0 / 3.0).abs() < 1e-12);
    }
}
