//! Online domain reweighting inside one proxy run: the mixture changes `rounds` times while
//! the proxy trains, driven by per-domain losses measured on fixed training windows, and
//! the run reports the schedule it followed and its step-weighted average mixture (what a
//! static mixture search takes from it).
//!
//! - [`doremi`]: DoReMi, Xie et al., 2023, "DoReMi: Optimizing Data Mixtures Speeds Up
//!   Language Model Pretraining" (arXiv:2305.10429), the classic baseline: a reference
//!   proxy first, then exponentiated-gradient ascent on the proxy's excess loss over it;
//! - [`aioli`]: Aioli, Chen et al., 2024, "Aioli: A Unified Optimization Framework for
//!   Language Model Data Mixing" (arXiv:2411.05735): each round estimates how training on
//!   each domain moves every domain's loss (a linear mixing law) from short perturbed
//!   segments, then moves the mixture along it;
//! - [`loss_probe`]: the fixed per-domain probe windows; [`linear_solve`]: Aioli's k×k
//!   systems.
//!
//! Both spend the run's `settings.steps` optimizer steps (DoReMi's reference run is extra
//! and reported on its own); probes are forward passes only. Memory: one model and its
//! optimizer states, as a static run, plus the probe windows' per-window losses.

pub mod aioli;
pub mod doremi;
pub mod linear_solve;
pub mod loss_probe;

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::proxy_data::ProxyData;
use crate::train::{ProxyOutcome, TrainSettings, Trainer};

/// Which online reweighting runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnlineAlgorithm {
    Aioli,
    DoReMi,
}

/// How the mixture is updated during a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnlineSettings {
    pub algorithm: OnlineAlgorithm,
    /// Weight updates over the run; round `r` covers steps `r·steps/rounds ..
    /// (r+1)·steps/rounds`.
    pub rounds: usize,
    /// η of the exponentiated-gradient update `w ← w ⊙ exp(η · signal)`, normalized.
    pub step_size: f64,
    /// After every update the weights are mixed with uniform: `(1 − c)·w + c/k`, DoReMi's
    /// c; it keeps every domain sampled (and probed) under Aioli too.
    pub smoothing: f64,
    /// Training windows per domain in each loss probe.
    pub probe_windows: usize,
}

impl Default for OnlineSettings {
    /// Aioli, 10 rounds, η = 1 and c = 1e-3 (DoReMi's published step size and smoothing),
    /// 16 probe windows per domain.
    fn default() -> Self {
        Self {
            algorithm: OnlineAlgorithm::Aioli,
            rounds: 10,
            step_size: 1.0,
            smoothing: 1e-3,
            probe_windows: 16,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OnlineError {
    #[error("online reweighting needs at least one round")]
    NoRounds,
    #[error("{rounds} rounds do not fit in {steps} steps")]
    MoreRoundsThanSteps { rounds: usize, steps: usize },
    #[error(
        "an Aioli round of {round_steps} steps cannot hold its {needed} perturbed steps and one more; use fewer rounds or more steps"
    )]
    RoundTooShort { round_steps: usize, needed: usize },
    #[error("the step size must be finite and non-negative, not {0}")]
    StepSize(f64),
    #[error("the smoothing must lie in [0, 1], not {0}")]
    Smoothing(f64),
    #[error("a loss probe needs at least one window per domain")]
    NoProbeWindows,
    #[error("the perturbed mixtures of the round at step {step} are singular")]
    SingularMixtures { step: usize },
}

impl OnlineSettings {
    /// Checks the settings for a run of `settings.steps` steps over `domains` domains.
    pub fn validate(&self, settings: &TrainSettings, domains: usize) -> Result<(), OnlineError> {
        if self.rounds == 0 {
            return Err(OnlineError::NoRounds);
        }
        if self.rounds > settings.steps {
            return Err(OnlineError::MoreRoundsThanSteps {
                rounds: self.rounds,
                steps: settings.steps,
            });
        }
        if !(self.step_size.is_finite() && self.step_size >= 0.0) {
            return Err(OnlineError::StepSize(self.step_size));
        }
        if !(0.0..=1.0).contains(&self.smoothing) {
            return Err(OnlineError::Smoothing(self.smoothing));
        }
        if self.probe_windows == 0 {
            return Err(OnlineError::NoProbeWindows);
        }
        if self.algorithm == OnlineAlgorithm::Aioli {
            for round in round_spans(settings.steps, self.rounds) {
                let needed = domains * aioli::segment_steps(round.len(), domains);
                if round.len() <= needed {
                    return Err(OnlineError::RoundTooShort {
                        round_steps: round.len(),
                        needed,
                    });
                }
            }
        }
        Ok(())
    }

    /// Optimizer steps `train_online` takes, so `on_step` is called this many times:
    /// `settings.steps`, twice that for DoReMi (its reference run first).
    pub fn optimizer_steps(&self, settings: &TrainSettings) -> usize {
        match self.algorithm {
            OnlineAlgorithm::Aioli => settings.steps,
            OnlineAlgorithm::DoReMi => 2 * settings.steps,
        }
    }
}

/// The mixture from `step` on, and the per-domain signal that produced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightUpdate {
    pub step: usize,
    pub weights: Vec<f64>,
    /// DoReMi: each domain's excess loss over the reference; Aioli: Σ_i A[i, j], how much
    /// training on domain j lowered all domains' losses in the round.
    pub signal: Vec<f64>,
}

/// What an online run measured and the mixtures it followed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnlineOutcome {
    /// The reweighted proxy, scored on the held-out windows like a static run.
    pub outcome: ProxyOutcome,
    /// One update per round, in step order.
    pub schedule: Vec<WeightUpdate>,
    pub final_weights: Vec<f64>,
    /// The sampling weights of every step (Aioli's perturbed segments included), averaged:
    /// what a static mixture takes from the run.
    pub average_weights: Vec<f64>,
    /// DoReMi's reference run with the initial weights; `None` for Aioli.
    pub reference: Option<ProxyOutcome>,
}

/// Trains one proxy on `data` starting from the `initial` mixture and reweighting it online
/// by `online`. `on_step(step)` is called after every optimizer step of every model trained
/// ([`OnlineSettings::optimizer_steps`] in all; DoReMi's reference run counts 0.. first).
pub fn train_online(
    data: &ProxyData,
    initial: &[f64],
    settings: &TrainSettings,
    online: &OnlineSettings,
    on_step: &(dyn Fn(usize) + Sync),
) -> Result<OnlineOutcome> {
    settings.validate()?;
    online.validate(settings, data.domains.len())?;
    match online.algorithm {
        OnlineAlgorithm::Aioli => aioli::train(data, initial, settings, online, on_step),
        OnlineAlgorithm::DoReMi => doremi::train(data, initial, settings, online, on_step),
    }
}

/// The step ranges of `rounds` rounds over `steps` steps (lengths differ by at most one).
fn round_spans(steps: usize, rounds: usize) -> impl Iterator<Item = Range<usize>> {
    (0..rounds).map(move |round| round * steps / rounds..(round + 1) * steps / rounds)
}

/// `weights` scaled to sum to 1.
fn normalized(weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| w / total).collect()
}

/// `weights ⊙ exp(step_size · signal)`, normalized, then mixed with uniform by `smoothing`.
/// Computed from the largest exponent down, so large signals do not overflow.
fn exponentiated_update(
    weights: &[f64],
    signal: &[f64],
    step_size: f64,
    smoothing: f64,
) -> Vec<f64> {
    let exponents: Vec<f64> = signal.iter().map(|s| step_size * s).collect();
    let largest = exponents
        .iter()
        .zip(weights)
        .filter(|(_, w)| **w > 0.0)
        .fold(f64::NEG_INFINITY, |m, (e, _)| m.max(*e));
    let moved: Vec<f64> = weights
        .iter()
        .zip(&exponents)
        .map(|(w, e)| w * (e - largest).exp())
        .collect();
    smoothed(&normalized(&moved), smoothing)
}

/// `(1 − smoothing)·weights + smoothing/k`.
fn smoothed(weights: &[f64], smoothing: f64) -> Vec<f64> {
    let uniform = 1.0 / weights.len() as f64;
    weights
        .iter()
        .map(|w| (1.0 - smoothing) * w + smoothing * uniform)
        .collect()
}

/// Σ steps · weights over the mixtures a run sampled from.
#[derive(Debug, Clone)]
struct MixtureTally {
    weighted_sums: Vec<f64>,
    steps: usize,
}

impl MixtureTally {
    fn new(domains: usize) -> Self {
        Self {
            weighted_sums: vec![0.0; domains],
            steps: 0,
        }
    }

    fn add(&mut self, weights: &[f64], steps: usize) {
        for (sum, w) in self.weighted_sums.iter_mut().zip(weights) {
            *sum += w * steps as f64;
        }
        self.steps += steps;
    }

    fn average(&self) -> Vec<f64> {
        self.weighted_sums
            .iter()
            .map(|sum| sum / self.steps.max(1) as f64)
            .collect()
    }
}

/// Steps `trainer` through `steps` of the run's schedule.
fn train_steps(
    trainer: &mut Trainer<'_>,
    steps: Range<usize>,
    on_step: &(dyn Fn(usize) + Sync),
) -> Result<()> {
    for step in steps {
        trainer.step(step)?;
        on_step(step);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Preset;
    use crate::sequence_sampler::DomainTokens;

    /// Three domains: counting up by one and a short cycle (both learnable), and uniformly
    /// random tokens that nothing can learn.
    pub(crate) fn toy_data_with_noise() -> ProxyData {
        let counting: Vec<u32> = (0..4000u32).map(|i| i % 60).collect();
        let cycle: Vec<u32> = (0..4000u32).map(|i| 59 + (i * 7) % 5).collect();
        let mut rng = blend_kernels::SeededRng::new(17);
        let noise: Vec<u32> = (0..4000).map(|_| rng.below(64) as u32).collect();
        let split = |tokens: &[u32], name: &str| {
            let stream = |range: Range<usize>| DomainTokens {
                domain: name.into(),
                tokens: tokens[range].to_vec(),
            };
            (stream(0..3000), stream(3000..4000))
        };
        let (train, valid): (Vec<_>, Vec<_>) = [
            split(&counting, "counting"),
            split(&cycle, "cycle"),
            split(&noise, "noise"),
        ]
        .into_iter()
        .unzip();
        ProxyData {
            domains: vec!["counting".into(), "cycle".into(), "noise".into()],
            vocab_size: 64,
            train,
            valid,
        }
    }

    pub(crate) fn settings(steps: usize, seed: u64) -> TrainSettings {
        let mut settings = TrainSettings::new(Preset::Tiny.config(64, 16), steps, seed);
        settings.batch_size = 8;
        settings.eval_windows = 8;
        settings
    }

    pub(crate) fn assert_on_simplex(weights: &[f64]) {
        assert!(
            weights.iter().all(|w| w.is_finite() && *w >= 0.0),
            "{weights:?}"
        );
        assert!(
            (weights.iter().sum::<f64>() - 1.0).abs() < 1e-9,
            "{weights:?}"
        );
    }

    #[test]
    fn rounds_cover_the_steps_exactly() {
        let spans: Vec<Range<usize>> = round_spans(10, 3).collect();
        assert_eq!(spans, vec![0..3, 3..6, 6..10]);
        assert_eq!(round_spans(5, 5).map(|r| r.len()).sum::<usize>(), 5);
    }

    #[test]
    fn exponentiated_update_moves_toward_the_signal_and_stays_on_the_simplex() {
        let moved = exponentiated_update(&[0.5, 0.25, 0.25], &[0.0, 1.0, 0.0], 2f64.ln(), 0.0);
        assert_on_simplex(&moved);
        // Domain 1 doubles: 0.5, 0.5, 0.25 normalized.
        for (a, b) in moved.iter().zip([0.4, 0.4, 0.2]) {
            assert!((a - b).abs() < 1e-12, "{moved:?}");
        }
        let huge = exponentiated_update(&[0.5, 0.5], &[1e6, -1e6], 1.0, 0.1);
        assert_on_simplex(&huge);
        assert!(
            (huge[1] - 0.05).abs() < 1e-12,
            "smoothing floors at c/k: {huge:?}"
        );
    }

    #[test]
    fn bad_settings_are_named_errors() {
        let train = settings(40, 1);
        let check = |change: &dyn Fn(&mut OnlineSettings)| {
            let mut online = OnlineSettings::default();
            change(&mut online);
            online.validate(&train, 3)
        };
        assert_eq!(check(&|_| {}), Ok(()));
        assert_eq!(check(&|o| o.rounds = 0), Err(OnlineError::NoRounds));
        assert!(matches!(
            check(&|o| {
                o.algorithm = OnlineAlgorithm::DoReMi;
                o.rounds = 41;
            }),
            Err(OnlineError::MoreRoundsThanSteps { .. })
        ));
        // Aioli with 3 domains: rounds of 4 steps hold 3 perturbed steps and one more;
        // rounds of 2 do not.
        assert!(matches!(
            check(&|o| o.rounds = 20),
            Err(OnlineError::RoundTooShort { .. })
        ));
        assert!(matches!(
            check(&|o| o.step_size = f64::NAN),
            Err(OnlineError::StepSize(_))
        ));
        assert!(matches!(
            check(&|o| o.step_size = -1.0),
            Err(OnlineError::StepSize(_))
        ));
        assert_eq!(
            check(&|o| o.smoothing = 1.5),
            Err(OnlineError::Smoothing(1.5))
        );
        assert_eq!(
            check(&|o| o.probe_windows = 0),
            Err(OnlineError::NoProbeWindows)
        );
    }

    #[test]
    fn algorithm_names_serialize_in_lowercase() {
        let names: Vec<String> = [OnlineAlgorithm::Aioli, OnlineAlgorithm::DoReMi]
            .iter()
            .map(|a| serde_json::to_string(a).unwrap())
            .collect();
        assert_eq!(names, vec!["\"aioli\"", "\"doremi\""]);
        let parsed: OnlineAlgorithm = serde_json::from_str("\"doremi\"").unwrap();
        assert_eq!(parsed, OnlineAlgorithm::DoReMi);
    }
}
