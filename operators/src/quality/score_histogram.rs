//! Counts of scores in [0, 1] in equal-width bins, for operator summaries and the report.

use serde::{Deserialize, Serialize};

/// Counts of scores in `bins` equal bins over [0, 1] (1.0 falls in the last bin; values
/// outside are clamped), with their sum for the mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreHistogram {
    pub counts: Vec<u64>,
    pub total: u64,
    pub sum: f64,
}

impl ScoreHistogram {
    pub fn new(bins: usize) -> Self {
        Self {
            counts: vec![0; bins.max(1)],
            total: 0,
            sum: 0.0,
        }
    }

    pub fn add(&mut self, score: f64) {
        let score = if score.is_nan() {
            0.0
        } else {
            score.clamp(0.0, 1.0)
        };
        let bins = self.counts.len();
        let bin = ((score * bins as f64) as usize).min(bins - 1);
        self.counts[bin] += 1;
        self.total += 1;
        self.sum += score;
    }

    pub fn mean(&self) -> Option<f64> {
        (self.total > 0).then(|| self.sum / self.total as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_edges_and_clamping() {
        let mut histogram = ScoreHistogram::new(10);
        for score in [0.0, 0.05, 0.1, 0.999, 1.0, 1.5, -0.2, f64::NAN] {
            histogram.add(score);
        }
        assert_eq!(histogram.counts[0], 4, "0, 0.05, -0.2 clamped, NaN as 0");
        assert_eq!(histogram.counts[1], 1);
        assert_eq!(histogram.counts[9], 3, "0.999, 1.0 and 1.5 clamped");
        assert_eq!(histogram.total, 8);
        assert!((histogram.mean().unwrap() - (0.05 + 0.1 + 0.999 + 2.0) / 8.0).abs() < 1e-12);
        assert_eq!(ScoreHistogram::new(3).mean(), None);
    }
}
