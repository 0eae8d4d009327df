//! Multi-fidelity Bayesian optimisation of a mixture, after ADMIRE-BayesOpt (2025): a
//! Gaussian process over (domain weights, fidelity) is fitted on every proxy run so far,
//! whatever its length; [`propose`] picks the next mixture by expected improvement at the
//! target fidelity and the fidelity to train it at by information per cost, and
//! [`best_predicted`] is the final choice.
//!
//! The fidelity rule: an observation at `(x*, f)` with noise σ²ₙ shrinks the posterior
//! variance at the target `(x*, 1)` by `cov((x*,1),(x*,f))² / (var(x*,f) + σ²ₙ)`; the chosen
//! fidelity maximizes that reduction divided by the fidelity's cost, so a cheap fidelity
//! wins only while the process finds it correlated with the full one.
//!
//! The final choice, [`best_observed`], is the best posterior mean at the target fidelity
//! among the mixtures that were trained (at any fidelity): [`best_predicted`] may also pick
//! an untried candidate, where the process extrapolates (a corner with a domain at 0 looked
//! best to it and validated far worse on the synthetic corpus).
//! Simplified from ADMIRE-BayesOpt: the fidelity is one more input of a single stationary
//! Matérn kernel (no separate fidelity kernel), the mixture is chosen first and the fidelity
//! second (not jointly), and candidates are a finite Dirichlet sample from the
//! [`SamplerConfig`] (so they respect its bounds and epoch caps) rather than a continuous
//! optimisation of the acquisition.

pub mod acquisition;
pub mod gaussian_process;

use serde::{Deserialize, Serialize};

pub use acquisition::expected_improvement;
pub use gaussian_process::{GaussianProcess, GpBounds, GpHyperparameters, GpSettings};

use crate::sampler::SamplerConfig;
use crate::{MixerError, Result};

/// The fidelity level every proposal is judged at.
const TARGET_FIDELITY: f64 = 1.0;

/// A trained proxy run: its mixture, its fidelity in (0, 1] (1 = the target, e.g.
/// steps / max_steps) and its measured metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub weights: Vec<f64>,
    pub fidelity: f64,
    pub value: f64,
}

/// A fidelity a run may be trained at: its level in (0, 1] and its relative cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fidelity {
    pub level: f64,
    pub cost: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BayesOptSettings {
    /// Mixtures drawn from the sampler and scored per proposal.
    pub candidates: usize,
    pub seed: u64,
    pub minimize: bool,
    /// Random restarts of the Gaussian process's hyperparameter fit.
    pub restarts: usize,
}

impl Default for BayesOptSettings {
    fn default() -> Self {
        Self {
            candidates: 4096,
            seed: 42,
            minimize: true,
            restarts: 4,
        }
    }
}

/// A mixture to train next (from [`propose`]) or to choose (from [`best_predicted`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub weights: Vec<f64>,
    /// Index into the fidelities given to [`propose`]; 0 from [`best_predicted`], whose
    /// choice is at the target fidelity.
    pub fidelity: usize,
    /// Expected improvement at the target fidelity over the best posterior mean of the
    /// observed mixtures.
    pub expected_improvement: f64,
    /// Posterior mean and standard deviation of the metric at the target fidelity.
    pub mean: f64,
    pub std: f64,
}

/// The next run to train: the candidate with the highest expected improvement at fidelity
/// 1, at the fidelity that removes the most posterior variance at fidelity 1 per unit cost.
pub fn propose(
    observations: &[Observation],
    sampler: &SamplerConfig,
    fidelities: &[Fidelity],
    settings: &BayesOptSettings,
) -> Result<Proposal> {
    if fidelities.is_empty() || settings.candidates == 0 {
        return Err(MixerError::NothingToPropose {
            fidelities: fidelities.len(),
            candidates: settings.candidates,
        });
    }
    if let Some((index, f)) = fidelities
        .iter()
        .enumerate()
        .find(|(_, f)| !(f.level > 0.0 && f.level <= 1.0 && f.cost > 0.0 && f.cost.is_finite()))
    {
        return Err(MixerError::BadFidelity {
            index,
            level: f.level,
            cost: f.cost,
        });
    }
    let surrogate = Surrogate::fit(observations, sampler.domains(), settings)?;
    let candidates = sampler.sample(settings.candidates, settings.seed)?;
    let mut proposal = surrogate.best(&candidates, Choice::ExpectedImprovement);
    proposal.fidelity = surrogate.fidelity_per_cost(&proposal.weights, fidelities);
    Ok(proposal)
}

/// The final choice: the best posterior mean at fidelity 1 among `settings.candidates`
/// draws from the sampler and the observed mixtures.
pub fn best_predicted(
    observations: &[Observation],
    sampler: &SamplerConfig,
    settings: &BayesOptSettings,
) -> Result<Proposal> {
    let surrogate = Surrogate::fit(observations, sampler.domains(), settings)?;
    let mut candidates = sampler.sample(settings.candidates, settings.seed)?;
    for observation in observations {
        candidates.extend_from_slice(&observation.weights);
    }
    Ok(surrogate.best(&candidates, Choice::Mean))
}

/// The final choice: the best posterior mean at fidelity 1 among the observed mixtures.
pub fn best_observed(
    observations: &[Observation],
    domains: usize,
    settings: &BayesOptSettings,
) -> Result<Proposal> {
    let surrogate = Surrogate::fit(observations, domains, settings)?;
    let observed: Vec<f64> = observations
        .iter()
        .flat_map(|o| o.weights.iter().copied())
        .collect();
    Ok(surrogate.best(&observed, Choice::Mean))
}

/// The best posterior mean among the given values (the incumbent of expected improvement).
pub fn best_mean(means: &[f64], minimize: bool) -> f64 {
    let sign = if minimize { 1.0 } else { -1.0 };
    sign * means.iter().map(|m| sign * m).fold(f64::INFINITY, f64::min)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    ExpectedImprovement,
    Mean,
}

/// The Gaussian process over `domains` weights plus the fidelity level.
#[derive(Debug)]
struct Surrogate {
    gp: GaussianProcess,
    domains: usize,
    minimize: bool,
    /// Best posterior mean at fidelity 1 among the observed mixtures.
    incumbent: f64,
}

impl Surrogate {
    fn fit(
        observations: &[Observation],
        domains: usize,
        settings: &BayesOptSettings,
    ) -> Result<Self> {
        if observations.is_empty() {
            return Err(MixerError::NoObservations);
        }
        let mut rows = Vec::with_capacity(observations.len() * (domains + 1));
        for (index, observation) in observations.iter().enumerate() {
            if observation.weights.len() != domains {
                return Err(MixerError::ObservationDomains {
                    index,
                    weights: observation.weights.len(),
                    domains,
                });
            }
            let fidelity = observation.fidelity;
            if !(fidelity > 0.0 && fidelity <= 1.0 && observation.value.is_finite()) {
                return Err(MixerError::ObservationValue {
                    index,
                    fidelity,
                    value: observation.value,
                });
            }
            rows.extend_from_slice(&observation.weights);
            rows.push(fidelity);
        }
        let values: Vec<f64> = observations.iter().map(|o| o.value).collect();
        let gp_settings = GpSettings {
            restarts: settings.restarts,
            seed: settings.seed,
            ..GpSettings::default()
        };
        let gp = GaussianProcess::fit(&rows, domains + 1, &values, &gp_settings)?;
        let observed: Vec<f64> = observations
            .iter()
            .flat_map(|o| o.weights.iter().copied())
            .collect();
        let (observed_means, _) = gp.predict_latent(&at_level(&observed, domains, TARGET_FIDELITY));
        Ok(Self {
            gp,
            domains,
            minimize: settings.minimize,
            incumbent: best_mean(&observed_means, settings.minimize),
        })
    }

    /// The candidate (row-major weights) that is best by `choice` at fidelity 1; the first
    /// of equals.
    fn best(&self, candidates: &[f64], choice: Choice) -> Proposal {
        let d = self.domains;
        let (means, stds) = self
            .gp
            .predict_latent(&at_level(candidates, d, TARGET_FIDELITY));
        let improvements: Vec<f64> = means
            .iter()
            .zip(&stds)
            .map(|(&m, &s)| expected_improvement(m, s, self.incumbent, self.minimize))
            .collect();
        let sign = if self.minimize { -1.0 } else { 1.0 };
        let score = |i: usize| match choice {
            Choice::ExpectedImprovement => improvements[i],
            Choice::Mean => sign * means[i],
        };
        let best =
            (1..means.len()).fold(0, |best, i| if score(i) > score(best) { i } else { best });
        Proposal {
            weights: candidates[best * d..(best + 1) * d].to_vec(),
            fidelity: 0,
            expected_improvement: improvements[best],
            mean: means[best],
            std: stds[best],
        }
    }

    /// The fidelity whose observation at `weights` removes the most posterior variance at
    /// `(weights, 1)` per unit cost (ADMIRE-BayesOpt's cost-aware rule, in closed form).
    fn fidelity_per_cost(&self, weights: &[f64], fidelities: &[Fidelity]) -> usize {
        let target = with_level(weights, TARGET_FIDELITY);
        let variance = self.gp.posterior_covariance(&target, &target);
        let noise = self.gp.noise_variance();
        let value = |f: &Fidelity| {
            let cheap = with_level(weights, f.level);
            let covariance = self.gp.posterior_covariance(&target, &cheap);
            let own = self.gp.posterior_covariance(&cheap, &cheap);
            // The variance at the target one observation at `f` removes, per unit cost.
            let removed = covariance * covariance / (own + noise);
            removed.min(variance) / f.cost
        };
        (1..fidelities.len()).fold(0, |best, i| {
            if value(&fidelities[i]) > value(&fidelities[best]) {
                i
            } else {
                best
            }
        })
    }
}

fn with_level(weights: &[f64], level: f64) -> Vec<f64> {
    let mut row = weights.to_vec();
    row.push(level);
    row
}

/// Row-major weights with the fidelity `level` appended to each row.
fn at_level(rows: &[f64], domains: usize, level: f64) -> Vec<f64> {
    rows.chunks(domains)
        .flat_map(|row| row.iter().copied().chain(std::iter::once(level)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn law(weights: &[f64]) -> f64 {
        3.0 + (-3.0 * weights[0]).exp() + weights[1]
    }

    fn sampler() -> SamplerConfig {
        let mut sampler = SamplerConfig::regmix(vec![1.0 / 3.0; 3]);
        sampler.min_strength = 1.0;
        sampler
    }

    fn observe(rows: &[f64], fidelity: f64) -> Vec<Observation> {
        rows.chunks(3)
            .map(|w| Observation {
                weights: w.to_vec(),
                fidelity,
                value: law(w),
            })
            .collect()
    }

    #[test]
    fn sequential_proposals_beat_random_draws() {
        let sampler = sampler();
        let budget = 20;
        let random = sampler.sample(budget, 1).unwrap();
        let random_best = random.chunks(3).map(law).fold(f64::INFINITY, f64::min);
        let mut observations = observe(&random[..4 * 3], 1.0);
        let fidelities = [Fidelity {
            level: 1.0,
            cost: 1.0,
        }];
        for step in 0..budget - 4 {
            let settings = BayesOptSettings {
                candidates: 512,
                seed: 100 + step as u64,
                restarts: 1,
                ..Default::default()
            };
            let proposal = propose(&observations, &sampler, &fidelities, &settings).unwrap();
            assert_eq!(proposal.fidelity, 0);
            observations.extend(observe(&proposal.weights, 1.0));
        }
        let found = observations
            .iter()
            .map(|o| o.value)
            .fold(f64::INFINITY, f64::min);
        assert!(found < random_best, "BO {found} vs random {random_best}");
        let settings = BayesOptSettings {
            candidates: 512,
            ..Default::default()
        };
        let chosen = best_predicted(&observations, &sampler, &settings).unwrap();
        assert!(law(&chosen.weights) < random_best + 0.02, "{chosen:?}");
    }

    #[test]
    fn a_cheap_correlated_fidelity_is_chosen_first() {
        let sampler = sampler();
        let start = sampler.sample(6, 3).unwrap();
        // The cheap fidelity measures exactly what the full one does.
        let mut observations = observe(&start, 0.1);
        observations.extend(observe(&start, 1.0));
        let fidelities = [
            Fidelity {
                level: 0.1,
                cost: 0.1,
            },
            Fidelity {
                level: 1.0,
                cost: 1.0,
            },
        ];
        for step in 0..3 {
            let settings = BayesOptSettings {
                candidates: 256,
                seed: step,
                ..Default::default()
            };
            let proposal = propose(&observations, &sampler, &fidelities, &settings).unwrap();
            assert_eq!(proposal.fidelity, 0, "step {step}: {proposal:?}");
            assert_eq!(
                proposal,
                propose(&observations, &sampler, &fidelities, &settings).unwrap()
            );
            observations.extend(observe(&proposal.weights, 0.1));
        }
    }

    #[test]
    fn an_uncorrelated_cheap_fidelity_is_not_worth_its_price() {
        // Short length scale on the fidelity: what 0.25 measures says nothing about 1.
        let rows = [0.5, 0.5, 1.0, 0.2, 0.8, 1.0, 0.8, 0.2, 0.25];
        let hyperparameters = |fidelity_length: f64| GpHyperparameters {
            constant: 1.0,
            length_scales: vec![1.0, 1.0, fidelity_length],
            noise: 1e-4,
        };
        let fidelities = [
            Fidelity {
                level: 0.25,
                cost: 0.25,
            },
            Fidelity {
                level: 1.0,
                cost: 1.0,
            },
        ];
        let surrogate = |length: f64| Surrogate {
            gp: GaussianProcess::with_hyperparameters(
                &rows,
                3,
                &[3.0, 3.2, 3.1],
                hyperparameters(length),
            )
            .unwrap(),
            domains: 2,
            minimize: true,
            incumbent: 3.0,
        };
        let weights = [0.3, 0.7];
        assert_eq!(surrogate(0.01).fidelity_per_cost(&weights, &fidelities), 1);
        assert_eq!(surrogate(100.0).fidelity_per_cost(&weights, &fidelities), 0);
    }

    #[test]
    fn the_final_choice_is_a_trained_mixture() {
        let sampler = sampler();
        let start = sampler.sample(8, 5).unwrap();
        let observations = observe(&start, 1.0);
        let choice = best_observed(&observations, 3, &BayesOptSettings::default()).unwrap();
        assert!(observations.iter().any(|o| o.weights == choice.weights));
        let best = observations
            .iter()
            .min_by(|a, b| a.value.total_cmp(&b.value))
            .unwrap();
        assert_eq!(choice.weights, best.weights, "noise-free: the best run");
    }

    #[test]
    fn bad_requests_are_named_errors() {
        let sampler = sampler();
        let settings = BayesOptSettings::default();
        let full = [Fidelity {
            level: 1.0,
            cost: 1.0,
        }];
        assert!(matches!(
            propose(&[], &sampler, &full, &settings),
            Err(MixerError::NoObservations)
        ));
        assert!(matches!(
            best_predicted(&[], &sampler, &settings),
            Err(MixerError::NoObservations)
        ));
        let two_domains = [Observation {
            weights: vec![0.5, 0.5],
            fidelity: 1.0,
            value: 3.0,
        }];
        assert!(matches!(
            propose(&two_domains, &sampler, &full, &settings),
            Err(MixerError::ObservationDomains {
                index: 0,
                weights: 2,
                domains: 3
            })
        ));
        let one = observe(&[0.2, 0.3, 0.5], 1.0);
        assert!(matches!(
            propose(&one, &sampler, &[], &settings),
            Err(MixerError::NothingToPropose { .. })
        ));
        let free = [Fidelity {
            level: 0.5,
            cost: 0.0,
        }];
        assert!(matches!(
            propose(&one, &sampler, &free, &settings),
            Err(MixerError::BadFidelity { index: 0, .. })
        ));
        let late = observe(&[0.2, 0.3, 0.5], 1.5);
        assert!(matches!(
            propose(&late, &sampler, &full, &settings),
            Err(MixerError::ObservationValue { index: 0, .. })
        ));
        // One observation is enough to propose.
        assert!(propose(&one, &sampler, &full, &settings).is_ok());
    }
}
