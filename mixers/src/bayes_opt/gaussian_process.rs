//! An exact Gaussian process regressor, the surrogate of [`crate::bayes_opt`]: the kernel is
//! scikit-learn's `ConstantKernel(c) * Matern(length_scale=[one per feature], nu=2.5) +
//! WhiteKernel(noise)`, targets are normalized as sklearn's `normalize_y=True` does, and the
//! hyperparameters maximize the log marginal likelihood (analytic gradient, projected L-BFGS
//! in log space, seeded restarts), so a fit can be checked against sklearn's.
//!
//! Why not a crate: `friedrich` is unmaintained and has no ARD Matérn kernel; `gprx` is a
//! young 0.x API built on `faer`. Blend's surrogates see a few hundred runs at most, where a
//! plain O(n³) Cholesky is a few milliseconds and about as long to read as a dependency's docs.
//!
//! Memory: the training rows, an `n × n` Cholesky factor and, while fitting, two more `n × n`
//! matrices.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use blend_kernels::SeededRng;

use crate::{MixerError, Result};

const REGRESSOR: &str = "gaussian_process";
const SQRT_5: f64 = 2.236_067_977_499_79;
/// Diagonal jitter tried in turn when the covariance matrix is not positive definite; the
/// first is scikit-learn's default `alpha`.
const JITTERS: [f64; 4] = [1e-10, 1e-8, 1e-6, 1e-4];

/// Kernel hyperparameters in natural units; `constant` and `noise` are variances of the
/// normalized target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpHyperparameters {
    pub constant: f64,
    pub length_scales: Vec<f64>,
    pub noise: f64,
}

/// Box bounds of the hyperparameters (natural units), as `(low, high)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpBounds {
    pub constant: (f64, f64),
    pub length_scale: (f64, f64),
    pub noise: (f64, f64),
}

impl Default for GpBounds {
    /// Tighter than sklearn's `(1e-5, 1e5)` everywhere: length scales below 1e-2 or above 1e3
    /// mean nothing for weights in [0, 1]; a signal variance of 1e-3..1e3 of the normalized
    /// target covers a flat to a steep surface; noise down to 1e-8 lets noise-free data
    /// interpolate, and up to 10 lets pure noise be called noise.
    fn default() -> Self {
        Self {
            constant: (1e-3, 1e3),
            length_scale: (1e-2, 1e3),
            noise: (1e-8, 1e1),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GpSettings {
    /// Optimizer starts drawn log-uniformly in the bounds, besides the initial point.
    pub restarts: usize,
    pub seed: u64,
    pub bounds: GpBounds,
    /// The first start (a previous fit's optimum, say); default: c = 1, every length
    /// scale 1, noise 1e-2.
    pub initial: Option<GpHyperparameters>,
    /// L-BFGS iterations per start.
    pub max_iterations: usize,
}

impl Default for GpSettings {
    fn default() -> Self {
        Self {
            restarts: 4,
            seed: 42,
            bounds: GpBounds::default(),
            initial: None,
            max_iterations: 200,
        }
    }
}

/// A fitted exact Gaussian process.
#[derive(Debug, Clone)]
pub struct GaussianProcess {
    features: usize,
    rows: Vec<f64>,
    y_mean: f64,
    y_std: f64,
    hyperparameters: GpHyperparameters,
    /// Lower Cholesky factor of `K + (noise + jitter) I`, row-major `n × n`.
    cholesky: Vec<f64>,
    /// `(K + (noise + jitter) I)⁻¹ y` for the normalized target.
    alpha: Vec<f64>,
    log_marginal_likelihood: f64,
}

impl GaussianProcess {
    /// Fits the hyperparameters on row-major `rows` (`n × features`) against `y`.
    pub fn fit(rows: &[f64], features: usize, y: &[f64], settings: &GpSettings) -> Result<Self> {
        check_data(rows, features, y)?;
        let data = Normalized::new(rows, features, y);
        let bounds = log_bounds(&settings.bounds, features);
        let initial = settings.initial.clone().unwrap_or(GpHyperparameters {
            constant: 1.0,
            length_scales: vec![1.0; features],
            noise: 1e-2,
        });
        check_hyperparameters(&initial, features)?;
        let mut starts = vec![clamp(&to_theta(&initial), &bounds)];
        let mut rng = SeededRng::for_stream(settings.seed, "gp-restarts");
        for _ in 0..settings.restarts {
            starts.push(
                bounds
                    .iter()
                    .map(|&(low, high)| low + (high - low) * rng.next_f64())
                    .collect(),
            );
        }
        let objective = |theta: &[f64]| {
            lml_and_gradient(&data, &from_theta(theta))
                .map(|(lml, gradient)| (-lml, gradient.iter().map(|g| -g).collect()))
        };
        let optima: Vec<(Vec<f64>, f64)> = starts
            .par_iter()
            .map(|start| minimize_in_box(&objective, start, &bounds, settings.max_iterations))
            .collect();
        let best = optima
            .into_iter()
            .filter(|(_, value)| value.is_finite())
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let Some((theta, _)) = best else {
            return Err(MixerError::NotPositiveDefinite {
                size: y.len(),
                jitter: JITTERS[JITTERS.len() - 1],
            });
        };
        Self::from_normalized(data, from_theta(&theta))
    }

    /// A process with the given hyperparameters, not fitted.
    pub fn with_hyperparameters(
        rows: &[f64],
        features: usize,
        y: &[f64],
        hyperparameters: GpHyperparameters,
    ) -> Result<Self> {
        check_data(rows, features, y)?;
        check_hyperparameters(&hyperparameters, features)?;
        Self::from_normalized(Normalized::new(rows, features, y), hyperparameters)
    }

    fn from_normalized(data: Normalized, hyperparameters: GpHyperparameters) -> Result<Self> {
        let factor = factorize(&data, &hyperparameters)?;
        Ok(Self {
            features: data.features,
            rows: data.rows,
            y_mean: data.y_mean,
            y_std: data.y_std,
            hyperparameters,
            log_marginal_likelihood: factor.log_marginal_likelihood(&data.y),
            cholesky: factor.cholesky,
            alpha: factor.alpha,
        })
    }

    pub fn hyperparameters(&self) -> &GpHyperparameters {
        &self.hyperparameters
    }

    /// The log marginal likelihood of the normalized target (sklearn's
    /// `log_marginal_likelihood_value_`).
    pub fn log_marginal_likelihood(&self) -> f64 {
        self.log_marginal_likelihood
    }

    /// The observation noise variance in the target's units.
    pub fn noise_variance(&self) -> f64 {
        self.hyperparameters.noise * self.y_std * self.y_std
    }

    pub fn features(&self) -> usize {
        self.features
    }

    /// Mean and standard deviation of a new noisy observation at each row, in the target's
    /// units (sklearn's `predict(return_std=True)`: the white noise is included).
    pub fn predict(&self, rows: &[f64]) -> (Vec<f64>, Vec<f64>) {
        self.predict_with_noise(rows, self.hyperparameters.noise)
    }

    /// Mean and standard deviation of the noise-free function at each row.
    pub fn predict_latent(&self, rows: &[f64]) -> (Vec<f64>, Vec<f64>) {
        self.predict_with_noise(rows, 0.0)
    }

    fn predict_with_noise(&self, rows: &[f64], noise: f64) -> (Vec<f64>, Vec<f64>) {
        let constant = self.hyperparameters.constant;
        rows.par_chunks(self.features)
            .map(|row| {
                let (mean, v) = self.mean_and_whitened(row);
                let variance = (constant + noise - dot(&v, &v)).max(0.0);
                (
                    mean * self.y_std + self.y_mean,
                    variance.sqrt() * self.y_std,
                )
            })
            .unzip()
    }

    /// The posterior covariance of the noise-free function at rows `a` and `b`, in the
    /// target's units squared.
    pub fn posterior_covariance(&self, a: &[f64], b: &[f64]) -> f64 {
        let (_, va) = self.mean_and_whitened(a);
        let (_, vb) = self.mean_and_whitened(b);
        let prior = self.hyperparameters.constant
            * matern52(scaled_sq_distance(a, b, &self.hyperparameters.length_scales).sqrt());
        (prior - dot(&va, &vb)) * self.y_std * self.y_std
    }

    /// The normalized posterior mean at `row` and `L⁻¹ k(row)`.
    fn mean_and_whitened(&self, row: &[f64]) -> (f64, Vec<f64>) {
        let hp = &self.hyperparameters;
        let mut k: Vec<f64> = self
            .rows
            .chunks(self.features)
            .map(|train| {
                hp.constant * matern52(scaled_sq_distance(row, train, &hp.length_scales).sqrt())
            })
            .collect();
        let mean = dot(&k, &self.alpha);
        solve_lower(&self.cholesky, k.len(), &mut k);
        (mean, k)
    }
}

/// The training data with the target normalized (mean 0, population std 1).
#[derive(Debug)]
struct Normalized {
    features: usize,
    rows: Vec<f64>,
    y: Vec<f64>,
    y_mean: f64,
    y_std: f64,
}

impl Normalized {
    fn new(rows: &[f64], features: usize, y: &[f64]) -> Self {
        let n = y.len() as f64;
        let y_mean = y.iter().sum::<f64>() / n;
        let variance = y.iter().map(|v| (v - y_mean).powi(2)).sum::<f64>() / n;
        // sklearn's `_handle_zeros_in_scale`: a constant target keeps scale 1.
        let y_std = if variance.sqrt() < 10.0 * f64::EPSILON {
            1.0
        } else {
            variance.sqrt()
        };
        Self {
            features,
            rows: rows.to_vec(),
            y: y.iter().map(|v| (v - y_mean) / y_std).collect(),
            y_mean,
            y_std,
        }
    }

    fn len(&self) -> usize {
        self.y.len()
    }
}

fn check_data(rows: &[f64], features: usize, y: &[f64]) -> Result<()> {
    let fail = |message: String| {
        Err(MixerError::Fit {
            regressor: REGRESSOR,
            message,
        })
    };
    if features == 0 || y.is_empty() {
        return fail(format!("{} runs with {features} features", y.len()));
    }
    if rows.len() != y.len() * features {
        return fail(format!(
            "{} inputs for {} runs × {features} features",
            rows.len(),
            y.len()
        ));
    }
    if let Some(bad) = rows.iter().chain(y).find(|v| !v.is_finite()) {
        return fail(format!("a non-finite value {bad} in the data"));
    }
    Ok(())
}

fn check_hyperparameters(hp: &GpHyperparameters, features: usize) -> Result<()> {
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if hp.length_scales.len() != features
        || !positive(hp.constant)
        || !positive(hp.noise)
        || !hp.length_scales.iter().all(|&l| positive(l))
    {
        return Err(MixerError::Fit {
            regressor: REGRESSOR,
            message: format!(
                "hyperparameters must be positive with one length scale per feature ({features}): {hp:?}"
            ),
        });
    }
    Ok(())
}

/// Matérn ν = 5/2 correlation at scaled distance `r`.
fn matern52(r: f64) -> f64 {
    let s = SQRT_5 * r;
    (1.0 + s + s * s / 3.0) * (-s).exp()
}

fn scaled_sq_distance(a: &[f64], b: &[f64], length_scales: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .zip(length_scales)
        .map(|((x, y), l)| ((x - y) / l).powi(2))
        .sum()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// θ = (log c, log ℓ₁ … log ℓ_d, log noise).
fn to_theta(hp: &GpHyperparameters) -> Vec<f64> {
    std::iter::once(hp.constant)
        .chain(hp.length_scales.iter().copied())
        .chain(std::iter::once(hp.noise))
        .map(f64::ln)
        .collect()
}

fn from_theta(theta: &[f64]) -> GpHyperparameters {
    let last = theta.len() - 1;
    GpHyperparameters {
        constant: theta[0].exp(),
        length_scales: theta[1..last].iter().map(|t| t.exp()).collect(),
        noise: theta[last].exp(),
    }
}

fn log_bounds(bounds: &GpBounds, features: usize) -> Vec<(f64, f64)> {
    let log = |(low, high): (f64, f64)| (f64::ln(low), f64::ln(high));
    std::iter::once(log(bounds.constant))
        .chain(std::iter::repeat_n(log(bounds.length_scale), features))
        .chain(std::iter::once(log(bounds.noise)))
        .collect()
}

fn clamp(x: &[f64], bounds: &[(f64, f64)]) -> Vec<f64> {
    x.iter()
        .zip(bounds)
        .map(|(v, &(low, high))| v.clamp(low, high))
        .collect()
}

/// The Cholesky factor of the training covariance and what follows from it.
struct Factor {
    cholesky: Vec<f64>,
    alpha: Vec<f64>,
}

impl Factor {
    fn log_marginal_likelihood(&self, y: &[f64]) -> f64 {
        let n = y.len();
        let log_det: f64 = (0..n).map(|i| self.cholesky[i * n + i].ln()).sum();
        -0.5 * dot(y, &self.alpha) - log_det - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln()
    }
}

/// `K(X, X)` of the signal part (`c · Matérn`), row-major `n × n`.
fn signal_covariance(data: &Normalized, hp: &GpHyperparameters) -> Vec<f64> {
    let n = data.len();
    let mut k = vec![0.0; n * n];
    for (i, a) in data.rows.chunks(data.features).enumerate() {
        k[i * n + i] = hp.constant;
        for (j, b) in data.rows.chunks(data.features).enumerate().take(i) {
            let value = hp.constant * matern52(scaled_sq_distance(a, b, &hp.length_scales).sqrt());
            k[i * n + j] = value;
            k[j * n + i] = value;
        }
    }
    k
}

fn factorize(data: &Normalized, hp: &GpHyperparameters) -> Result<Factor> {
    let n = data.len();
    let signal = signal_covariance(data, hp);
    for jitter in JITTERS {
        let mut cholesky = signal.clone();
        for i in 0..n {
            cholesky[i * n + i] += hp.noise + jitter;
        }
        if cholesky_in_place(&mut cholesky, n) {
            let mut alpha = data.y.clone();
            solve_lower(&cholesky, n, &mut alpha);
            solve_upper_transposed(&cholesky, n, &mut alpha);
            return Ok(Factor { cholesky, alpha });
        }
    }
    Err(MixerError::NotPositiveDefinite {
        size: n,
        jitter: JITTERS[JITTERS.len() - 1],
    })
}

/// Overwrites the lower triangle of `a` with its Cholesky factor (upper set to 0); false
/// when `a` is not positive definite.
fn cholesky_in_place(a: &mut [f64], n: usize) -> bool {
    for j in 0..n {
        let row_j = &a[j * n..j * n + j];
        let diagonal = a[j * n + j] - dot(row_j, row_j);
        if diagonal <= 0.0 || !diagonal.is_finite() {
            return false;
        }
        let pivot = diagonal.sqrt();
        a[j * n + j] = pivot;
        a[j * n + j + 1..(j + 1) * n].fill(0.0);
        for i in j + 1..n {
            let (head, tail) = a.split_at_mut(i * n);
            let row_j = &head[j * n..j * n + j];
            let row_i = &mut tail[..n];
            row_i[j] = (row_i[j] - dot(&row_i[..j], row_j)) / pivot;
        }
    }
    true
}

/// Solves `L x = b` in place (`L` lower triangular, row-major `n × n`).
fn solve_lower(l: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..n {
        let row = &l[i * n..i * n + i];
        b[i] = (b[i] - dot(row, &b[..i])) / l[i * n + i];
    }
}

/// Solves `Lᵀ x = b` in place.
fn solve_upper_transposed(l: &[f64], n: usize, b: &mut [f64]) {
    for i in (0..n).rev() {
        let value = b[i] / l[i * n + i];
        b[i] = value;
        for k in 0..i {
            b[k] -= l[i * n + k] * value;
        }
    }
}

/// The log marginal likelihood at `hp` and its gradient in θ (log hyperparameters):
/// ∂/∂θⱼ = ½ tr((ααᵀ − K⁻¹) ∂K/∂θⱼ).
fn lml_and_gradient(data: &Normalized, hp: &GpHyperparameters) -> Option<(f64, Vec<f64>)> {
    let n = data.len();
    let d = data.features;
    let factor = factorize(data, hp).ok()?;
    let lml = factor.log_marginal_likelihood(&data.y);
    let inverse = inverse_from_cholesky(&factor.cholesky, n);
    let mut gradient = vec![0.0; d + 2];
    let mut length_terms = vec![0.0; d];
    for (i, a) in data.rows.chunks(d).enumerate() {
        let w_ii = factor.alpha[i] * factor.alpha[i] - inverse[i * n + i];
        gradient[0] += 0.5 * w_ii * hp.constant;
        gradient[d + 1] += 0.5 * w_ii * hp.noise;
        for (j, b) in data.rows.chunks(d).enumerate().take(i) {
            let w_ij = factor.alpha[i] * factor.alpha[j] - inverse[i * n + j];
            let r = scaled_sq_distance(a, b, &hp.length_scales).sqrt();
            let decay = (-SQRT_5 * r).exp();
            // Off-diagonal pairs count twice in the trace; the ½ cancels.
            gradient[0] += w_ij * hp.constant * (1.0 + SQRT_5 * r + 5.0 / 3.0 * r * r) * decay;
            let radial = w_ij * hp.constant * 5.0 / 3.0 * (1.0 + SQRT_5 * r) * decay;
            for ((term, x), y) in length_terms.iter_mut().zip(a).zip(b) {
                *term += radial * (x - y) * (x - y);
            }
        }
    }
    for ((g, term), l) in gradient[1..=d]
        .iter_mut()
        .zip(&length_terms)
        .zip(&hp.length_scales)
    {
        *g = term / (l * l);
    }
    Some((lml, gradient))
}

/// `(L Lᵀ)⁻¹`, row-major, from the lower factor `L`.
fn inverse_from_cholesky(l: &[f64], n: usize) -> Vec<f64> {
    let mut inverse = vec![0.0; n * n];
    let mut column = vec![0.0; n];
    for j in 0..n {
        column.fill(0.0);
        column[j] = 1.0;
        solve_lower(l, n, &mut column);
        solve_upper_transposed(l, n, &mut column);
        for (i, value) in column.iter().enumerate() {
            inverse[i * n + j] = *value;
        }
    }
    inverse
}

/// A function's value and gradient at a point; `None` where it cannot be evaluated.
type Objective<'a> = dyn Fn(&[f64]) -> Option<(f64, Vec<f64>)> + Sync + 'a;

/// Minimizes `objective` (value and gradient; `None` where it cannot be evaluated) in a box
/// with L-BFGS: coordinates pinned at a bound by their gradient are frozen for the step, the
/// step is projected back into the box, and an Armijo backtracking line search accepts it.
/// Returns the best point and its value.
fn minimize_in_box(
    objective: &Objective<'_>,
    start: &[f64],
    bounds: &[(f64, f64)],
    max_iterations: usize,
) -> (Vec<f64>, f64) {
    const MEMORY: usize = 10;
    let mut x = clamp(start, bounds);
    let Some((mut value, mut gradient)) = objective(&x) else {
        return (x, f64::INFINITY);
    };
    let mut history: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    for _ in 0..max_iterations {
        let free: Vec<bool> = x
            .iter()
            .zip(&gradient)
            .zip(bounds)
            .map(|((v, g), &(low, high))| !((*v <= low && *g > 0.0) || (*v >= high && *g < 0.0)))
            .collect();
        let projected: Vec<f64> = gradient
            .iter()
            .zip(&free)
            .map(|(g, f)| if *f { *g } else { 0.0 })
            .collect();
        if projected.iter().all(|g| g.abs() < 1e-6) {
            break;
        }
        let mut direction = two_loop(&projected, &history);
        direction
            .iter_mut()
            .zip(&free)
            .filter(|(_, f)| !**f)
            .for_each(|(d, _)| *d = 0.0);
        if dot(&direction, &projected) >= 0.0 || history.is_empty() {
            history.clear();
            let norm = dot(&projected, &projected).sqrt().max(1.0);
            direction = projected.iter().map(|g| -g / norm).collect();
        }
        let Some((next, next_value, next_gradient)) =
            line_search(objective, &x, value, &gradient, &direction, bounds)
        else {
            break;
        };
        let step: Vec<f64> = next.iter().zip(&x).map(|(a, b)| a - b).collect();
        let change: Vec<f64> = next_gradient
            .iter()
            .zip(&gradient)
            .map(|(a, b)| a - b)
            .collect();
        let improvement = value - next_value;
        if dot(&step, &change) > 1e-10 {
            history.push((step, change));
            if history.len() > MEMORY {
                history.remove(0);
            }
        }
        (x, value, gradient) = (next, next_value, next_gradient);
        if improvement < 1e-10 * value.abs().max(1.0) {
            break;
        }
    }
    (x, value)
}

/// L-BFGS's two-loop recursion: `−H g` for the inverse-Hessian estimate of `history`.
fn two_loop(gradient: &[f64], history: &[(Vec<f64>, Vec<f64>)]) -> Vec<f64> {
    let mut q = gradient.to_vec();
    let mut alphas = Vec::with_capacity(history.len());
    for (s, y) in history.iter().rev() {
        let rho = 1.0 / dot(y, s);
        let a = rho * dot(s, &q);
        q.iter_mut().zip(y).for_each(|(q, y)| *q -= a * y);
        alphas.push((a, rho));
    }
    if let Some((s, y)) = history.last() {
        let scale = dot(s, y) / dot(y, y);
        q.iter_mut().for_each(|q| *q *= scale);
    }
    for ((s, y), (a, rho)) in history.iter().zip(alphas.into_iter().rev()) {
        let b = rho * dot(y, &q);
        q.iter_mut().zip(s).for_each(|(q, s)| *q += (a - b) * s);
    }
    q.iter_mut().for_each(|q| *q = -*q);
    q
}

type Evaluated = (Vec<f64>, f64, Vec<f64>);

fn line_search(
    objective: &Objective<'_>,
    x: &[f64],
    value: f64,
    gradient: &[f64],
    direction: &[f64],
    bounds: &[(f64, f64)],
) -> Option<Evaluated> {
    let mut t = 1.0;
    for _ in 0..40 {
        let trial: Vec<f64> = x.iter().zip(direction).map(|(x, d)| x + t * d).collect();
        let trial = clamp(&trial, bounds);
        let moved: Vec<f64> = trial.iter().zip(x).map(|(a, b)| a - b).collect();
        if let Some((trial_value, trial_gradient)) = objective(&trial)
            && trial_value <= value + 1e-4 * dot(gradient, &moved)
            && trial_value.is_finite()
        {
            return Some((trial, trial_value, trial_gradient));
        }
        t *= 0.5;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simplex_rows(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = SeededRng::new(seed);
        let mut rows = Vec::new();
        for _ in 0..n {
            let a = [rng.next_f64(), rng.next_f64(), rng.next_f64()];
            let s: f64 = a.iter().sum();
            rows.extend(a.iter().map(|x| x / s));
        }
        rows
    }

    fn smooth(rows: &[f64]) -> Vec<f64> {
        rows.chunks(3)
            .map(|r| 3.0 + (-3.0 * r[0]).exp() + r[1] + 0.5 * (4.0 * r[2]).sin())
            .collect()
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let rows = simplex_rows(15, 3);
        let mut y = smooth(&rows);
        y[4] += 0.05;
        let data = Normalized::new(&rows, 3, &y);
        let theta = to_theta(&GpHyperparameters {
            constant: 0.7,
            length_scales: vec![0.4, 0.9, 0.25],
            noise: 0.03,
        });
        let (_, gradient) = lml_and_gradient(&data, &from_theta(&theta)).unwrap();
        for j in 0..theta.len() {
            let h = 1e-6;
            let shifted = |delta: f64| {
                let mut t = theta.clone();
                t[j] += delta;
                lml_and_gradient(&data, &from_theta(&t)).unwrap().0
            };
            let numeric = (shifted(h) - shifted(-h)) / (2.0 * h);
            assert!(
                (numeric - gradient[j]).abs() < 1e-5 * numeric.abs().max(1.0),
                "θ{j}: analytic {} numeric {numeric}",
                gradient[j]
            );
        }
    }

    #[test]
    fn noise_free_data_is_interpolated() {
        let rows = simplex_rows(20, 5);
        let y = smooth(&rows);
        let gp = GaussianProcess::with_hyperparameters(
            &rows,
            3,
            &y,
            GpHyperparameters {
                constant: 1.0,
                length_scales: vec![0.5; 3],
                noise: 1e-8,
            },
        )
        .unwrap();
        let (mean, std) = gp.predict(&rows);
        for ((m, s), target) in mean.iter().zip(&std).zip(&y) {
            assert!((m - target).abs() < 1e-4, "{m} vs {target}");
            assert!(*s < 1e-3, "{s}");
        }
        let fitted = GaussianProcess::fit(&rows, 3, &y, &GpSettings::default()).unwrap();
        let (mean, _) = fitted.predict(&rows);
        for (m, target) in mean.iter().zip(&y) {
            assert!((m - target).abs() < 1e-3, "{m} vs {target}");
        }
    }

    #[test]
    fn std_shrinks_near_observations() {
        let rows = simplex_rows(10, 8);
        let y = smooth(&rows);
        let gp = GaussianProcess::fit(&rows, 3, &y, &GpSettings::default()).unwrap();
        let near: Vec<f64> = rows[..3].iter().map(|w| w * 0.99 + 0.01 / 3.0).collect();
        let far = [0.0, 0.0, 1.0];
        let (_, near_std) = gp.predict_latent(&near);
        let (_, far_std) = gp.predict_latent(&far);
        let (_, at_std) = gp.predict_latent(&rows[..3]);
        assert!(at_std[0] <= near_std[0] && near_std[0] < far_std[0]);
        let covariance = gp.posterior_covariance(&far, &far);
        assert!((covariance.sqrt() - far_std[0]).abs() < 1e-9 * far_std[0].max(1.0));
    }

    #[test]
    fn bad_inputs_are_named_errors() {
        let error =
            GaussianProcess::fit(&[0.5, 0.5], 2, &[1.0, 2.0], &GpSettings::default()).unwrap_err();
        assert!(matches!(error, MixerError::Fit { regressor, .. } if regressor == REGRESSOR));
        let error = GaussianProcess::with_hyperparameters(
            &[0.5, 0.5],
            2,
            &[1.0],
            GpHyperparameters {
                constant: 1.0,
                length_scales: vec![1.0],
                noise: 1e-2,
            },
        )
        .unwrap_err();
        assert!(matches!(error, MixerError::Fit { .. }));
        assert!(!cholesky_in_place(&mut [1.0, 2.0, 2.0, 1.0], 2));
    }

    #[test]
    fn fits_are_deterministic() {
        let rows = simplex_rows(12, 2);
        let y = smooth(&rows);
        let settings = GpSettings::default();
        let a = GaussianProcess::fit(&rows, 3, &y, &settings).unwrap();
        let b = GaussianProcess::fit(&rows, 3, &y, &settings).unwrap();
        assert_eq!(a.hyperparameters(), b.hyperparameters());
    }
}
