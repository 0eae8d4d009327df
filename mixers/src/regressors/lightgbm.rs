//! Gradient-boosted trees through LightGBM (the `lightgbm3` bindings), RegMix's regressor:
//! `objective=regression`, learning rate 0.01, 1000 rounds, trees of at most 31 leaves.
//!
//! The number of rounds is fixed by default (RegMix's setting, which reproduces its ρ 0.990
//! on the 1M test runs). With `cv_folds ≥ 2` it is chosen instead by k-fold early stopping
//! on the training runs only: each fold trains on the others and stops once its held-out l2
//! has not improved for `EARLY_STOPPING_ROUNDS` rounds; the mean stopping round is then used
//! to train on every run. The test set is never seen.
//!
//! Training is single-threaded and `deterministic=true`, so the same runs and seed give the
//! same model text. Predictions parse that text into [`TreeEnsemble`] and run on all cores.
//!
//! Few runs: `lightgbm3` builds its Dataset with LightGBM's default parameters, whose feature
//! pre-filter drops every feature that cannot split with 20 rows per leaf (below 40 runs the
//! model is a constant; sparse domains vanish well above that). So each run is repeated
//! `r = ⌈20 / m⌉` times, where `m = clamp(runs / 16, 2, 20)` is the smallest leaf we want in
//! runs; 320 runs and more are used as they are (RegMix's 512 runs: the paper's setting).
//! For squared loss that is the same boosting as on the original runs with at least `20 / r`
//! runs per leaf: gradient and hessian sums both scale by `r`, so leaf values and the ranking
//! of splits do not change.

use lightgbm3::{Booster, Dataset};
use serde::{Deserialize, Serialize};

use super::lightgbm_trees::TreeEnsemble;
use super::{Regressor, RegressorKind, SavedRegressor};
use crate::{MixerError, Result};

const EARLY_STOPPING_ROUNDS: i64 = 50;
/// LightGBM's default `min_data_in_leaf`, which its Dataset pre-filter applies.
const DEFAULT_MIN_DATA_IN_LEAF: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LightGbmSettings {
    pub iterations: usize,
    pub learning_rate: f64,
    pub num_leaves: usize,
    /// `-1`: unlimited (LightGBM's default). CLIMB uses 4.
    pub max_depth: i64,
    /// `0`: fixed `iterations`; `k ≥ 2`: k-fold early stopping on the training runs.
    pub cv_folds: usize,
}

impl Default for LightGbmSettings {
    fn default() -> Self {
        Self {
            iterations: 1000,
            learning_rate: 0.01,
            num_leaves: 31,
            max_depth: -1,
            cv_folds: 0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LightGbmModel {
    /// LightGBM's own text format (what `Booster::save_string` gives).
    pub model_text: String,
    pub iterations: usize,
    trees: TreeEnsemble,
}

impl LightGbmModel {
    pub fn from_text(model_text: String, iterations: usize) -> Result<Self> {
        let trees = TreeEnsemble::parse(&model_text)?;
        Ok(Self {
            model_text,
            iterations,
            trees,
        })
    }

    pub fn fit(
        rows: &[f64],
        features: usize,
        y: &[f64],
        settings: &LightGbmSettings,
        seed: u64,
    ) -> Result<Self> {
        if y.len() < 4 {
            return Err(MixerError::Fit {
                regressor: "lightgbm",
                message: format!("{} run(s); at least 4 are needed", y.len()),
            });
        }
        let iterations = if settings.cv_folds >= 2 {
            cross_validated_iterations(rows, features, y, settings, seed)?
        } else {
            settings.iterations
        };
        let dataset = dataset(rows, features, y, replication(y.len()), None)?;
        let booster = Booster::train(dataset, &parameters(settings, iterations, seed, None))?;
        Self::from_text(booster.save_string()?, iterations)
    }
}

/// How many times each of `runs` runs is repeated in the training Dataset.
fn replication(runs: usize) -> usize {
    let smallest_leaf = (runs / 16).clamp(2, DEFAULT_MIN_DATA_IN_LEAF);
    DEFAULT_MIN_DATA_IN_LEAF.div_ceil(smallest_leaf)
}

fn parameters(
    settings: &LightGbmSettings,
    iterations: usize,
    seed: u64,
    early_stopping: Option<i64>,
) -> serde_json::Value {
    let mut parameters = serde_json::json!({
        "objective": "regression",
        "boosting_type": "gbdt",
        "metric": "l2",
        "num_iterations": iterations,
        "learning_rate": settings.learning_rate,
        "num_leaves": settings.num_leaves,
        "max_depth": settings.max_depth,
        "seed": seed % (i32::MAX as u64),
        "deterministic": true,
        "force_row_wise": true,
        "num_threads": 1,
        "verbosity": -1,
    });
    if let Some(rounds) = early_stopping {
        parameters["early_stopping_rounds"] = rounds.into();
    }
    parameters
}

/// A Dataset of `rows` repeated `repeat` times each.
fn dataset(
    rows: &[f64],
    features: usize,
    y: &[f64],
    repeat: usize,
    reference: Option<&Dataset>,
) -> Result<Dataset> {
    let labels: Vec<f32> = y
        .iter()
        .flat_map(|v| std::iter::repeat_n(*v as f32, repeat))
        .collect();
    let rows: Vec<f64> = rows
        .chunks_exact(features)
        .flat_map(|row| std::iter::repeat_n(row, repeat).flatten().copied())
        .collect();
    let features =
        i32::try_from(features).map_err(|_| MixerError::LightGbm("too many features".into()))?;
    Ok(Dataset::from_slice_with_reference(
        &rows, &labels, features, true, reference,
    )?)
}

fn cross_validated_iterations(
    rows: &[f64],
    features: usize,
    y: &[f64],
    settings: &LightGbmSettings,
    seed: u64,
) -> Result<usize> {
    let n = y.len();
    let folds = settings.cv_folds.min(n);
    let order = super::shuffled(n, seed);
    let mut stops = Vec::with_capacity(folds);
    for fold in 0..folds {
        let (mut train_x, mut train_y, mut valid_x, mut valid_y) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (position, &row) in order.iter().enumerate() {
            let (x, target) = if position % folds == fold {
                (&mut valid_x, &mut valid_y)
            } else {
                (&mut train_x, &mut train_y)
            };
            x.extend_from_slice(&rows[row * features..(row + 1) * features]);
            target.push(y[row]);
        }
        let train = dataset(
            &train_x,
            features,
            &train_y,
            replication(train_y.len()),
            None,
        )?;
        let valid = dataset(&valid_x, features, &valid_y, 1, Some(&train))?;
        let booster = Booster::train_with_valid(
            train,
            Some(valid),
            &parameters(
                settings,
                settings.iterations,
                seed,
                Some(EARLY_STOPPING_ROUNDS),
            ),
        )?;
        stops.push(booster.num_iterations().max(1) as usize);
    }
    Ok((stops.iter().sum::<usize>() as f64 / stops.len() as f64).round() as usize)
}

impl Regressor for LightGbmModel {
    fn kind(&self) -> RegressorKind {
        RegressorKind::LightGbm
    }

    fn predict(&self, rows: &[f64], features: usize) -> Vec<f64> {
        self.trees.predict(rows, features)
    }

    fn save(&self) -> SavedRegressor {
        SavedRegressor::LightGbm {
            iterations: self.iterations,
            model: self.model_text.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blend_kernels::SeededRng;

    fn synthetic(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = SeededRng::new(seed);
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for _ in 0..n {
            let mut row = [rng.next_f64(), rng.next_f64() * 0.5, 0.0, rng.next_f64()];
            if rng.bernoulli(0.3) {
                row[1] = 0.0;
            }
            let sum: f64 = row.iter().sum();
            row.iter_mut().for_each(|w| *w /= sum);
            y.push(3.0 + (-2.0 * row[0]).exp() + 0.5 * row[1] * row[3]);
            rows.extend_from_slice(&row);
        }
        (rows, y)
    }

    #[test]
    fn our_tree_walk_matches_the_c_library_exactly() {
        let (rows, y) = synthetic(300, 1);
        let settings = LightGbmSettings {
            iterations: 200,
            ..Default::default()
        };
        let model = LightGbmModel::fit(&rows, 4, &y, &settings, 7).unwrap();
        assert_eq!(model.trees.trees(), 200);
        let booster = Booster::from_string(&model.model_text).unwrap();
        let (test, _) = synthetic(500, 2);
        let ours = model.predict(&test, 4);
        let theirs = booster.predict(&test, 4, true).unwrap();
        for (a, b) in ours.iter().zip(&theirs) {
            assert!((a - b).abs() <= 1e-12 * b.abs(), "{a} vs {b}");
        }
        let again = LightGbmModel::fit(&rows, 4, &y, &settings, 7).unwrap();
        assert_eq!(
            again.model_text, model.model_text,
            "training is deterministic"
        );
    }

    #[test]
    fn replication_keeps_the_papers_setting_for_many_runs() {
        assert_eq!(replication(512), 1);
        assert_eq!(replication(320), 1);
        assert_eq!(replication(256), 2);
        assert_eq!(replication(64), 5);
        assert_eq!(replication(16), 10);
    }

    #[test]
    fn a_handful_of_runs_still_gives_a_model_that_ranks() {
        let (rows, y) = synthetic(24, 4);
        let settings = LightGbmSettings {
            iterations: 300,
            ..Default::default()
        };
        let model = LightGbmModel::fit(&rows, 4, &y, &settings, 7).unwrap();
        let predictions = model.predict(&rows, 4);
        let distinct = predictions
            .iter()
            .map(|p| p.to_bits())
            .collect::<std::collections::HashSet<_>>()
            .len();
        assert!(
            distinct > 3,
            "24 runs give a non-constant model ({distinct} distinct predictions)"
        );
        assert!(crate::metrics::spearman(&y, &predictions) > 0.8);
    }

    #[test]
    fn k_fold_early_stopping_stops_before_the_cap_on_noise() {
        let mut rng = SeededRng::new(3);
        let rows: Vec<f64> = (0..200 * 2).map(|_| rng.next_f64()).collect();
        let y: Vec<f64> = (0..200).map(|_| rng.next_f64()).collect();
        let settings = LightGbmSettings {
            iterations: 1000,
            cv_folds: 5,
            ..Default::default()
        };
        let model = LightGbmModel::fit(&rows, 2, &y, &settings, 1).unwrap();
        assert!(
            model.iterations < 1000,
            "pure noise stops early, got {}",
            model.iterations
        );
    }
}
