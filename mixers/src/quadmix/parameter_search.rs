//! QuaDMix's search: draw many parameter sets, predict each with the regressor fitted on the
//! proxy runs (parameters → target), and average the best `top` in feature space (the paper:
//! the top 10 of 100k). Candidates are drawn and predicted in batches, so memory stays at one
//! batch whatever their number.

use serde::{Deserialize, Serialize};

use super::parameters::{ParameterSpace, QuadMixParams};
use crate::regressors::Regressor;
use crate::{MixerError, Result};

/// Parameter sets predicted per batch.
const BATCH: usize = 1 << 14;

/// The chosen parameters and what the regressor says of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuadMixChoice {
    /// Mean of the `top` best candidates.
    pub params: QuadMixParams,
    /// The regressor's prediction for `params`.
    pub predicted: f64,
    pub top_mean_prediction: f64,
    pub best_candidate_prediction: f64,
    pub candidates: usize,
    pub top: usize,
}

/// Searches `candidates` parameter sets of `space` (stream `seed`) with `regressor`.
pub fn search_parameters(
    regressor: &dyn Regressor,
    space: &ParameterSpace,
    candidates: usize,
    top: usize,
    seed: u64,
    minimize: bool,
) -> Result<QuadMixChoice> {
    if top == 0 || top > candidates {
        return Err(MixerError::Invalid(format!(
            "QuaDMix's search needs 0 < top ({top}) ≤ candidates ({candidates})"
        )));
    }
    let features = space.features();
    let sign = if minimize { 1.0 } else { -1.0 };
    // (signed prediction, candidate index, parameters): smaller is better.
    let mut best: Vec<(f64, usize, QuadMixParams)> = Vec::with_capacity(2 * top);
    let mut first = 0;
    while first < candidates {
        let count = BATCH.min(candidates - first);
        let sets = space.sample_from(first, count, seed)?;
        let rows: Vec<f64> = sets.iter().flat_map(QuadMixParams::features).collect();
        let predictions = regressor.predict(&rows, features);
        for (offset, (set, prediction)) in sets.into_iter().zip(predictions).enumerate() {
            best.push((sign * prediction, first + offset, set));
        }
        keep_best(&mut best, top);
        first += count;
    }
    let top_mean_prediction = sign * best.iter().map(|b| b.0).sum::<f64>() / best.len() as f64;
    let best_candidate_prediction = sign * best[0].0;
    let chosen: Vec<QuadMixParams> = best.into_iter().map(|b| b.2).collect();
    let params = QuadMixParams::mean(&chosen)?;
    let predicted = regressor.predict(&params.features(), features)[0];
    Ok(QuadMixChoice {
        params,
        predicted,
        top_mean_prediction,
        best_candidate_prediction,
        candidates,
        top,
    })
}

/// Keeps the `top` smallest keys (ties: the earlier candidate), sorted.
fn keep_best(best: &mut Vec<(f64, usize, QuadMixParams)>, top: usize) {
    best.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    best.truncate(top);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regressors::LinearModel;
    use crate::sampler::SamplerConfig;

    #[test]
    fn the_search_follows_the_regressor_and_repeats_for_a_seed() {
        // Two domains, one quality column: features [w0, w1, α, lnλ0, lnλ1, ω0, ω1, η0, η1].
        // The target falls with ω of domain 0, so the chosen ω0 is high.
        let space = ParameterSpace::new(SamplerConfig::regmix(vec![0.5, 0.5]), 1);
        let mut coefficients = vec![0.0; space.features()];
        coefficients[5] = -1.0;
        let model = LinearModel {
            intercept: 3.0,
            coefficients,
            log_target: false,
        };
        let choice = search_parameters(&model, &space, 20_000, 10, 1, true).unwrap();
        assert!(choice.params.omega[0] > 0.95, "{choice:?}");
        assert!(choice.best_candidate_prediction <= choice.top_mean_prediction);
        assert_eq!(
            choice,
            search_parameters(&model, &space, 20_000, 10, 1, true).unwrap()
        );
        let maximized = search_parameters(&model, &space, 20_000, 10, 1, false).unwrap();
        assert!(maximized.params.omega[0] < 0.1, "{maximized:?}");
        assert!(search_parameters(&model, &space, 5, 10, 1, true).is_err());
    }
}
