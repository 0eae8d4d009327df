//! Ridge least squares with an unpenalized intercept, the solver under the linear,
//! log-linear and data-mixing-law regressors. Mixture weights sum to 1, so an intercept
//! plus every weight is collinear: a tiny ridge term picks the minimum-norm-like solution
//! that plain least squares leaves undetermined.

/// Solves `(XᵀX + λI) β = Xᵀy` on centered columns; returns `(intercept, β)`.
/// `rows` is row-major `n × features`.
pub fn ridge_fit(rows: &[f64], features: usize, y: &[f64], lambda: f64) -> (f64, Vec<f64>) {
    let n = y.len();
    let mut mean_x = vec![0.0; features];
    for row in rows.chunks_exact(features) {
        for (m, x) in mean_x.iter_mut().zip(row) {
            *m += x / n as f64;
        }
    }
    let mean_y = y.iter().sum::<f64>() / n as f64;
    let mut gram = vec![0.0; features * features];
    let mut xty = vec![0.0; features];
    let mut centered = vec![0.0; features];
    for (row, target) in rows.chunks_exact(features).zip(y) {
        for ((c, x), m) in centered.iter_mut().zip(row).zip(&mean_x) {
            *c = x - m;
        }
        let yc = target - mean_y;
        for i in 0..features {
            xty[i] += centered[i] * yc;
            for j in 0..=i {
                gram[i * features + j] += centered[i] * centered[j];
            }
        }
    }
    let trace: f64 = (0..features).map(|i| gram[i * features + i]).sum();
    let penalty = lambda * (trace / features as f64).max(f64::MIN_POSITIVE);
    for i in 0..features {
        gram[i * features + i] += penalty;
        for j in 0..i {
            gram[j * features + i] = gram[i * features + j];
        }
    }
    let beta = solve_symmetric_positive(&gram, &xty, features);
    let intercept = mean_y - mean_x.iter().zip(&beta).map(|(m, b)| m * b).sum::<f64>();
    (intercept, beta)
}

/// Cholesky solve of a symmetric positive definite `n × n` system. A pivot that vanishes
/// (a column that is all zeros after centering) gets a zero coefficient.
pub fn solve_symmetric_positive(matrix: &[f64], rhs: &[f64], n: usize) -> Vec<f64> {
    let mut lower = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = matrix[i * n + j];
            for k in 0..j {
                sum -= lower[i * n + k] * lower[j * n + k];
            }
            if i == j {
                lower[i * n + i] = if sum > 1e-300 { sum.sqrt() } else { 0.0 };
            } else if lower[j * n + j] > 0.0 {
                lower[i * n + j] = sum / lower[j * n + j];
            }
        }
    }
    let mut z = vec![0.0; n];
    for i in 0..n {
        let mut sum = rhs[i];
        for k in 0..i {
            sum -= lower[i * n + k] * z[k];
        }
        z[i] = if lower[i * n + i] > 0.0 {
            sum / lower[i * n + i]
        } else {
            0.0
        };
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut sum = z[i];
        for k in i + 1..n {
            sum -= lower[k * n + i] * x[k];
        }
        x[i] = if lower[i * n + i] > 0.0 {
            sum / lower[i * n + i]
        } else {
            0.0
        };
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_an_exact_linear_function() {
        // y = 2 + 3 x0 - x1 on points that are not collinear.
        let rows = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.5, 0.2];
        let y: Vec<f64> = rows.chunks(2).map(|r| 2.0 + 3.0 * r[0] - r[1]).collect();
        let (intercept, beta) = ridge_fit(&rows, 2, &y, 1e-12);
        assert!(
            (intercept - 2.0).abs() < 1e-6
                && (beta[0] - 3.0).abs() < 1e-6
                && (beta[1] + 1.0).abs() < 1e-6
        );
    }

    #[test]
    fn collinear_weights_still_predict() {
        // Weights sum to 1: x1 = 1 - x0. Predictions are still exact.
        let rows = [0.2, 0.8, 0.5, 0.5, 0.9, 0.1];
        let y = [1.0, 2.0, 3.0 + 1.0 / 3.0];
        let (intercept, beta) = ridge_fit(&rows, 2, &y, 1e-10);
        for (row, target) in rows.chunks(2).zip(&y) {
            let predicted = intercept + row[0] * beta[0] + row[1] * beta[1];
            assert!((predicted - target).abs() < 1e-6, "{predicted} vs {target}");
        }
    }
}
