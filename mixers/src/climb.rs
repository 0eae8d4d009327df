//! CLIMB-style iterative search (Diao et al., 2025): instead of training every proxy run up
//! front, train them in rounds (e.g. 64, 32, 16); after each round refit the regressor and
//! pick the next runs among the candidates it predicts best, so later runs concentrate where
//! the good mixtures are.
//!
//! [`select_promising`] is the picking step, shared by the closed loop (candidates freshly
//! drawn from the sampler) and by [`pool_study`], the honest offline evaluation on recorded
//! runs: a strategy may "train" (look up) any run of a fixed pool, and is judged by the true
//! metric of the best run it found and by ρ on held-out test runs after k queries, against
//! picking the same number of runs at random.

use serde::{Deserialize, Serialize};

use blend_kernels::SeededRng;

use crate::metrics::spearman;
use crate::regressors::{FitSettings, Regressor, RegressorKind, fit_regressor, gather_rows};
use crate::sampler::SamplerConfig;
use crate::search::percentile;
use crate::{MixerError, Result};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    Random,
    Climb,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Self::Random => "random",
            Self::Climb => "climb",
        }
    }
}

/// Recorded runs a strategy may query, and the held-out runs that judge it.
#[derive(Debug, Clone, Copy)]
pub struct Pool<'a> {
    pub domains: usize,
    pub weights: &'a [f64],
    pub target: &'a [f64],
    pub test_weights: &'a [f64],
    pub test_target: &'a [f64],
    pub minimize: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyPoint {
    pub strategy: Strategy,
    pub queries: usize,
    pub repeats: usize,
    /// Mean over repeats of the best true metric among the queried runs.
    pub best_found_mean: f64,
    /// Mean over repeats of ρ on the test runs of a regressor fitted on the queried runs.
    pub spearman_mean: f64,
    pub spearman_low: f64,
    pub spearman_high: f64,
}

/// Compares CLIMB rounds and random picks at each budget in `queries`, over `repeats` seeds.
pub fn pool_study(
    pool: Pool<'_>,
    queries: &[usize],
    rounds: usize,
    repeats: usize,
    kind: RegressorKind,
    settings: &FitSettings,
) -> Result<Vec<StudyPoint>> {
    let n = pool.target.len();
    if let Some(&too_many) = queries.iter().find(|&&q| q > n || q < 4) {
        return Err(MixerError::Invalid(format!(
            "{too_many} queries: a budget must be between 4 and the pool's {n} runs"
        )));
    }
    let mut points = Vec::new();
    for &budget in queries {
        for strategy in [Strategy::Random, Strategy::Climb] {
            let mut best = Vec::with_capacity(repeats);
            let mut rhos = Vec::with_capacity(repeats);
            for repeat in 0..repeats {
                let seed = settings.seed.wrapping_add(repeat as u64 * 7919);
                let chosen = match strategy {
                    Strategy::Random => random_subset(n, budget, seed),
                    Strategy::Climb => climb_queries(pool, budget, rounds, kind, settings, seed)?,
                };
                let sign = if pool.minimize { 1.0 } else { -1.0 };
                best.push(
                    chosen
                        .iter()
                        .map(|&r| sign * pool.target[r])
                        .fold(f64::INFINITY, f64::min)
                        * sign,
                );
                let rows = gather_rows(pool.weights, pool.domains, &chosen);
                let y: Vec<f64> = chosen.iter().map(|&r| pool.target[r]).collect();
                let model = fit_regressor(kind, &rows, pool.domains, &y, settings)?;
                let predicted = model.predict(pool.test_weights, pool.domains);
                rhos.push(spearman(pool.test_target, &predicted));
            }
            let mut sorted = rhos.clone();
            sorted.sort_by(f64::total_cmp);
            points.push(StudyPoint {
                strategy,
                queries: budget,
                repeats,
                best_found_mean: best.iter().sum::<f64>() / repeats as f64,
                spearman_mean: rhos.iter().sum::<f64>() / repeats as f64,
                spearman_low: percentile(&sorted, 0.0),
                spearman_high: percentile(&sorted, 1.0),
            });
        }
    }
    Ok(points)
}

fn climb_queries(
    pool: Pool<'_>,
    budget: usize,
    rounds: usize,
    kind: RegressorKind,
    settings: &FitSettings,
    seed: u64,
) -> Result<Vec<usize>> {
    let n = pool.target.len();
    let sizes = round_sizes(budget, rounds);
    let mut rng = SeededRng::for_stream(seed, "climb-rounds");
    let mut chosen = random_subset(n, sizes[0], seed);
    for &size in &sizes[1..] {
        let rows = gather_rows(pool.weights, pool.domains, &chosen);
        let y: Vec<f64> = chosen.iter().map(|&r| pool.target[r]).collect();
        let model = fit_regressor(kind, &rows, pool.domains, &y, settings)?;
        let remaining: Vec<usize> = (0..n).filter(|r| !chosen.contains(r)).collect();
        let predictions = model.predict(
            &gather_rows(pool.weights, pool.domains, &remaining),
            pool.domains,
        );
        for pick in select_promising(&predictions, size, pool.minimize, &mut rng) {
            chosen.push(remaining[pick]);
        }
    }
    Ok(chosen)
}

fn random_subset(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut rng = SeededRng::for_stream(seed, "random-runs");
    let mut order: Vec<usize> = (0..n).collect();
    for i in 0..k.min(n) {
        let j = i + rng.below((n - i) as u64) as usize;
        order.swap(i, j);
    }
    order.truncate(k);
    order
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

    #[test]
    fn climb_finds_better_runs_than_random_on_a_smooth_law() {
        // Loss = 3 + exp(-3 w0) + w1: the best runs have much of domain 0 and none of 1.
        let mut rng = SeededRng::new(9);
        let make = |rng: &mut SeededRng, n: usize| {
            let mut rows = Vec::new();
            for _ in 0..n {
                let a = [rng.next_f64(), rng.next_f64(), rng.next_f64()];
                let s: f64 = a.iter().sum();
                rows.extend(a.iter().map(|x| x / s));
            }
            let y: Vec<f64> = rows
                .chunks(3)
                .map(|r| 3.0 + (-3.0 * r[0]).exp() + r[1])
                .collect();
            (rows, y)
        };
        let (weights, target) = make(&mut rng, 300);
        let (test_weights, test_target) = make(&mut rng, 100);
        let pool = Pool {
            domains: 3,
            weights: &weights,
            target: &target,
            test_weights: &test_weights,
            test_target: &test_target,
            minimize: true,
        };
        let points = pool_study(
            pool,
            &[30],
            3,
            3,
            RegressorKind::Linear,
            &FitSettings::default(),
        )
        .unwrap();
        let (random, climb) = (&points[0], &points[1]);
        assert_eq!(
            (random.strategy, climb.strategy),
            (Strategy::Random, Strategy::Climb)
        );
        assert!(climb.best_found_mean < random.best_found_mean, "{points:?}");
        assert!(random.spearman_mean > 0.8, "{points:?}");
    }
}
