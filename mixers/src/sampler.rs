//! RegMix's candidate sampler: Dirichlet draws centred on a prior (each domain's token share,
//! tempered by an exponent), with the concentration picked from log-spaced values in
//! `[min_strength, max_strength]`, rejecting draws outside per-domain bounds (epoch caps and
//! user limits). Weights below `minimum_weight` become 0 and weights are rounded to multiples
//! of it, as RegMix's `synthesize_mixture.py` does, then renormalized to sum to 1.
//!
//! Every draw is seeded: candidate `i` of a batch comes from a generator keyed by
//! `(seed, block of i)`, so a batch is the same whatever the thread count.

use blend_kernels::rng::SeededRng;
use rayon::prelude::*;

use crate::{MixerError, Result};

/// Candidates drawn per independent random stream.
const BLOCK: usize = 1024;
/// Draws tried per accepted candidate before the bounds are declared infeasible.
const MAX_TRIES_PER_CANDIDATE: usize = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub struct SamplerConfig {
    /// Centre of the draws, one entry per domain (normalized internally).
    pub prior: Vec<f64>,
    /// Exponent applied to the prior before normalizing (RegMix: 0.5; 1 keeps it).
    pub temperature: f64,
    pub min_strength: f64,
    pub max_strength: f64,
    /// How many log-spaced strengths between min and max (RegMix: 15).
    pub strengths: usize,
    /// Weights below this become 0; weights are rounded to multiples of it (RegMix: 2e-4).
    pub minimum_weight: f64,
    /// Per-domain lower bounds on the final weights.
    pub lower: Vec<f64>,
    /// Per-domain upper bounds on the final weights (epoch caps, user limits).
    pub upper: Vec<f64>,
}

impl SamplerConfig {
    /// RegMix's settings around `prior`, unbounded.
    pub fn regmix(prior: Vec<f64>) -> Self {
        let domains = prior.len();
        Self {
            prior,
            temperature: 0.5,
            min_strength: 0.1,
            max_strength: 5.0,
            strengths: 15,
            minimum_weight: 2e-4,
            lower: vec![0.0; domains],
            upper: vec![1.0; domains],
        }
    }

    pub fn domains(&self) -> usize {
        self.prior.len()
    }

    /// Caps each domain at `max_epochs` passes over its `available_tokens` when the mixture
    /// draws `token_budget` tokens in all: weight ≤ max_epochs × available / budget.
    pub fn cap_epochs(&mut self, available_tokens: &[u64], token_budget: u64, max_epochs: f64) {
        for (upper, &available) in self.upper.iter_mut().zip(available_tokens) {
            let cap = max_epochs * available as f64 / token_budget.max(1) as f64;
            *upper = upper.min(cap);
        }
    }

    pub fn validate(&self) -> Result<()> {
        let d = self.domains();
        if d == 0 {
            return Err(MixerError::Invalid("the sampler has no domains".into()));
        }
        if self.lower.len() != d || self.upper.len() != d {
            return Err(MixerError::Invalid(format!(
                "bounds for {} / {} domains, prior for {d}",
                self.lower.len(),
                self.upper.len()
            )));
        }
        if self.prior.iter().any(|p| !p.is_finite() || *p < 0.0)
            || self.prior.iter().sum::<f64>() <= 0.0
        {
            return Err(MixerError::Invalid(format!(
                "the prior must be ≥ 0 with a positive sum, got {:?}",
                self.prior
            )));
        }
        if !(self.min_strength > 0.0 && self.min_strength <= self.max_strength)
            || self.strengths == 0
        {
            return Err(MixerError::Invalid(format!(
                "strengths must satisfy 0 < min ({}) ≤ max ({}), count ≥ 1",
                self.min_strength, self.max_strength
            )));
        }
        let lower: f64 = self.lower.iter().sum();
        let upper: f64 = self.upper.iter().sum();
        if lower > 1.0 + 1e-9 || upper < 1.0 - 1e-9 {
            return Err(MixerError::Invalid(format!(
                "no mixture fits the bounds: lower bounds sum to {lower:.4}, upper bounds to {upper:.4}"
            )));
        }
        Ok(())
    }

    fn concentration(&self) -> Vec<f64> {
        let tempered: Vec<f64> = self
            .prior
            .iter()
            .map(|p| p.powf(self.temperature))
            .collect();
        let sum: f64 = tempered.iter().sum();
        tempered.iter().map(|p| p / sum).collect()
    }

    fn strength_grid(&self) -> Vec<f64> {
        if self.strengths == 1 {
            return vec![self.min_strength];
        }
        let (low, high) = (self.min_strength.log10(), self.max_strength.log10());
        (0..self.strengths)
            .map(|i| 10f64.powf(low + (high - low) * i as f64 / (self.strengths - 1) as f64))
            .collect()
    }

    /// `count` candidates as a row-major `count × domains` matrix.
    pub fn sample(&self, count: usize, seed: u64) -> Result<Vec<f64>> {
        self.sample_from(0, count, seed)
    }

    /// Candidates `first..first + count` of the stream `seed` (so a long stream can be drawn
    /// in batches that match one big draw).
    pub fn sample_from(&self, first: usize, count: usize, seed: u64) -> Result<Vec<f64>> {
        self.validate()?;
        let d = self.domains();
        let concentration = self.concentration();
        let grid = self.strength_grid();
        let mut out = vec![0.0; count * d];
        let first_block = first / BLOCK;
        let last_block = (first + count).div_ceil(BLOCK);
        let blocks: Vec<(usize, Vec<f64>)> = (first_block..last_block)
            .into_par_iter()
            .map(|block| {
                let mut rng = SeededRng::for_stream(
                    seed ^ (block as u64).wrapping_mul(0x9E37_79B9),
                    "regmix-candidates",
                );
                let mut rows = vec![0.0; BLOCK * d];
                for row in rows.chunks_exact_mut(d) {
                    self.draw_accepted(&mut rng, &concentration, &grid, row)?;
                }
                Ok((block, rows))
            })
            .collect::<Result<_>>()?;
        for (block, rows) in blocks {
            for i in 0..BLOCK {
                let index = block * BLOCK + i;
                if index >= first && index < first + count {
                    let at = index - first;
                    out[at * d..(at + 1) * d].copy_from_slice(&rows[i * d..(i + 1) * d]);
                }
            }
        }
        Ok(out)
    }

    fn draw_accepted(
        &self,
        rng: &mut SeededRng,
        concentration: &[f64],
        grid: &[f64],
        row: &mut [f64],
    ) -> Result<()> {
        let mut alpha = vec![0.0; row.len()];
        for _ in 0..MAX_TRIES_PER_CANDIDATE {
            let strength = grid[rng.below(grid.len() as u64) as usize];
            for (a, c) in alpha.iter_mut().zip(concentration) {
                *a = c * strength;
            }
            if !dirichlet(rng, &alpha, row) {
                continue;
            }
            self.round_to_minimum(row);
            if row
                .iter()
                .zip(self.lower.iter().zip(&self.upper))
                .all(|(w, (lo, hi))| *w >= lo - 1e-12 && *w <= hi + 1e-12)
            {
                return Ok(());
            }
        }
        Err(MixerError::Invalid(format!(
            "the sampler rejected {MAX_TRIES_PER_CANDIDATE} draws in a row: the weight bounds \
             (epoch caps, --min-weight/--max-weight) leave almost no room around the prior"
        )))
    }

    fn round_to_minimum(&self, row: &mut [f64]) {
        let m = self.minimum_weight;
        if m <= 0.0 {
            return;
        }
        for w in row.iter_mut() {
            *w = if *w < m { 0.0 } else { (*w / m).round() * m };
        }
        let sum: f64 = row.iter().sum();
        if sum > 0.0 {
            row.iter_mut().for_each(|w| *w /= sum);
        }
    }
}

/// A Dirichlet(alpha) draw into `out`, computed in log space so that tiny concentrations
/// (prior share × strength 0.1 can be 1e-5) do not underflow every component. False when
/// no component has a positive weight.
pub fn dirichlet(rng: &mut SeededRng, alpha: &[f64], out: &mut [f64]) -> bool {
    let mut max_log = f64::NEG_INFINITY;
    for (o, &a) in out.iter_mut().zip(alpha) {
        *o = if a > 0.0 {
            log_gamma_draw(rng, a)
        } else {
            f64::NEG_INFINITY
        };
        max_log = max_log.max(*o);
    }
    if !max_log.is_finite() {
        return false;
    }
    let mut sum = 0.0;
    for o in out.iter_mut() {
        *o = (*o - max_log).exp();
        sum += *o;
    }
    out.iter_mut().for_each(|o| *o /= sum);
    true
}

/// log of a Gamma(shape, 1) draw (Marsaglia and Tsang; shapes below 1 boosted by
/// `U^(1/shape)`, kept as a logarithm).
fn log_gamma_draw(rng: &mut SeededRng, shape: f64) -> f64 {
    if shape < 1.0 {
        let u = 1.0 - rng.next_f64(); // (0, 1]
        return log_gamma_draw(rng, shape + 1.0) + u.ln() / shape;
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let (x, v) = loop {
            let x = standard_normal(rng);
            let v = 1.0 + c * x;
            if v > 0.0 {
                break (x, v * v * v);
            }
        };
        let u = 1.0 - rng.next_f64();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return (d * v).ln();
        }
    }
}

/// A standard normal draw (Marsaglia's polar method).
fn standard_normal(rng: &mut SeededRng) -> f64 {
    loop {
        let a = 2.0 * rng.next_f64() - 1.0;
        let b = 2.0 * rng.next_f64() - 1.0;
        let s = a * a + b * b;
        if s > 0.0 && s < 1.0 {
            return a * (-2.0 * s.ln() / s).sqrt();
        }
    }
}

/// Drops near-identical rows (L1 distance ≤ `threshold`), keeping first occurrences, as
/// RegMix does before picking training runs.
pub fn distinct_rows(rows: &[f64], domains: usize, threshold: f64) -> Vec<usize> {
    let mut kept: Vec<usize> = Vec::new();
    for (i, row) in rows.chunks_exact(domains).enumerate() {
        let duplicate = kept.iter().any(|&k| {
            let other = &rows[k * domains..(k + 1) * domains];
            row.iter()
                .zip(other)
                .map(|(a, b)| (a - b).abs())
                .sum::<f64>()
                <= threshold
        });
        if !duplicate {
            kept.push(i);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirichlet_means_match_the_concentration() {
        let mut rng = SeededRng::new(7);
        let alpha = [2.0, 1.0, 0.5, 0.05];
        let total: f64 = alpha.iter().sum();
        let mut mean = [0.0; 4];
        let mut row = [0.0; 4];
        let n = 200_000;
        for _ in 0..n {
            assert!(dirichlet(&mut rng, &alpha, &mut row));
            for (m, r) in mean.iter_mut().zip(&row) {
                *m += r / n as f64;
            }
        }
        for (m, a) in mean.iter().zip(&alpha) {
            assert!((m - a / total).abs() < 0.004, "mean {m} vs {}", a / total);
        }
    }

    #[test]
    fn candidates_sum_to_one_respect_bounds_and_are_reproducible() {
        let mut config = SamplerConfig::regmix(vec![0.5, 0.3, 0.15, 0.05]);
        config.upper = vec![0.6, 1.0, 1.0, 0.2];
        config.lower = vec![0.05, 0.0, 0.0, 0.0];
        let rows = config.sample(5000, 11).unwrap();
        for row in rows.chunks_exact(4) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            assert!(
                row[0] <= 0.6 + 1e-12 && row[0] >= 0.05 - 1e-12 && row[3] <= 0.2 + 1e-12,
                "{row:?}"
            );
            assert!(row.iter().all(|w| *w == 0.0 || *w >= 1e-4), "{row:?}");
        }
        assert_eq!(rows, config.sample(5000, 11).unwrap());
        assert_ne!(rows, config.sample(5000, 12).unwrap());
        // A batch from the middle of the stream equals the same rows of one big draw.
        assert_eq!(
            config.sample_from(1500, 2000, 11).unwrap(),
            rows[1500 * 4..3500 * 4]
        );
    }

    #[test]
    fn low_strength_draws_are_sparse_and_high_ones_near_the_prior() {
        let mut config = SamplerConfig::regmix(vec![0.25; 4]);
        config.temperature = 1.0;
        config.min_strength = 0.1;
        config.max_strength = 0.1;
        let sparse = config.sample(2000, 3).unwrap();
        let zeros = sparse.iter().filter(|w| **w == 0.0).count() as f64 / sparse.len() as f64;
        assert!(
            zeros > 0.4,
            "strength 0.1 gives mostly one-domain mixtures ({zeros})"
        );
        config.min_strength = 1000.0;
        config.max_strength = 1000.0;
        let dense = config.sample(2000, 3).unwrap();
        assert!(dense.iter().all(|w| (w - 0.25).abs() < 0.1));
    }

    #[test]
    fn infeasible_bounds_are_reported() {
        let mut config = SamplerConfig::regmix(vec![0.5, 0.5]);
        config.upper = vec![0.3, 0.3];
        assert!(
            config
                .sample(1, 1)
                .unwrap_err()
                .to_string()
                .contains("upper bounds")
        );
        config.cap_epochs(&[100, 100], 1000, 4.0);
        assert_eq!(config.upper, vec![0.3, 0.3]);
        let mut config = SamplerConfig::regmix(vec![0.5, 0.5]);
        config.cap_epochs(&[100, 1000], 1000, 4.0);
        assert_eq!(config.upper, vec![0.4, 1.0]);
    }

    #[test]
    fn distinct_rows_drops_near_copies() {
        let rows = [0.5, 0.5, 0.5, 0.5 + 1e-7, 0.2, 0.8, 0.5, 0.5];
        assert_eq!(distinct_rows(&rows, 2, 1e-5), vec![0, 2]);
    }
}
