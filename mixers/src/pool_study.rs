//! The honest offline comparison of search strategies on recorded runs: a strategy may
//! "train" (look up) any run of a fixed pool, and is judged by the true metric of the best
//! run it found and by ρ on held-out test runs after k queries.
//!
//! Strategies: random picks; CLIMB's rounds ([`crate::climb`]); single-fidelity Bayesian
//! optimisation (a random quarter of the budget, then one run at a time by expected
//! improvement of a Gaussian process, [`crate::bayes_opt`]); and RegMix's one shot (k − 1
//! random runs, then the run the regressor predicts best).

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use blend_kernels::SeededRng;

use crate::bayes_opt::expected_improvement;
use crate::bayes_opt::{GaussianProcess, GpHyperparameters, GpSettings, best_mean};
use crate::climb::{round_sizes, select_promising};
use crate::metrics::spearman;
use crate::regressors::{FitSettings, RegressorKind, fit_regressor, gather_rows};
use crate::search::percentile;
use crate::{MixerError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    Random,
    Climb,
    BayesOpt,
    #[serde(rename = "regmix")]
    RegMix,
}

impl Strategy {
    pub const ALL: [Self; 4] = [Self::Random, Self::Climb, Self::BayesOpt, Self::RegMix];

    pub fn name(self) -> &'static str {
        match self {
            Self::Random => "random",
            Self::Climb => "climb",
            Self::BayesOpt => "bayes_opt",
            Self::RegMix => "regmix",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Strategy {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == text.replace('-', "_"))
            .ok_or_else(|| {
                format!(
                    "unknown strategy `{text}`; expected one of: {}",
                    Self::ALL.map(Self::name).join(", ")
                )
            })
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
    /// Mean over repeats of ρ on the test runs of a model fitted on the queried runs (the
    /// study's regressor; for Bayesian optimisation, the Gaussian process's mean).
    pub spearman_mean: f64,
    pub spearman_low: f64,
    pub spearman_high: f64,
}

/// Compares every [`Strategy`] at each budget in `queries`, over `repeats` seeds.
pub fn pool_study(
    pool: Pool<'_>,
    queries: &[usize],
    rounds: usize,
    repeats: usize,
    kind: RegressorKind,
    settings: &FitSettings,
) -> Result<Vec<StudyPoint>> {
    compare_strategies(
        pool,
        &Strategy::ALL,
        queries,
        rounds,
        repeats,
        kind,
        settings,
    )
}

/// Compares `strategies` at each budget in `queries`, over `repeats` seeds (repeats run in
/// parallel; each is seeded, so the result does not depend on the thread count). Points
/// come budget by budget, strategies in the given order.
pub fn compare_strategies(
    pool: Pool<'_>,
    strategies: &[Strategy],
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
        for &strategy in strategies {
            let outcomes: Vec<(f64, f64)> = (0..repeats)
                .into_par_iter()
                .map(|repeat| {
                    let seed = settings.seed.wrapping_add(repeat as u64 * 7919);
                    let query = Query {
                        pool,
                        budget,
                        rounds,
                        kind,
                        settings,
                        seed,
                    };
                    query.run(strategy)
                })
                .collect::<Result<_>>()?;
            let rhos: Vec<f64> = outcomes.iter().map(|o| o.1).collect();
            let mut sorted = rhos.clone();
            sorted.sort_by(f64::total_cmp);
            points.push(StudyPoint {
                strategy,
                queries: budget,
                repeats,
                best_found_mean: outcomes.iter().map(|o| o.0).sum::<f64>() / repeats as f64,
                spearman_mean: rhos.iter().sum::<f64>() / repeats as f64,
                spearman_low: percentile(&sorted, 0.0),
                spearman_high: percentile(&sorted, 1.0),
            });
        }
    }
    Ok(points)
}

/// One repeat of one strategy at one budget.
#[derive(Debug, Clone, Copy)]
struct Query<'a> {
    pool: Pool<'a>,
    budget: usize,
    rounds: usize,
    kind: RegressorKind,
    settings: &'a FitSettings,
    seed: u64,
}

impl Query<'_> {
    /// The best true metric among the queried runs, and ρ on the test runs.
    fn run(&self, strategy: Strategy) -> Result<(f64, f64)> {
        let pool = self.pool;
        let n = pool.target.len();
        let (chosen, test_predictions) = match strategy {
            Strategy::Random => (random_subset(n, self.budget, self.seed), None),
            Strategy::Climb => (self.climb()?, None),
            Strategy::BayesOpt => {
                let (chosen, gp) = self.bayes_opt()?;
                (chosen, Some(gp.predict_latent(pool.test_weights).0))
            }
            Strategy::RegMix => (self.regmix_one_shot()?, None),
        };
        let test_predictions = match test_predictions {
            Some(predictions) => predictions,
            None => {
                let (rows, y) = self.queried(&chosen);
                fit_regressor(self.kind, &rows, pool.domains, &y, self.settings)?
                    .predict(pool.test_weights, pool.domains)
            }
        };
        let targets: Vec<f64> = chosen.iter().map(|&r| pool.target[r]).collect();
        Ok((
            best_mean(&targets, pool.minimize),
            spearman(pool.test_target, &test_predictions),
        ))
    }

    fn queried(&self, chosen: &[usize]) -> (Vec<f64>, Vec<f64>) {
        let rows = gather_rows(self.pool.weights, self.pool.domains, chosen);
        let y = chosen.iter().map(|&r| self.pool.target[r]).collect();
        (rows, y)
    }

    fn remaining(&self, chosen: &[usize]) -> Vec<usize> {
        (0..self.pool.target.len())
            .filter(|r| !chosen.contains(r))
            .collect()
    }

    fn climb(&self) -> Result<Vec<usize>> {
        let pool = self.pool;
        let sizes = round_sizes(self.budget, self.rounds);
        let mut rng = SeededRng::for_stream(self.seed, "climb-rounds");
        let mut chosen = random_subset(pool.target.len(), sizes[0], self.seed);
        for &size in &sizes[1..] {
            let (rows, y) = self.queried(&chosen);
            let model = fit_regressor(self.kind, &rows, pool.domains, &y, self.settings)?;
            let remaining = self.remaining(&chosen);
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

    /// A random quarter of the budget (at least 4 runs), then one run at a time: the
    /// remaining run with the highest expected improvement under a Gaussian process fitted
    /// on the runs so far. Each refit starts from the previous fit's hyperparameters; only
    /// the first also tries random restarts. Returns the runs and the last fit.
    fn bayes_opt(&self) -> Result<(Vec<usize>, GaussianProcess)> {
        let pool = self.pool;
        let initial = (self.budget / 4).max(4).min(self.budget);
        let mut chosen = random_subset(pool.target.len(), initial, self.seed);
        let mut previous: Option<GpHyperparameters> = None;
        loop {
            let (rows, y) = self.queried(&chosen);
            let gp_settings = GpSettings {
                restarts: if previous.is_none() { 2 } else { 0 },
                seed: self.seed,
                initial: previous.take(),
                ..GpSettings::default()
            };
            let gp = GaussianProcess::fit(&rows, pool.domains, &y, &gp_settings)?;
            if chosen.len() >= self.budget {
                return Ok((chosen, gp));
            }
            let incumbent = best_mean(&gp.predict_latent(&rows).0, pool.minimize);
            let remaining = self.remaining(&chosen);
            let (means, stds) =
                gp.predict_latent(&gather_rows(pool.weights, pool.domains, &remaining));
            let improvement =
                |i: usize| expected_improvement(means[i], stds[i], incumbent, pool.minimize);
            let best = (1..remaining.len()).fold(0, |best, i| {
                if improvement(i) > improvement(best) {
                    i
                } else {
                    best
                }
            });
            chosen.push(remaining[best]);
            previous = Some(gp.hyperparameters().clone());
        }
    }

    /// RegMix's one shot: `budget − 1` random runs, then the remaining run the study's
    /// regressor predicts best.
    fn regmix_one_shot(&self) -> Result<Vec<usize>> {
        let pool = self.pool;
        let mut chosen = random_subset(pool.target.len(), self.budget - 1, self.seed);
        let (rows, y) = self.queried(&chosen);
        let model = fit_regressor(self.kind, &rows, pool.domains, &y, self.settings)?;
        let remaining = self.remaining(&chosen);
        let predictions = model.predict(
            &gather_rows(pool.weights, pool.domains, &remaining),
            pool.domains,
        );
        let sign = if pool.minimize { 1.0 } else { -1.0 };
        let best = (1..remaining.len()).fold(0, |best, i| {
            if sign * predictions[i] < sign * predictions[best] {
                i
            } else {
                best
            }
        });
        chosen.push(remaining[best]);
        Ok(chosen)
    }
}

/// `k` of `0..n` by a seeded partial shuffle: the first `k` of a seed are the same whatever
/// `k`, so strategies that start at random share their start with [`Strategy::Random`].
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

    /// Loss = 3 + exp(-3 w0) + w1 on random mixtures of 3 domains: the best runs have much of
    /// domain 0 and none of 1.
    fn smooth_law_pool(rng: &mut SeededRng, n: usize) -> (Vec<f64>, Vec<f64>) {
        let mut rows = Vec::new();
        for _ in 0..n {
            let a = [rng.next_f64(), rng.next_f64(), rng.next_f64()];
            let s: f64 = a.iter().sum();
            rows.extend(a.iter().map(|x| x / s));
        }
        let y = rows
            .chunks(3)
            .map(|r| 3.0 + (-3.0 * r[0]).exp() + r[1])
            .collect();
        (rows, y)
    }

    fn study(strategies: &[Strategy], budget: usize) -> Vec<StudyPoint> {
        let mut rng = SeededRng::new(9);
        let (weights, target) = smooth_law_pool(&mut rng, 300);
        let (test_weights, test_target) = smooth_law_pool(&mut rng, 100);
        let pool = Pool {
            domains: 3,
            weights: &weights,
            target: &target,
            test_weights: &test_weights,
            test_target: &test_target,
            minimize: true,
        };
        compare_strategies(
            pool,
            strategies,
            &[budget],
            3,
            3,
            RegressorKind::Linear,
            &FitSettings::default(),
        )
        .unwrap()
    }

    #[test]
    fn climb_finds_better_runs_than_random_on_a_smooth_law() {
        let points = study(&Strategy::ALL, 30);
        let (random, climb) = (&points[0], &points[1]);
        assert_eq!(
            (random.strategy, climb.strategy),
            (Strategy::Random, Strategy::Climb)
        );
        assert!(climb.best_found_mean < random.best_found_mean, "{points:?}");
        assert!(random.spearman_mean > 0.8, "{points:?}");
    }

    #[test]
    fn bayes_opt_finds_better_runs_than_random_on_a_smooth_law() {
        let points = study(
            &[Strategy::Random, Strategy::BayesOpt, Strategy::RegMix],
            20,
        );
        let (random, bayes_opt, regmix) = (&points[0], &points[1], &points[2]);
        assert_eq!(bayes_opt.strategy, Strategy::BayesOpt);
        assert!(
            bayes_opt.best_found_mean < random.best_found_mean,
            "{points:?}"
        );
        assert!(bayes_opt.spearman_mean > 0.8, "{points:?}");
        assert!(
            regmix.best_found_mean <= random.best_found_mean,
            "{points:?}"
        );
    }

    #[test]
    fn every_strategy_is_compared_by_default_and_names_round_trip() {
        let weights = [0.2, 0.8, 0.5, 0.5, 0.9, 0.1, 0.3, 0.7, 0.6, 0.4, 0.1, 0.9];
        let target: Vec<f64> = weights.chunks(2).map(|w| 3.0 + w[1]).collect();
        let pool = Pool {
            domains: 2,
            weights: &weights,
            target: &target,
            test_weights: &weights,
            test_target: &target,
            minimize: true,
        };
        let points = pool_study(
            pool,
            &[5],
            2,
            2,
            RegressorKind::Linear,
            &FitSettings::default(),
        )
        .unwrap();
        let strategies: Vec<Strategy> = points.iter().map(|p| p.strategy).collect();
        assert_eq!(strategies, Strategy::ALL);
        for strategy in Strategy::ALL {
            assert_eq!(strategy.name().parse::<Strategy>().unwrap(), strategy);
            let json = serde_json::to_string(&strategy).unwrap();
            assert_eq!(json, format!("\"{}\"", strategy.name()));
        }
        assert!(
            pool_study(
                pool,
                &[7],
                2,
                1,
                RegressorKind::Linear,
                &FitSettings::default()
            )
            .is_err()
        );
    }
}
