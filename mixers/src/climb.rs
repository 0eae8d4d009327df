//! CLIMB-style iterative search (Diao et al., 2025): instead of training every proxy run up
//! front, train them in rounds (e.g. 64, 32, 16); after each round refit the regressor and
//! pick the next runs among the candidates it predicts best, so later runs concentrate where
//! the good mixtures are.
//!
//! [`select_promising`] is the picking step, shared by the closed loop (candidates freshly
//! drawn from the sampler) and by [`crate::pool_study`], the offline comparison on recorded
//! runs against random picks, Bayesian optimisation and RegMix's one shot (re-exported here,
//! where it used to live).

use blend_kernels::SeededRng;

use crate::Result;
use crate::regressors::Regressor;
use crate::sampler::SamplerConfig;

pub use crate::pool_study::{Pool, Strategy, StudyPoint, pool_study};

/// Round sizes for a budget of `runs`, in CLIMB's 64:32:16 proportions (4:2:1).
pub fn round_sizes(runs: usize, rounds: usize) -> Vec<usize> {
    let rounds = rounds.clamp(1, runs.max(1));
    let shares: Vec<usize> = (0..rounds).map(|r| 1usize << (rounds - 1 - r)).collect();
    let total: usize = shares.iter().sum();
    let mut sizes: Vec<usize> = shares.iter().map(|s| runs * s / total).collect();
    let assigned: usize = sizes.iter().sum();
    sizes[0] += runs - assigned;
    sizes
}

/// Picks `n` of `candidates` uniformly among the `2n` with the best predictions (exploiting
/// the regressor while keeping some spread). Returns indices into `candidates`.
pub fn select_promising(
    predictions: &[f64],
    n: usize,
    minimize: bool,
    rng: &mut SeededRng,
) -> Vec<usize> {
    let sign = if minimize { 1.0 } else { -1.0 };
    let mut order: Vec<usize> = (0..predictions.len()).collect();
    order.sort_by(|&a, &b| {
        (sign * predictions[a])
            .total_cmp(&(sign * predictions[b]))
            .then(a.cmp(&b))
    });
    order.truncate((2 * n).min(predictions.len()));
    for i in 0..n.min(order.len()) {
        let j = i + rng.below((order.len() - i) as u64) as usize;
        order.swap(i, j);
    }
    order.truncate(n);
    order
}

/// The mixtures of the next round of a closed loop: draw `candidates` from `sampler`,
/// predict them with the regressor refitted on the runs so far, and keep `n` promising ones
/// (row-major `n × domains`).
pub fn next_round(
    regressor: &dyn Regressor,
    sampler: &SamplerConfig,
    n: usize,
    candidates: usize,
    minimize: bool,
    seed: u64,
) -> Result<Vec<f64>> {
    let d = sampler.domains();
    let rows = sampler.sample(candidates.max(2 * n), seed)?;
    let predictions = regressor.predict(&rows, d);
    let mut rng = SeededRng::for_stream(seed, "climb-next-round");
    Ok(select_promising(&predictions, n, minimize, &mut rng)
        .into_iter()
        .flat_map(|i| rows[i * d..(i + 1) * d].iter().copied())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_follow_four_two_one() {
        assert_eq!(round_sizes(112, 3), vec![64, 32, 16]);
        assert_eq!(round_sizes(16, 3), vec![10, 4, 2]);
        assert_eq!(round_sizes(5, 1), vec![5]);
        assert_eq!(round_sizes(128, 3).iter().sum::<usize>(), 128);
    }

    #[test]
    fn promising_picks_come_from_the_best_predictions() {
        let predictions: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let mut rng = SeededRng::new(1);
        let picks = select_promising(&predictions, 10, true, &mut rng);
        assert_eq!(picks.len(), 10);
        assert!(picks.iter().all(|&p| p < 20), "{picks:?}");
        let picks = select_promising(&predictions, 10, false, &mut rng);
        assert!(picks.iter().all(|&p| p >= 80), "{picks:?}");
        let mut distinct = picks;
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 10);
    }

    #[test]
    fn next_round_proposes_mixtures_the_regressor_likes() {
        let law = crate::regressors::MixingLaw {
            floor: 1.0,
            log_scale: 0.0,
            exponents: vec![-3.0, 0.0, 0.0],
        };
        let sampler = SamplerConfig::regmix(vec![1.0 / 3.0; 3]);
        let rows = next_round(&law, &sampler, 8, 4000, true, 5).unwrap();
        assert_eq!(rows.len(), 8 * 3);
        let mean_first: f64 = rows.chunks(3).map(|r| r[0]).sum::<f64>() / 8.0;
        assert!(mean_first > 0.8, "proposals favour domain 0: {mean_first}");
        assert_eq!(rows, next_round(&law, &sampler, 8, 4000, true, 5).unwrap());
    }
}
