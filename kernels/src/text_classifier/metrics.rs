//! Binary classification metrics: ROC-AUC (ties counted half, as scikit-learn does) and
//! accuracy at a threshold.

use serde::{Deserialize, Serialize};

/// Area under the ROC curve of `scores` for `positive` labels: the probability that a
/// random positive scores above a random negative, ties counting one half. `None` when
/// one class is absent.
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), positive.len(), "one label per score");
    let positives = positive.iter().filter(|p| **p).count();
    let negatives = positive.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    // Sum of the (1-based, tie-averaged) ranks of the positives: Mann-Whitney U.
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let mean_rank = (start + end + 1) as f64 / 2.0;
        let tied_positives = order[start..end].iter().filter(|i| positive[**i]).count();
        positive_rank_sum += mean_rank * tied_positives as f64;
        start = end;
    }
    let u = positive_rank_sum - (positives * (positives + 1)) as f64 / 2.0;
    Some(u / (positives as f64 * negatives as f64))
}

/// Accuracy and ROC-AUC of probabilities for the positive class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BinaryMetrics {
    pub documents: usize,
    pub positives: usize,
    /// Share of documents on the right side of probability 0.5.
    pub accuracy: f64,
    pub roc_auc: Option<f64>,
}

impl BinaryMetrics {
    pub fn new(probabilities: &[f64], positive: &[bool]) -> Self {
        let correct = probabilities
            .iter()
            .zip(positive)
            .filter(|(p, is_positive)| (**p >= 0.5) == **is_positive)
            .count();
        Self {
            documents: positive.len(),
            positives: positive.iter().filter(|p| **p).count(),
            accuracy: correct as f64 / positive.len().max(1) as f64,
            roc_auc: roc_auc(probabilities, positive),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_matches_scikit_learn() {
        // sklearn.metrics.roc_auc_score([0,0,1,1], [0.1,0.4,0.35,0.8]) == 0.75
        let auc = roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap();
        assert!((auc - 0.75).abs() < 1e-12);
        // Ties count one half: roc_auc_score([0,1,0,1], [0.5,0.5,0.2,0.9]) == 0.875
        let auc = roc_auc(&[0.5, 0.5, 0.2, 0.9], &[false, true, false, true]).unwrap();
        assert!((auc - 0.875).abs() < 1e-12);
        assert_eq!(roc_auc(&[0.3, 0.2], &[true, true]), None);
        let perfect = roc_auc(&[0.9, 0.1, 0.8], &[true, false, true]).unwrap();
        assert_eq!(perfect, 1.0);
    }

    #[test]
    fn accuracy_at_one_half() {
        let metrics = BinaryMetrics::new(&[0.9, 0.6, 0.4, 0.1], &[true, false, false, true]);
        assert_eq!(metrics.accuracy, 0.5);
        assert_eq!(metrics.positives, 2);
        assert_eq!(metrics.roc_auc, Some(0.5));
    }
}
