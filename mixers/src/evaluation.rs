//! Held-out evaluation of the regressors, as RegMix reports it: fit on the training runs,
//! predict the test runs, and compare ranks (Spearman ρ), R² and MAE; plus the learning
//! curve of ρ against the number of training runs.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::metrics::{FitQuality, spearman};
use crate::regressors::{FitSettings, RegressorKind, fit_regressor, gather_rows};
use crate::search::percentile;
use crate::{MixerError, Result};

/// Training and test runs over the same domains (row-major weights).
#[derive(Debug, Clone, Copy)]
pub struct Split<'a> {
    pub domains: usize,
    pub train_weights: &'a [f64],
    pub train_target: &'a [f64],
    pub test_weights: &'a [f64],
    pub test_target: &'a [f64],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressorScore {
    pub regressor: RegressorKind,
    pub quality: FitQuality,
    pub fit_seconds: f64,
    /// Test-run predictions, in test order (for the predicted-vs-actual plot).
    pub test_predictions: Vec<f64>,
}

pub fn score_regressors(
    split: Split<'_>,
    kinds: &[RegressorKind],
    settings: &FitSettings,
) -> Result<Vec<RegressorScore>> {
    kinds
        .iter()
        .map(|&kind| {
            let start = Instant::now();
            let model = fit_regressor(
                kind,
                split.train_weights,
                split.domains,
                split.train_target,
                settings,
            )?;
            let fit_seconds = start.elapsed().as_secs_f64();
            let test_predictions = model.predict(split.test_weights, split.domains);
            Ok(RegressorScore {
                regressor: kind,
                quality: FitQuality::of(split.test_target, &test_predictions),
                fit_seconds,
                test_predictions,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub regressor: RegressorKind,
    pub training_runs: usize,
    pub repeats: usize,
    pub spearman_mean: f64,
    pub spearman_low: f64,
    pub spearman_high: f64,
}

/// ρ on the test runs when fitting on the first `n` of `repeats` seeded shuffles of the
/// training runs, for each `n` in `sizes` (one repeat when `n` is all of them).
pub fn learning_curve(
    split: Split<'_>,
    sizes: &[usize],
    repeats: usize,
    kinds: &[RegressorKind],
    settings: &FitSettings,
) -> Result<Vec<CurvePoint>> {
    let n = split.train_target.len();
    if let Some(&bad) = sizes.iter().find(|&&s| s > n || s < 4) {
        return Err(MixerError::Invalid(format!(
            "learning-curve size {bad}: sizes must be between 4 and the {n} training runs"
        )));
    }
    let d = split.domains;
    let mut points = Vec::new();
    for &kind in kinds {
        for &size in sizes {
            let repeats_here = if size == n { 1 } else { repeats.max(1) };
            let mut rhos = Vec::with_capacity(repeats_here);
            for repeat in 0..repeats_here {
                let order =
                    crate::regressors::shuffled(n, settings.seed.wrapping_add(repeat as u64));
                let rows = gather_rows(split.train_weights, d, &order[..size]);
                let y: Vec<f64> = order[..size]
                    .iter()
                    .map(|&r| split.train_target[r])
                    .collect();
                let model = fit_regressor(kind, &rows, d, &y, settings)?;
                rhos.push(spearman(
                    split.test_target,
                    &model.predict(split.test_weights, d),
                ));
            }
            let mut sorted = rhos.clone();
            sorted.sort_by(f64::total_cmp);
            points.push(CurvePoint {
                regressor: kind,
                training_runs: size,
                repeats: repeats_here,
                spearman_mean: rhos.iter().sum::<f64>() / rhos.len() as f64,
                spearman_low: percentile(&sorted, 0.0),
                spearman_high: percentile(&sorted, 1.0),
            });
        }
    }
    Ok(points)
}

/// Everything `blend mix eval` measures, as written to `evaluation.json` and drawn in the
/// report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationReport {
    pub target: String,
    pub domains: Vec<String>,
    pub train_runs: usize,
    pub test_runs: usize,
    pub settings: FitSettings,
    pub scores: Vec<RegressorScore>,
    /// Measured test values, in the order of each score's `test_predictions`.
    pub test_target: Vec<f64>,
    pub learning_curve: Vec<CurvePoint>,
    pub climb: Vec<crate::climb::StudyPoint>,
}

impl EvaluationReport {
    pub fn score(&self, kind: RegressorKind) -> Option<&RegressorScore> {
        self.scores.iter().find(|s| s.regressor == kind)
    }
}
