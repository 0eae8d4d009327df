//! Mixture search: draw many candidates from the sampler, predict each with a fitted
//! regressor in batches, keep the `top_k` best, and take their mean as the mixture (RegMix:
//! mean of the top 128 of 100k simulated candidates; blend defaults to 1M). The mean of
//! feasible candidates is feasible: bounds and epoch caps are linear.
//!
//! The interval on the prediction comes from the data, not the candidates: the regressor is
//! refitted on bootstrap resamples of its training runs and each refit predicts the chosen
//! mixture; the interval is the percentile range of those predictions.

use serde::{Deserialize, Serialize};

use blend_kernels::SeededRng;

use crate::model_file::RegressorModel;
use crate::regressors::Regressor;
use crate::regressors::{fit_regressor, gather_rows};
use crate::sampler::SamplerConfig;
use crate::{MixerError, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchSettings {
    pub candidates: usize,
    pub top_k: usize,
    /// Candidates drawn and predicted per batch (bounds memory: batch × domains × 8 bytes).
    pub batch: usize,
    pub seed: u64,
    /// Bootstrap refits for the interval (0: no interval).
    pub bootstrap: usize,
    /// Coverage of the interval, e.g. 0.95.
    pub confidence: f64,
}

impl Default for SearchSettings {
    fn default() -> Self {
        Self {
            candidates: 1_000_000,
            top_k: 128,
            batch: 1 << 16,
            seed: 42,
            bootstrap: 16,
            confidence: 0.95,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchOutcome {
    /// The mixture: mean of the top-k candidates, one weight per domain, summing to 1.
    pub weights: Vec<f64>,
    /// The regressor's prediction for `weights`.
    pub predicted: f64,
    /// Mean prediction of the top-k candidates themselves.
    pub top_k_mean_prediction: f64,
    /// The single best candidate's prediction.
    pub best_candidate_prediction: f64,
    pub candidates: usize,
    pub top_k: usize,
}

/// Searches `settings.candidates` candidates; `on_batch(done)` reports progress.
pub fn search(
    regressor: &dyn Regressor,
    sampler: &SamplerConfig,
    settings: &SearchSettings,
    minimize: bool,
    on_batch: &dyn Fn(usize),
) -> Result<SearchOutcome> {
    if settings.candidates == 0 || settings.top_k == 0 || settings.top_k > settings.candidates {
        return Err(MixerError::Invalid(format!(
            "search needs 0 < top_k ({}) ≤ candidates ({})",
            settings.top_k, settings.candidates
        )));
    }
    let d = sampler.domains();
    let sign = if minimize { 1.0 } else { -1.0 };
    // (signed prediction, candidate index, weights): smaller is better.
    let mut best: Vec<(f64, usize, Vec<f64>)> = Vec::with_capacity(2 * settings.top_k);
    let batch = settings.batch.max(1);
    // The worst kept key once `top_k` are kept; later candidates (higher indices) must beat it.
    let mut threshold = f64::INFINITY;
    let mut done = 0;
    while done < settings.candidates {
        let count = batch.min(settings.candidates - done);
        let rows = sampler.sample_from(done, count, settings.seed)?;
        let predictions = regressor.predict(&rows, d);
        for (i, prediction) in predictions.iter().enumerate() {
            let key = sign * prediction;
            if !key.is_finite() {
                continue;
            }
            if key >= threshold {
                continue;
            }
            best.push((key, done + i, rows[i * d..(i + 1) * d].to_vec()));
            if best.len() >= 2 * settings.top_k {
                threshold = keep_best(&mut best, settings.top_k);
            }
        }
        threshold = keep_best(&mut best, settings.top_k);
        done += count;
        on_batch(done);
    }
    if best.is_empty() {
        return Err(MixerError::Invalid(
            "every candidate's prediction was not finite".into(),
        ));
    }
    let k = best.len();
    let mut weights = vec![0.0; d];
    for (_, _, row) in &best {
        for (w, r) in weights.iter_mut().zip(row) {
            *w += r / k as f64;
        }
    }
    let sum: f64 = weights.iter().sum();
    weights.iter_mut().for_each(|w| *w /= sum);
    let predicted = regressor.predict(&weights, d)[0];
    Ok(SearchOutcome {
        predicted,
        top_k_mean_prediction: sign * best.iter().map(|b| b.0).sum::<f64>() / k as f64,
        best_candidate_prediction: sign * best[0].0,
        weights,
        candidates: settings.candidates,
        top_k: k,
    })
}

/// Sorts by (key, index) and keeps the first `k`; the index breaks ties so the result does
/// not depend on arrival order. Returns the worst kept key once `k` are kept (else +∞).
fn keep_best(best: &mut Vec<(f64, usize, Vec<f64>)>, k: usize) -> f64 {
    best.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    best.truncate(k);
    if best.len() == k {
        best[k - 1].0
    } else {
        f64::INFINITY
    }
}

/// The `confidence` percentile interval of `mixture`'s prediction over `resamples` refits
/// of the model's regressor on bootstrap resamples of its training runs.
pub fn bootstrap_interval(
    model: &RegressorModel,
    mixture: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Result<(f64, f64)> {
    let d = model.domains.len();
    let runs = model.training.target.len();
    let mut rng = SeededRng::for_stream(seed, "bootstrap");
    let mut predictions = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        let picks: Vec<usize> = (0..runs).map(|_| rng.below(runs as u64) as usize).collect();
        let rows = gather_rows(&model.training.weights, d, &picks);
        let y: Vec<f64> = picks.iter().map(|&r| model.training.target[r]).collect();
        let refit = fit_regressor(model.kind(), &rows, d, &y, &model.settings)?;
        predictions.push(refit.predict(mixture, d)[0]);
    }
    predictions.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    Ok((
        percentile(&predictions, tail),
        percentile(&predictions, 1.0 - tail),
    ))
}

/// Linear-interpolated percentile `q ∈ [0, 1]` of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let low = position.floor() as usize;
    let high = position.ceil() as usize;
    sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regressors::MixingLaw;

    #[test]
    fn finds_the_weight_a_known_law_rewards() {
        // Loss falls with domain 0's weight and rises with domain 2's.
        let law = MixingLaw {
            floor: 2.0,
            log_scale: 0.0,
            exponents: vec![-2.0, 0.0, 1.0],
        };
        let mut sampler = SamplerConfig::regmix(vec![0.3, 0.4, 0.3]);
        sampler.upper = vec![0.6, 1.0, 1.0];
        let settings = SearchSettings {
            candidates: 20_000,
            top_k: 16,
            batch: 3000,
            ..Default::default()
        };
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let outcome = search(&law, &sampler, &settings, true, &|_| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(calls.into_inner(), 7);
        assert!(
            outcome.weights[0] > 0.55 && outcome.weights[0] <= 0.6 + 1e-9,
            "{:?}",
            outcome.weights
        );
        assert!(outcome.weights[2] < 0.02, "{:?}", outcome.weights);
        assert!(outcome.best_candidate_prediction <= outcome.top_k_mean_prediction);
        let same = search(
            &law,
            &sampler,
            &SearchSettings {
                batch: 20_000,
                ..settings
            },
            true,
            &|_| {},
        )
        .unwrap();
        assert_eq!(same, outcome, "batch size does not change the result");
        let maximized = search(&law, &sampler, &settings, false, &|_| {}).unwrap();
        assert!(maximized.weights[2] > 0.5, "{:?}", maximized.weights);
    }

    #[test]
    fn percentiles_interpolate() {
        let sorted = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&sorted, 0.5), 3.0);
        assert_eq!(percentile(&sorted, 0.125), 1.5);
        assert_eq!(percentile(&sorted, 1.0), 5.0);
    }
}
