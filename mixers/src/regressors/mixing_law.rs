//! The data-mixing law of Ye et al. (2024): `L(r) = c + k · exp(Σ_j t_j r_j)`, a loss that
//! decays exponentially in the domain proportions towards an irreducible floor `c`.
//!
//! Fitted in two steps: for each floor `c` on a grid below the smallest loss, `ln(L − c)`
//! is linear in `r` (ridge least squares); the best grid point then seeds a
//! Levenberg–Marquardt refinement of `(c, ln k, t)` on the squared error of `L` itself.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::ridge::{ridge_fit, solve_symmetric_positive};
use super::{Regressor, RegressorKind, SavedRegressor};
use crate::{MixerError, Result};

const FLOOR_GRID: usize = 64;
const RIDGE: f64 = 1e-6;
const MAX_ITERATIONS: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixingLaw {
    /// The irreducible loss `c`.
    pub floor: f64,
    /// `ln k`.
    pub log_scale: f64,
    /// `t_j`, one per domain.
    pub exponents: Vec<f64>,
}

impl MixingLaw {
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        let inner: f64 = row.iter().zip(&self.exponents).map(|(r, t)| r * t).sum();
        self.floor + (self.log_scale + inner).exp()
    }

    fn squared_error(&self, rows: &[f64], features: usize, y: &[f64]) -> f64 {
        rows.chunks_exact(features)
            .zip(y)
            .map(|(row, target)| (self.predict_row(row) - target).powi(2))
            .sum()
    }

    pub fn fit(rows: &[f64], features: usize, y: &[f64]) -> Result<Self> {
        if y.len() < 3 {
            return Err(MixerError::Fit {
                regressor: "mixing_law",
                message: format!("{} run(s); at least 3 are needed", y.len()),
            });
        }
        let min = y.iter().copied().fold(f64::INFINITY, f64::min);
        let max = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !(min.is_finite() && max > min) {
            return Err(MixerError::Fit {
                regressor: "mixing_law",
                message: "the target is constant or not finite".into(),
            });
        }
        // Floors from well below the data up to just under its minimum.
        let span = max - min;
        let mut best: Option<(f64, Self)> = None;
        for step in 0..FLOOR_GRID {
            let floor = min - span * 1e-3 - (min.abs() + span) * (step as f64 / FLOOR_GRID as f64);
            let logs: Vec<f64> = y.iter().map(|v| (v - floor).ln()).collect();
            let (log_scale, exponents) = ridge_fit(rows, features, &logs, RIDGE);
            let law = Self {
                floor,
                log_scale,
                exponents,
            };
            let error = law.squared_error(rows, features, y);
            if best.as_ref().is_none_or(|(e, _)| error < *e) {
                best = Some((error, law));
            }
        }
        let (mut error, mut law) = best.expect("the floor grid is not empty");
        // Levenberg–Marquardt over (c, ln k, t).
        let parameters = features + 2;
        let mut damping = 1e-3;
        for _ in 0..MAX_ITERATIONS {
            let mut jtj = vec![0.0; parameters * parameters];
            let mut jtr = vec![0.0; parameters];
            let mut gradient_row = vec![0.0; parameters];
            for (row, target) in rows.chunks_exact(features).zip(y) {
                let e = (law.log_scale
                    + row
                        .iter()
                        .zip(&law.exponents)
                        .map(|(r, t)| r * t)
                        .sum::<f64>())
                .exp();
                let residual = law.floor + e - target;
                gradient_row[0] = 1.0;
                gradient_row[1] = e;
                for (g, r) in gradient_row[2..].iter_mut().zip(row) {
                    *g = e * r;
                }
                for i in 0..parameters {
                    jtr[i] += gradient_row[i] * residual;
                    for j in 0..parameters {
                        jtj[i * parameters + j] += gradient_row[i] * gradient_row[j];
                    }
                }
            }
            let mut improved = false;
            while damping < 1e12 {
                let mut system = jtj.clone();
                for i in 0..parameters {
                    system[i * parameters + i] += damping * (jtj[i * parameters + i] + 1e-12);
                }
                let step = solve_symmetric_positive(&system, &jtr, parameters);
                let candidate = Self {
                    floor: law.floor - step[0],
                    log_scale: law.log_scale - step[1],
                    exponents: law
                        .exponents
                        .iter()
                        .zip(&step[2..])
                        .map(|(t, s)| t - s)
                        .collect(),
                };
                let candidate_error = candidate.squared_error(rows, features, y);
                if candidate_error.is_finite() && candidate_error < error {
                    improved = (error - candidate_error) > 1e-15 * error.max(1e-300);
                    law = candidate;
                    error = candidate_error;
                    damping = (damping / 3.0).max(1e-12);
                    break;
                }
                damping *= 4.0;
            }
            if !improved {
                break;
            }
        }
        Ok(law)
    }
}

impl Regressor for MixingLaw {
    fn kind(&self) -> RegressorKind {
        RegressorKind::MixingLaw
    }

    fn predict(&self, rows: &[f64], features: usize) -> Vec<f64> {
        rows.par_chunks_exact(features)
            .map(|row| self.predict_row(row))
            .collect()
    }

    fn save(&self) -> SavedRegressor {
        SavedRegressor::MixingLaw(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blend_kernels::SeededRng;

    #[test]
    fn recovers_a_planted_law() {
        let truth = MixingLaw {
            floor: 2.5,
            log_scale: 0.4,
            exponents: vec![-1.5, -0.3, 0.2],
        };
        let mut rng = SeededRng::new(5);
        let mut rows = Vec::new();
        for _ in 0..60 {
            let a = [rng.next_f64(), rng.next_f64(), rng.next_f64()];
            let sum: f64 = a.iter().sum();
            rows.extend(a.iter().map(|x| x / sum));
        }
        let y: Vec<f64> = rows.chunks(3).map(|r| truth.predict_row(r)).collect();
        let fitted = MixingLaw::fit(&rows, 3, &y).unwrap();
        let error = fitted.squared_error(&rows, 3, &y) / y.len() as f64;
        assert!(
            error < 1e-8,
            "mean squared error {error}; fitted {fitted:?}"
        );
        let held_out = [0.9, 0.05, 0.05];
        assert!((fitted.predict_row(&held_out) - truth.predict_row(&held_out)).abs() < 1e-3);
    }
}
