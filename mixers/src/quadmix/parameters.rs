//! QuaDMix's parameters and their draws: per domain a weight, the steepness λ, the threshold
//! ω and the strength η of its sampling function, plus one merge weight per quality column.
//! As regression features they are laid out `[w…, α…, ln λ…, ω…, η…]` (λ on a log scale,
//! as it is drawn), and the mean of several parameter sets is taken in that space.
//!
//! The ranges are ours (the paper does not publish its): λ log-uniform in `[1, 100]` (from a
//! soft slope to a near step), ω uniform in `[0.05, 1]` (keep the best 5 % … all of a domain),
//! η uniform in `[0.1, 3]` (the best documents repeated up to 2^η ≈ 8 times). Domain weights
//! come from RegMix's Dirichlet sampler around the prior (with its bounds); merge weights
//! from a flat Dirichlet.

use blend_kernels::SeededRng;
use serde::{Deserialize, Serialize};

use super::sampling_function::{DomainSampling, QualitySampling};
use crate::sampler::{SamplerConfig, dirichlet};
use crate::{MixerError, Result};

/// Parameter sets drawn per independent random stream (as the mixture sampler does).
const BLOCK: usize = 1024;

/// One QuaDMix parameter set over `k` domains and `m` quality columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuadMixParams {
    pub domain_weights: Vec<f64>,
    pub merge_weights: Vec<f64>,
    pub lambda: Vec<f64>,
    pub omega: Vec<f64>,
    pub eta: Vec<f64>,
}

impl QuadMixParams {
    /// The regression features: `[w…, α…, ln λ…, ω…, η…]`.
    pub fn features(&self) -> Vec<f64> {
        let mut row = self.domain_weights.clone();
        row.extend(&self.merge_weights);
        row.extend(self.lambda.iter().map(|l| l.ln()));
        row.extend(&self.omega);
        row.extend(&self.eta);
        row
    }

    /// The inverse of [`features`](Self::features).
    pub fn from_features(row: &[f64], domains: usize, columns: usize) -> Self {
        let (w, rest) = row.split_at(domains);
        let (alpha, rest) = rest.split_at(columns);
        let (log_lambda, rest) = rest.split_at(domains);
        let (omega, eta) = rest.split_at(domains);
        Self {
            domain_weights: w.to_vec(),
            merge_weights: alpha.to_vec(),
            lambda: log_lambda.iter().map(|l| l.exp()).collect(),
            omega: omega.to_vec(),
            eta: eta.to_vec(),
        }
    }

    /// Feature names in feature order, for tables and reports.
    pub fn feature_names(domains: &[String], columns: &[String]) -> Vec<String> {
        let per_domain =
            |prefix: &'static str| domains.iter().map(move |d| format!("{prefix}/{d}"));
        per_domain("weight")
            .chain(columns.iter().map(|c| format!("merge/{c}")))
            .chain(per_domain("ln_lambda"))
            .chain(per_domain("omega"))
            .chain(per_domain("eta"))
            .collect()
    }

    /// The mean of `sets` in feature space, with both weight vectors renormalized to sum 1.
    pub fn mean(sets: &[Self]) -> Result<Self> {
        let first = sets
            .first()
            .ok_or_else(|| MixerError::Invalid("no QuaDMix parameter sets to average".into()))?;
        let (k, m) = (first.domain_weights.len(), first.merge_weights.len());
        let mut sum = vec![0.0; 4 * k + m];
        for set in sets {
            for (s, f) in sum.iter_mut().zip(set.features()) {
                *s += f;
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / sets.len() as f64).collect();
        let mut params = Self::from_features(&mean, k, m);
        normalize(&mut params.domain_weights);
        normalize(&mut params.merge_weights);
        Ok(params)
    }

    /// The sampling function of these parameters for `mixture.json`.
    pub fn sampling(
        &self,
        domains: &[String],
        quality_columns: &[String],
        lower_is_better: &[String],
        epsilon: f64,
    ) -> QualitySampling {
        QualitySampling {
            quality_columns: quality_columns.to_vec(),
            lower_is_better: lower_is_better.to_vec(),
            merge_weights: self.merge_weights.clone(),
            epsilon,
            domains: domains
                .iter()
                .enumerate()
                .map(|(d, name)| DomainSampling {
                    domain: name.clone(),
                    lambda: self.lambda[d],
                    omega: self.omega[d],
                    eta: self.eta[d],
                })
                .collect(),
        }
    }
}

fn normalize(weights: &mut [f64]) {
    let sum: f64 = weights.iter().sum();
    if sum > 0.0 {
        weights.iter_mut().for_each(|w| *w /= sum);
    }
}

/// Where QuaDMix's parameters are drawn from.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterSpace {
    /// Domain weights: RegMix's sampler (prior, temperature, bounds).
    pub domain_weights: SamplerConfig,
    pub quality_columns: usize,
    pub lambda: (f64, f64),
    pub omega: (f64, f64),
    pub eta: (f64, f64),
}

impl ParameterSpace {
    /// The documented default ranges around `domain_weights`.
    pub fn new(domain_weights: SamplerConfig, quality_columns: usize) -> Self {
        Self {
            domain_weights,
            quality_columns,
            lambda: (1.0, 100.0),
            omega: (0.05, 1.0),
            eta: (0.1, 3.0),
        }
    }

    pub fn domains(&self) -> usize {
        self.domain_weights.domains()
    }

    /// Features per parameter set.
    pub fn features(&self) -> usize {
        4 * self.domains() + self.quality_columns
    }

    /// `count` parameter sets of the stream `seed`.
    pub fn sample(&self, count: usize, seed: u64) -> Result<Vec<QuadMixParams>> {
        self.sample_from(0, count, seed)
    }

    /// Sets `first..first + count` of the stream `seed` (batches of a long stream match one
    /// big draw).
    pub fn sample_from(&self, first: usize, count: usize, seed: u64) -> Result<Vec<QuadMixParams>> {
        if self.quality_columns == 0 {
            return Err(MixerError::Invalid(
                "QuaDMix needs at least one quality column".into(),
            ));
        }
        let weights = self.domain_weights.sample_from(first, count, seed)?;
        let k = self.domains();
        let m = self.quality_columns;
        let mut sets = Vec::with_capacity(count);
        let mut block_rng: Option<(usize, SeededRng)> = None;
        for (i, w) in (first..first + count).zip(weights.chunks(k)) {
            let block = i / BLOCK;
            if block_rng.as_ref().is_none_or(|(b, _)| *b != block) {
                let mut rng = SeededRng::for_stream(seed, &format!("quadmix/parameters/{block}"));
                // Skip to `i` inside its block, so any batch boundary gives the same draws.
                for _ in 0..(i % BLOCK) {
                    self.draw(&mut rng, k, m);
                }
                block_rng = Some((block, rng));
            }
            let (_, rng) = block_rng.as_mut().expect("set above");
            let mut set = self.draw(rng, k, m);
            set.domain_weights = w.to_vec();
            sets.push(set);
        }
        Ok(sets)
    }

    /// One draw of everything but the domain weights.
    fn draw(&self, rng: &mut SeededRng, k: usize, m: usize) -> QuadMixParams {
        let mut merge_weights = vec![0.0; m];
        if !dirichlet(rng, &vec![1.0; m], &mut merge_weights) {
            merge_weights = vec![1.0 / m as f64; m];
        }
        let uniform =
            |rng: &mut SeededRng, (low, high): (f64, f64)| low + (high - low) * rng.next_f64();
        let (ln_low, ln_high) = (self.lambda.0.ln(), self.lambda.1.ln());
        let lambda = (0..k)
            .map(|_| uniform(rng, (ln_low, ln_high)).exp())
            .collect();
        let omega = (0..k).map(|_| uniform(rng, self.omega)).collect();
        let eta = (0..k).map(|_| uniform(rng, self.eta)).collect();
        QuadMixParams {
            domain_weights: Vec::new(),
            merge_weights,
            lambda,
            omega,
            eta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> ParameterSpace {
        ParameterSpace::new(SamplerConfig::regmix(vec![0.5, 0.3, 0.2]), 2)
    }

    #[test]
    fn draws_stay_in_their_ranges_and_features_round_trip() {
        let sets = space().sample(300, 7).unwrap();
        for set in &sets {
            assert!((set.domain_weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            assert!((set.merge_weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            assert!(set.lambda.iter().all(|l| (1.0..=100.0).contains(l)));
            assert!(set.omega.iter().all(|o| (0.05..=1.0).contains(o)));
            assert!(set.eta.iter().all(|e| (0.1..=3.0).contains(e)));
            let back = QuadMixParams::from_features(&set.features(), 3, 2);
            for (a, b) in back.lambda.iter().zip(&set.lambda) {
                assert!((a - b).abs() < 1e-9 * b);
            }
            assert_eq!(back.omega, set.omega);
        }
        assert_eq!(sets[0].features().len(), space().features());
        let names = QuadMixParams::feature_names(
            &["a".into(), "b".into(), "c".into()],
            &["score".into(), "words".into()],
        );
        assert_eq!(names.len(), 14);
        assert_eq!(names[3], "merge/score");
        assert_eq!(names[5], "ln_lambda/a");
    }

    #[test]
    fn batches_of_a_stream_match_one_draw_and_seeds_differ() {
        let s = space();
        let all = s.sample(2100, 3).unwrap();
        let mut batched = s.sample_from(0, 1000, 3).unwrap();
        batched.extend(s.sample_from(1000, 1100, 3).unwrap());
        assert_eq!(all, batched);
        assert_ne!(all[0], s.sample(1, 4).unwrap()[0]);
    }

    #[test]
    fn the_mean_is_taken_in_feature_space_and_renormalized() {
        let a = QuadMixParams {
            domain_weights: vec![1.0, 0.0],
            merge_weights: vec![1.0],
            lambda: vec![1.0, 100.0],
            omega: vec![0.2, 0.4],
            eta: vec![1.0, 3.0],
        };
        let mut b = a.clone();
        b.domain_weights = vec![0.0, 1.0];
        b.lambda = vec![100.0, 100.0];
        let mean = QuadMixParams::mean(&[a, b]).unwrap();
        assert_eq!(mean.domain_weights, vec![0.5, 0.5]);
        assert!((mean.lambda[0] - 10.0).abs() < 1e-9, "geometric mean of λ");
        assert!((mean.omega[1] - 0.4).abs() < 1e-12);
        assert!(QuadMixParams::mean(&[]).is_err());
        assert!(
            ParameterSpace::new(SamplerConfig::regmix(vec![1.0]), 0)
                .sample(1, 1)
                .is_err()
        );
    }
}
