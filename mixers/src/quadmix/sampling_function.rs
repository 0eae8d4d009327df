//! QuaDMix's sampling function: the expected number of copies of a document of quality rank
//! `r` (0 the best of its domain, towards 1 the worst) is
//! `S(r) = (2 / (1 + exp(-λ (ω - r))))^η + ε`. Below the threshold `ω` a document is kept
//! up to `2^η` times (λ sets how sharply), above it almost never (ε).

use blend_kernels::SeededRng;

use super::quality_ranks::quality_ranks;
use serde::{Deserialize, Serialize};

use crate::{MixerError, Result};

/// `S(r)` for one domain's parameters.
pub fn sampling_frequency(rank: f64, lambda: f64, omega: f64, eta: f64, epsilon: f64) -> f64 {
    let logistic = 2.0 / (1.0 + (-lambda * (omega - rank)).exp());
    logistic.powf(eta) + epsilon
}

/// One domain's sampling function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainSampling {
    pub domain: String,
    pub lambda: f64,
    pub omega: f64,
    pub eta: f64,
}

/// The sampling function a QuaDMix mixture draws documents by, as `mixture.json` stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualitySampling {
    /// The document columns whose within-domain percentiles are merged.
    pub quality_columns: Vec<String>,
    /// Columns where a lower value is better (e.g. a perplexity).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lower_is_better: Vec<String>,
    /// One weight per quality column, summing to 1.
    pub merge_weights: Vec<f64>,
    pub epsilon: f64,
    /// In the mixture's domain order.
    pub domains: Vec<DomainSampling>,
}

impl QualitySampling {
    /// `S(r)` of the domain named `domain`; an error for a domain without a function.
    pub fn frequency(&self, domain: &str, rank: f64) -> Result<f64> {
        Ok(self.frequencies(domain, &[rank])?[0])
    }

    /// `S(r)` of the domain named `domain` at each of `ranks`.
    pub fn frequencies(&self, domain: &str, ranks: &[f64]) -> Result<Vec<f64>> {
        let d = self
            .domains
            .iter()
            .find(|d| d.domain == domain)
            .ok_or_else(|| {
                MixerError::Invalid(format!(
                    "the quality sampling function has no domain `{domain}`"
                ))
            })?;
        Ok(ranks
            .iter()
            .map(|&r| sampling_frequency(r, d.lambda, d.omega, d.eta, self.epsilon))
            .collect())
    }

    /// The quality ranks of one domain's documents (`columns[j][i]`: column `j` of document
    /// `i`, in `quality_columns` order), by this function's directions and merge weights.
    pub fn ranks(&self, columns: &[Vec<f64>]) -> Vec<f64> {
        quality_ranks(columns, &self.higher_is_better(), &self.merge_weights)
    }

    /// Whether a higher value of each quality column is better, in column order.
    pub fn higher_is_better(&self) -> Vec<bool> {
        self.quality_columns
            .iter()
            .map(|c| !self.lower_is_better.contains(c))
            .collect()
    }

    pub fn validate(&self) -> Result<()> {
        let invalid = |message: String| Err(MixerError::Invalid(message));
        if self.quality_columns.is_empty() {
            return invalid("the quality sampling function names no quality column".into());
        }
        if self.merge_weights.len() != self.quality_columns.len() {
            return invalid(format!(
                "{} merge weights for {} quality columns",
                self.merge_weights.len(),
                self.quality_columns.len()
            ));
        }
        if self
            .merge_weights
            .iter()
            .any(|w| !w.is_finite() || *w < 0.0)
            || (self.merge_weights.iter().sum::<f64>() - 1.0).abs() > 1e-6
        {
            return invalid(format!(
                "merge weights must be ≥ 0 and sum to 1, got {:?}",
                self.merge_weights
            ));
        }
        if !(self.epsilon.is_finite() && self.epsilon >= 0.0) {
            return invalid(format!("epsilon must be ≥ 0, got {}", self.epsilon));
        }
        for d in &self.domains {
            if !(d.lambda.is_finite() && d.omega.is_finite() && d.eta.is_finite())
                || d.lambda <= 0.0
                || d.eta <= 0.0
            {
                return invalid(format!(
                    "domain `{}`: λ and η must be positive and ω finite (λ {}, ω {}, η {})",
                    d.domain, d.lambda, d.omega, d.eta
                ));
            }
        }
        Ok(())
    }
}

/// Whole copies of each document for expected counts `frequencies`: `floor(f)` plus one more
/// with probability `frac(f)`, seeded by `stream`, so a resampled data set has the expected
/// size and any one draw is reproducible.
pub fn draw_copies(frequencies: &[f64], seed: u64, stream: &str) -> Vec<u32> {
    let mut rng = SeededRng::for_stream(seed, stream);
    frequencies
        .iter()
        .map(|&f| {
            let whole = f.floor();
            whole as u32 + u32::from(rng.bernoulli(f - whole))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_documents_are_repeated_and_the_worst_almost_never_kept() {
        let (lambda, omega, eta, epsilon) = (50.0, 0.3, 2.0, 1e-3);
        let best = sampling_frequency(0.0, lambda, omega, eta, epsilon);
        let at_threshold = sampling_frequency(omega, lambda, omega, eta, epsilon);
        let worst = sampling_frequency(0.99, lambda, omega, eta, epsilon);
        assert!((best - (4.0 + epsilon)).abs() < 1e-3, "{best}");
        assert!((at_threshold - (1.0 + epsilon)).abs() < 1e-12);
        assert!(worst < 2e-3, "{worst}");
        let ranks: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
        let values: Vec<f64> = ranks
            .iter()
            .map(|&r| sampling_frequency(r, lambda, omega, eta, epsilon))
            .collect();
        assert!(values.windows(2).all(|w| w[0] >= w[1]), "S falls with rank");
    }

    #[test]
    fn copies_match_the_expected_counts_and_repeat_for_a_seed() {
        let frequencies = vec![2.5; 4000];
        let copies = draw_copies(&frequencies, 3, "t");
        assert!(copies.iter().all(|&c| c == 2 || c == 3));
        let mean = copies.iter().map(|&c| f64::from(c)).sum::<f64>() / 4000.0;
        assert!((mean - 2.5).abs() < 0.05, "{mean}");
        assert_eq!(copies, draw_copies(&frequencies, 3, "t"));
        assert_ne!(copies, draw_copies(&frequencies, 4, "t"));
    }

    fn sampling() -> QualitySampling {
        QualitySampling {
            quality_columns: vec!["score".into(), "perplexity".into()],
            lower_is_better: vec!["perplexity".into()],
            merge_weights: vec![0.7, 0.3],
            epsilon: 1e-3,
            domains: vec![DomainSampling {
                domain: "web".into(),
                lambda: 10.0,
                omega: 0.5,
                eta: 1.0,
            }],
        }
    }

    #[test]
    fn an_unknown_domain_and_bad_weights_are_named() {
        let s = sampling();
        s.validate().unwrap();
        assert_eq!(s.higher_is_better(), vec![true, false]);
        assert!((s.frequency("web", 0.5).unwrap() - 1.001).abs() < 1e-12);
        let error = s.frequency("code", 0.1).unwrap_err().to_string();
        assert!(error.contains("`code`"), "{error}");
        let mut bad = sampling();
        bad.merge_weights = vec![0.7, 0.7];
        assert!(bad.validate().unwrap_err().to_string().contains("sum to 1"));
        let mut bad = sampling();
        bad.domains[0].eta = 0.0;
        assert!(bad.validate().unwrap_err().to_string().contains("`web`"));
    }
}
