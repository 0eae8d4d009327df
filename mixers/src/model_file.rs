//! The file `blend mix fit` writes and `mix predict` / `mix search` read: a fitted regressor
//! with its target, domains, settings, the training runs it saw (so a search can bootstrap
//! an interval without the original tables) and its k-fold out-of-fold predictions.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::experiment_table::ExperimentTable;
use crate::metrics::FitQuality;
use crate::regressors::{
    FitSettings, Regressor, RegressorKind, SavedRegressor, fit_regressor, gather_rows, shuffled,
};
use crate::{MixerError, Result};

pub const MODEL_SCHEMA_VERSION: u32 = 1;
/// Folds of the cross-validation every fit reports.
pub const REPORT_FOLDS: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingRuns {
    pub run_ids: Vec<String>,
    /// Row-major `runs × domains`.
    pub weights: Vec<f64>,
    pub target: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossValidation {
    pub folds: usize,
    pub quality: FitQuality,
    /// Out-of-fold prediction of each training run.
    pub predictions: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegressorModel {
    pub schema_version: u32,
    pub target: String,
    /// Lower is better (a loss); false for metrics to maximize.
    pub minimize: bool,
    pub domains: Vec<String>,
    pub regressor: SavedRegressor,
    pub settings: FitSettings,
    pub training: TrainingRuns,
    pub cross_validation: Option<CrossValidation>,
    /// sha256 of the tables the model was fitted on, by path.
    pub inputs: BTreeMap<String, String>,
}

impl RegressorModel {
    /// Fits `kind` on `table`'s `target`, with a `REPORT_FOLDS`-fold cross-validation
    /// when there are enough runs (≥ 2 per fold).
    pub fn fit(
        table: &ExperimentTable,
        target: &str,
        kind: RegressorKind,
        settings: &FitSettings,
        minimize: bool,
        inputs: BTreeMap<String, String>,
    ) -> Result<Self> {
        let y = table.target(target)?;
        let features = table.domains.len();
        let regressor = fit_regressor(kind, &table.weights, features, &y, settings)?;
        let cross_validation = if y.len() >= 2 * REPORT_FOLDS {
            Some(cross_validate(
                kind,
                &table.weights,
                features,
                &y,
                settings,
                REPORT_FOLDS,
            )?)
        } else {
            None
        };
        Ok(Self {
            schema_version: MODEL_SCHEMA_VERSION,
            target: target.to_string(),
            minimize,
            domains: table.domains.clone(),
            regressor: regressor.save(),
            settings: settings.clone(),
            training: TrainingRuns {
                run_ids: table.run_ids.clone(),
                weights: table.weights.clone(),
                target: y,
            },
            cross_validation,
            inputs,
        })
    }

    pub fn kind(&self) -> RegressorKind {
        match self.regressor {
            SavedRegressor::LightGbm { .. } => RegressorKind::LightGbm,
            SavedRegressor::Linear(_) => RegressorKind::Linear,
            SavedRegressor::LogLinear(_) => RegressorKind::LogLinear,
            SavedRegressor::MixingLaw(_) => RegressorKind::MixingLaw,
        }
    }

    pub fn regressor(&self) -> Result<Box<dyn Regressor>> {
        self.regressor.clone().load()
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let mut json = serde_json::to_string_pretty(self).expect("a model serializes");
        json.push('\n');
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| model_error(path, e.to_string()))?;
        }
        std::fs::write(path, json).map_err(|e| model_error(path, e.to_string()))
    }

    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| model_error(path, e.to_string()))?;
        let model: Self =
            serde_json::from_slice(&bytes).map_err(|e| model_error(path, e.to_string()))?;
        if model.schema_version != MODEL_SCHEMA_VERSION {
            return Err(model_error(
                path,
                format!(
                    "schema_version {} (this blend reads {MODEL_SCHEMA_VERSION})",
                    model.schema_version
                ),
            ));
        }
        let runs = model.training.target.len();
        if model.training.weights.len() != runs * model.domains.len() {
            return Err(model_error(
                path,
                "training weights do not match runs × domains".into(),
            ));
        }
        if model.domains.is_empty() {
            return Err(model_error(path, "the model lists no domains".into()));
        }
        let features = model
            .regressor
            .features()
            .map_err(|e| model_error(path, e.to_string()))?;
        if features != model.domains.len() {
            return Err(model_error(
                path,
                format!(
                    "the {} regressor takes {features} domain weights but the model lists {} domains",
                    model.kind(),
                    model.domains.len()
                ),
            ));
        }
        Ok(model)
    }

    /// `table`'s weights in this model's domain order.
    pub fn align(&self, table: &ExperimentTable) -> Result<Vec<f64>> {
        table.weights_for(&self.domains)
    }
}

fn model_error(path: &Path, message: String) -> MixerError {
    MixerError::Model {
        path: path.to_path_buf(),
        message,
    }
}

/// Out-of-fold predictions of `folds`-fold cross-validation (folds by a seeded shuffle).
pub fn cross_validate(
    kind: RegressorKind,
    rows: &[f64],
    features: usize,
    y: &[f64],
    settings: &FitSettings,
    folds: usize,
) -> Result<CrossValidation> {
    let order = shuffled(y.len(), settings.seed);
    let mut predictions = vec![f64::NAN; y.len()];
    for fold in 0..folds {
        let held: Vec<usize> = order
            .iter()
            .enumerate()
            .filter(|(p, _)| p % folds == fold)
            .map(|(_, &r)| r)
            .collect();
        let kept: Vec<usize> = order
            .iter()
            .enumerate()
            .filter(|(p, _)| p % folds != fold)
            .map(|(_, &r)| r)
            .collect();
        let gather = |picks: &[usize]| gather_rows(rows, features, picks);
        let train_y: Vec<f64> = kept.iter().map(|&r| y[r]).collect();
        let model = fit_regressor(kind, &gather(&kept), features, &train_y, settings)?;
        for (r, p) in held.iter().zip(model.predict(&gather(&held), features)) {
            predictions[*r] = p;
        }
    }
    Ok(CrossValidation {
        folds,
        quality: FitQuality::of(y, &predictions),
        predictions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regressors::LinearModel;

    fn linear_model(coefficients: usize, domains: usize) -> RegressorModel {
        RegressorModel {
            schema_version: MODEL_SCHEMA_VERSION,
            target: "loss".into(),
            minimize: true,
            domains: (0..domains).map(|d| format!("d{d}")).collect(),
            regressor: SavedRegressor::Linear(LinearModel {
                intercept: 1.0,
                coefficients: vec![0.5; coefficients],
                log_target: false,
            }),
            settings: FitSettings::default(),
            training: TrainingRuns {
                run_ids: vec!["r1".into()],
                weights: vec![1.0 / domains.max(1) as f64; domains],
                target: vec![2.0],
            },
            cross_validation: None,
            inputs: BTreeMap::new(),
        }
    }

    #[test]
    fn a_regressor_of_another_width_than_the_domains_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.json");
        linear_model(3, 3).write(&path).unwrap();
        assert_eq!(RegressorModel::read(&path).unwrap().domains.len(), 3);
        linear_model(2, 3).write(&path).unwrap();
        let error = RegressorModel::read(&path).unwrap_err().to_string();
        assert!(
            error.contains("model.json") && error.contains("takes 2 domain weights"),
            "{error}"
        );
    }

    #[test]
    fn a_model_without_domains_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.json");
        linear_model(0, 0).write(&path).unwrap();
        let error = RegressorModel::read(&path).unwrap_err().to_string();
        assert!(
            error.contains("empty.json") && error.contains("no domains"),
            "{error}"
        );
    }
}
