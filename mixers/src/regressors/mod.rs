//! Regressors from domain weights to a metric, all behind [`Regressor`]: LightGBM (RegMix),
//! linear, log-linear and the exponential data-mixing law. [`fit_regressor`] fits any of
//! them; [`SavedRegressor`] is how a fitted one is stored in a model file.

pub mod lightgbm;
pub mod lightgbm_trees;
pub mod linear;
pub mod mixing_law;
pub mod ridge;

use std::fmt;
use std::str::FromStr;

use blend_kernels::SeededRng;
use serde::{Deserialize, Serialize};

pub use lightgbm::{LightGbmModel, LightGbmSettings};
pub use linear::LinearModel;
pub use mixing_law::MixingLaw;

use crate::{MixerError, Result};

/// A fitted map from a mixture (one weight per domain) to a predicted metric.
pub trait Regressor: fmt::Debug + Send + Sync {
    fn kind(&self) -> RegressorKind;
    /// Predictions for the rows of a row-major `n × features` matrix, in parallel.
    fn predict(&self, rows: &[f64], features: usize) -> Vec<f64>;
    /// What a model file stores to rebuild this regressor.
    fn save(&self) -> SavedRegressor;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegressorKind {
    #[serde(rename = "lightgbm")]
    LightGbm,
    Linear,
    LogLinear,
    MixingLaw,
}

impl RegressorKind {
    pub const ALL: [Self; 4] = [
        Self::LightGbm,
        Self::Linear,
        Self::LogLinear,
        Self::MixingLaw,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::LightGbm => "lightgbm",
            Self::Linear => "linear",
            Self::LogLinear => "log_linear",
            Self::MixingLaw => "mixing_law",
        }
    }
}

impl fmt::Display for RegressorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RegressorKind {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == text.replace('-', "_"))
            .ok_or_else(|| {
                format!(
                    "unknown regressor `{text}`; expected one of: {}",
                    Self::ALL.map(Self::name).join(", ")
                )
            })
    }
}

/// Everything that shapes a fit besides the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitSettings {
    pub seed: u64,
    pub lightgbm: LightGbmSettings,
}

impl Default for FitSettings {
    fn default() -> Self {
        Self {
            seed: 42,
            lightgbm: LightGbmSettings::default(),
        }
    }
}

/// Fits `kind` on row-major `rows` (`n × features`) against `y`.
pub fn fit_regressor(
    kind: RegressorKind,
    rows: &[f64],
    features: usize,
    y: &[f64],
    settings: &FitSettings,
) -> Result<Box<dyn Regressor>> {
    if rows.len() != y.len() * features {
        return Err(MixerError::Invalid(format!(
            "{} weights for {} runs × {features} domains",
            rows.len(),
            y.len()
        )));
    }
    if let Some(bad) = y.iter().find(|v| !v.is_finite()) {
        return Err(MixerError::Fit {
            regressor: kind.name(),
            message: format!("the target has a non-finite value {bad}"),
        });
    }
    Ok(match kind {
        RegressorKind::LightGbm => Box::new(LightGbmModel::fit(
            rows,
            features,
            y,
            &settings.lightgbm,
            settings.seed,
        )?),
        RegressorKind::Linear => Box::new(LinearModel::fit(rows, features, y, false)?),
        RegressorKind::LogLinear => Box::new(LinearModel::fit(rows, features, y, true)?),
        RegressorKind::MixingLaw => Box::new(MixingLaw::fit(rows, features, y)?),
    })
}

/// A fitted regressor as stored in a model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SavedRegressor {
    #[serde(rename = "lightgbm")]
    LightGbm {
        iterations: usize,
        /// LightGBM's text model format.
        model: String,
    },
    Linear(LinearModel),
    LogLinear(LinearModel),
    MixingLaw(MixingLaw),
}

impl SavedRegressor {
    pub fn load(self) -> Result<Box<dyn Regressor>> {
        Ok(match self {
            Self::LightGbm { iterations, model } => {
                Box::new(LightGbmModel::from_text(model, iterations)?)
            }
            Self::Linear(model) | Self::LogLinear(model) => Box::new(model),
            Self::MixingLaw(model) => Box::new(model),
        })
    }

    /// The number of domain weights the regressor takes (LightGBM's from its model text).
    pub fn features(&self) -> Result<usize> {
        Ok(match self {
            Self::LightGbm { model, .. } => lightgbm_trees::TreeEnsemble::parse(model)?.features(),
            Self::Linear(model) | Self::LogLinear(model) => model.coefficients.len(),
            Self::MixingLaw(model) => model.exponents.len(),
        })
    }
}

/// The rows `picks` (in that order) of a row-major matrix with `features` columns.
pub fn gather_rows(rows: &[f64], features: usize, picks: &[usize]) -> Vec<f64> {
    picks
        .iter()
        .flat_map(|&r| rows[r * features..(r + 1) * features].iter().copied())
        .collect()
}

/// `0..n` in a seeded random order.
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = SeededRng::for_stream(seed, "regressor-shuffle");
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_and_print() {
        for kind in RegressorKind::ALL {
            assert_eq!(kind.name().parse::<RegressorKind>().unwrap(), kind);
        }
        assert_eq!(
            "log-linear".parse::<RegressorKind>().unwrap(),
            RegressorKind::LogLinear
        );
        assert!(
            "xgboost"
                .parse::<RegressorKind>()
                .unwrap_err()
                .contains("lightgbm, linear")
        );
    }

    #[test]
    fn every_regressor_survives_save_and_load() {
        let rows: Vec<f64> = (0..40)
            .flat_map(|i| {
                let a = (i as f64 * 0.37).fract();
                [a, 1.0 - a]
            })
            .collect();
        let y: Vec<f64> = rows.chunks(2).map(|r| 3.0 + (-r[0]).exp()).collect();
        let settings = FitSettings {
            lightgbm: LightGbmSettings {
                iterations: 50,
                ..Default::default()
            },
            ..Default::default()
        };
        for kind in RegressorKind::ALL {
            let model = fit_regressor(kind, &rows, 2, &y, &settings).unwrap();
            assert_eq!(model.kind(), kind);
            let json = serde_json::to_string(&model.save()).unwrap();
            let loaded = serde_json::from_str::<SavedRegressor>(&json)
                .unwrap()
                .load()
                .unwrap();
            assert_eq!(loaded.predict(&rows, 2), model.predict(&rows, 2), "{kind}");
        }
    }
}
