//! Proxy-run design: the mixtures a search trains its proxy models on. The first runs cover
//! the simplex (the prior, the uniform mixture, then one run leaning on each domain); the rest
//! are the sampler's seeded Dirichlet stream, skipping any draw that repeats an earlier run.
//!
//! The sequence of runs does not depend on how many are asked for, so `design_runs(n + k)`
//! starts with `design_runs(n)`: adding proxies to a search trains only the new ones.

use crate::{MixerError, Result, SamplerConfig};

/// Share of a domain-leaning run given to its domain; the other half is spread by the prior.
pub const LEANING_SHARE: f64 = 0.5;
/// Stream draws in a row that may all repeat earlier runs before the design gives up.
const MAX_REPEATED_DRAWS: usize = 10_000;
/// Stream candidates drawn per call to the sampler (one of its random blocks).
const DRAW_BATCH: usize = 1024;
/// Two runs closer than this in every domain are the same run when `minimum_weight` is 0.
const EXACT_TOLERANCE: f64 = 1e-9;
/// Slack allowed on the per-domain bounds and on the sum of a run.
const BOUND_TOLERANCE: f64 = 1e-12;

impl SamplerConfig {
    /// `count` distinct proxy-run mixtures, row-major `count × domains` like [`Self::sample`].
    ///
    /// Rows come in this order, each kept only if it differs from every earlier row:
    /// 1. the prior, normalized;
    /// 2. the uniform mixture;
    /// 3. for each domain `k` in order, `LEANING_SHARE` on `k` plus `1 - LEANING_SHARE` spread
    ///    by the prior;
    /// 4. the sampler's Dirichlet stream for `seed` ([`Self::sample_from`] from 0 on).
    ///
    /// Rows 1–3 are fitted into `lower`/`upper` by [`fit_to_bounds`] and left out when they
    /// cannot be. Two rows are the same run when no domain differs by
    /// [`Self::duplicate_tolerance`] or more. Fails when [`MAX_REPEATED_DRAWS`] stream draws in
    /// a row all repeat earlier runs: the bounds leave fewer distinct mixtures than asked.
    pub fn design_runs(&self, count: usize, seed: u64) -> Result<Vec<f64>> {
        self.validate()?;
        let mut runs = DistinctRuns::new(self.domains(), self.duplicate_tolerance());
        for row in self.covering_rows() {
            if runs.len() == count {
                break;
            }
            runs.push_if_new(&row);
        }
        self.fill_from_stream(&mut runs, count, seed)?;
        Ok(runs.rows)
    }

    /// Half a weight step (`minimum_weight / 2`): stream draws are rounded to multiples of
    /// `minimum_weight`, so two draws are either the same grid point or a full step apart.
    pub fn duplicate_tolerance(&self) -> f64 {
        if self.minimum_weight > 0.0 {
            self.minimum_weight / 2.0
        } else {
            EXACT_TOLERANCE
        }
    }

    /// The prior, the uniform mixture and one domain-leaning mixture per domain, in that
    /// order, each fitted into the bounds; a mixture that cannot be fitted is left out.
    fn covering_rows(&self) -> Vec<Vec<f64>> {
        let d = self.domains();
        let prior_sum: f64 = self.prior.iter().sum();
        let prior: Vec<f64> = self.prior.iter().map(|p| p / prior_sum).collect();
        let mut targets = vec![prior.clone(), vec![1.0 / d as f64; d]];
        for domain in 0..d {
            let mut leaning: Vec<f64> = prior.iter().map(|p| (1.0 - LEANING_SHARE) * p).collect();
            leaning[domain] += LEANING_SHARE;
            targets.push(leaning);
        }
        targets
            .iter()
            .filter_map(|target| fit_to_bounds(target, &self.lower, &self.upper))
            .collect()
    }

    /// Appends stream draws that are new until `runs` holds `count` rows.
    fn fill_from_stream(&self, runs: &mut DistinctRuns, count: usize, seed: u64) -> Result<()> {
        let d = self.domains();
        let mut next_draw = 0;
        let mut repeated_draws = 0;
        while runs.len() < count {
            let draws = self.sample_from(next_draw, DRAW_BATCH, seed)?;
            next_draw += DRAW_BATCH;
            for row in draws.chunks_exact(d) {
                if runs.len() == count {
                    break;
                }
                if runs.push_if_new(row) {
                    repeated_draws = 0;
                    continue;
                }
                repeated_draws += 1;
                if repeated_draws == MAX_REPEATED_DRAWS {
                    return Err(too_few_distinct(runs.len(), count));
                }
            }
        }
        Ok(())
    }
}

fn too_few_distinct(found: usize, asked: usize) -> MixerError {
    MixerError::Invalid(format!(
        "only {found} distinct proxy-run mixtures of the {asked} asked: {MAX_REPEATED_DRAWS} \
         draws in a row repeated earlier runs, so the weight bounds (epoch caps, \
         --min-weight/--max-weight) and the minimum weight leave too few mixtures; ask for \
         fewer runs or loosen the bounds"
    ))
}

/// Rows kept so far, each differing from all the others by at least `tolerance` in some
/// domain.
struct DistinctRuns {
    domains: usize,
    tolerance: f64,
    rows: Vec<f64>,
}

impl DistinctRuns {
    fn new(domains: usize, tolerance: f64) -> Self {
        Self {
            domains,
            tolerance,
            rows: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.rows.len() / self.domains
    }

    /// Keeps `row` unless an earlier row is within the tolerance in every domain; true when
    /// kept.
    fn push_if_new(&mut self, row: &[f64]) -> bool {
        let repeats = self.rows.chunks_exact(self.domains).any(|earlier| {
            earlier
                .iter()
                .zip(row)
                .all(|(a, b)| (a - b).abs() < self.tolerance)
        });
        if !repeats {
            self.rows.extend_from_slice(row);
        }
        !repeats
    }
}

/// `target` scaled by the one factor `c` for which the weights `clamp(c · targetᵢ, lowerᵢ,
/// upperᵢ)` sum to 1: clipped domains sit at their bound and the others keep the target's
/// proportions (zeros stay zero unless a lower bound lifts them). `None` when no factor fits,
/// i.e. the domains the target uses cannot take the whole weight.
pub fn fit_to_bounds(target: &[f64], lower: &[f64], upper: &[f64]) -> Option<Vec<f64>> {
    let fitted = |scale: f64| -> Vec<f64> {
        target
            .iter()
            .zip(lower.iter().zip(upper))
            .map(|(w, (lo, hi))| (scale * w).max(*lo).min(*hi))
            .collect()
    };
    let total = |scale: f64| fitted(scale).iter().sum::<f64>();
    // At this scale every used domain sits at its upper bound: the most the target can reach.
    let mut high = target
        .iter()
        .zip(upper)
        .filter(|(w, _)| **w > 0.0)
        .map(|(w, hi)| hi / w)
        .fold(0.0, f64::max);
    if total(high) < 1.0 - BOUND_TOLERANCE {
        return None;
    }
    let mut low = 0.0;
    for _ in 0..200 {
        let middle = 0.5 * (low + high);
        if total(middle) < 1.0 {
            low = middle;
        } else {
            high = middle;
        }
    }
    let mut row = fitted(high);
    let sum: f64 = row.iter().sum();
    row.iter_mut().for_each(|w| *w /= sum);
    within_bounds(&row, lower, upper).then_some(row)
}

fn within_bounds(row: &[f64], lower: &[f64], upper: &[f64]) -> bool {
    (row.iter().sum::<f64>() - 1.0).abs() < 1e-9
        && row
            .iter()
            .zip(lower.iter().zip(upper))
            .all(|(w, (lo, hi))| *w >= lo - BOUND_TOLERANCE && *w <= hi + BOUND_TOLERANCE)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIOR: [f64; 4] = [0.5, 0.3, 0.15, 0.05];

    fn rows(runs: &[f64], domains: usize) -> Vec<Vec<f64>> {
        runs.chunks_exact(domains).map(<[f64]>::to_vec).collect()
    }

    fn assert_close(row: &[f64], expected: &[f64]) {
        assert!(
            row.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-12),
            "{row:?} != {expected:?}"
        );
    }

    #[test]
    fn first_runs_are_prior_uniform_then_one_leaning_run_per_domain() {
        let config = SamplerConfig::regmix(PRIOR.to_vec());
        let runs = rows(&config.design_runs(6, 1).unwrap(), 4);
        assert_close(&runs[0], &PRIOR);
        assert_close(&runs[1], &[0.25; 4]);
        assert_close(&runs[2], &[0.75, 0.15, 0.075, 0.025]);
        assert_close(&runs[3], &[0.25, 0.65, 0.075, 0.025]);
        assert_close(&runs[5], &[0.25, 0.15, 0.075, 0.525]);
    }

    #[test]
    fn prior_is_normalized() {
        let config = SamplerConfig::regmix(vec![2.0, 6.0]);
        let runs = config.design_runs(1, 1).unwrap();
        assert_close(&runs, &[0.25, 0.75]);
    }

    #[test]
    fn designed_runs_are_fitted_into_bounds_keeping_proportions() {
        let mut config = SamplerConfig::regmix(PRIOR.to_vec());
        config.upper[0] = 0.4;
        let runs = rows(&config.design_runs(3, 1).unwrap(), 4);
        // The 0.1 taken from domain 0 goes to the others in the prior's proportions.
        assert_close(&runs[0], &[0.4, 0.36, 0.18, 0.06]);
        assert_close(&runs[1], &[0.25; 4]);
        // Leaning on domain 0 fits to the same mixture as the prior, so it is skipped.
        assert_close(&runs[2], &[0.25, 0.65, 0.075, 0.025]);
    }

    #[test]
    fn designed_runs_that_cannot_fit_the_bounds_are_skipped() {
        let mut config = SamplerConfig::regmix(vec![1.0, 0.0, 0.0]);
        config.upper = vec![0.5, 1.0, 1.0];
        let runs = rows(&config.design_runs(3, 1).unwrap(), 3);
        // The prior and leaning on domain 0 put everything on domain 0: left out.
        assert_close(&runs[0], &[1.0 / 3.0; 3]);
        assert_close(&runs[1], &[0.5, 0.5, 0.0]);
        assert_close(&runs[2], &[0.5, 0.0, 0.5]);
    }

    #[test]
    fn a_uniform_prior_is_not_repeated_as_the_uniform_run() {
        let config = SamplerConfig::regmix(vec![0.5, 0.5]);
        let runs = rows(&config.design_runs(3, 1).unwrap(), 2);
        assert_close(&runs[0], &[0.5, 0.5]);
        assert_close(&runs[1], &[0.75, 0.25]);
        assert_close(&runs[2], &[0.25, 0.75]);
    }

    #[test]
    fn later_runs_are_the_sampler_stream_in_order() {
        let config = SamplerConfig::regmix(PRIOR.to_vec());
        let runs = rows(&config.design_runs(60, 5).unwrap(), 4);
        let stream = rows(&config.sample(2048, 5).unwrap(), 4);
        let mut after = 0;
        for run in &runs[6..] {
            let at = stream[after..]
                .iter()
                .position(|draw| draw == run)
                .expect("a later run is a stream draw");
            after += at + 1;
        }
    }

    #[test]
    fn runs_are_prefix_stable() {
        for seed in [0, 1, 42] {
            let config = SamplerConfig::regmix(PRIOR.to_vec());
            let long = config.design_runs(50, seed).unwrap();
            for count in [0, 1, 3, 6, 7, 20, 49] {
                assert_eq!(config.design_runs(count, seed).unwrap(), long[..count * 4]);
            }
        }
    }

    /// Configs over several domain counts and bounds, including tight ones.
    fn property_configs() -> Vec<SamplerConfig> {
        let mut configs = Vec::new();
        for domains in [2usize, 3, 7] {
            let prior: Vec<f64> = (1..=domains).map(|i| 1.0 / (i * i) as f64).collect();
            let free = SamplerConfig::regmix(prior.clone());
            let mut capped = free.clone();
            capped.upper[0] = 0.3;
            capped.lower[domains - 1] = 0.05;
            let mut exact = free.clone();
            exact.minimum_weight = 0.0;
            configs.extend([free, capped, exact]);
        }
        configs
    }

    #[test]
    fn runs_are_distinct_within_bounds_and_sum_to_one() {
        for config in property_configs() {
            let d = config.domains();
            for seed in [0, 7, 1234] {
                let runs = config.design_runs(40, seed).unwrap();
                assert_eq!(runs, config.design_runs(40, seed).unwrap(), "deterministic");
                let runs = rows(&runs, d);
                assert_eq!(runs.len(), 40);
                for (i, run) in runs.iter().enumerate() {
                    assert!(within_bounds(run, &config.lower, &config.upper), "{run:?}");
                    for earlier in &runs[..i] {
                        let gap = run
                            .iter()
                            .zip(earlier)
                            .map(|(a, b)| (a - b).abs())
                            .fold(0.0, f64::max);
                        assert!(gap >= config.duplicate_tolerance(), "{run:?} ~ {earlier:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn seeds_change_only_the_stream_runs() {
        let config = SamplerConfig::regmix(PRIOR.to_vec());
        let (a, b) = (
            config.design_runs(30, 1).unwrap(),
            config.design_runs(30, 2).unwrap(),
        );
        assert_eq!(a[..6 * 4], b[..6 * 4]);
        assert_ne!(a[6 * 4..], b[6 * 4..]);
    }

    #[test]
    fn too_few_distinct_mixtures_is_an_error() {
        let mut config = SamplerConfig::regmix(vec![0.5, 0.5]);
        // Weights are multiples of 0.25: the prior, the two leaning runs, then only [0, 1]
        // and [1, 0] are new.
        config.minimum_weight = 0.25;
        assert_eq!(config.design_runs(5, 3).unwrap().len(), 10);
        let error = config.design_runs(6, 3).unwrap_err();
        assert!(
            matches!(&error, MixerError::Invalid(message)
                if message.contains("only 5 distinct proxy-run mixtures of the 6 asked")),
            "{error}"
        );
    }

    #[test]
    fn a_single_domain_has_one_run() {
        let config = SamplerConfig::regmix(vec![3.0]);
        assert_eq!(config.design_runs(1, 0).unwrap(), vec![1.0]);
        assert!(config.design_runs(2, 0).is_err());
    }
}
