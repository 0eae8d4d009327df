//! The search step: from a fitted regressor (`model.json`) to `mixture.json`. Candidates are
//! drawn around a prior (natural token shares or the training runs' mean) within per-domain
//! bounds and epoch caps, scored by the regressor, and the best top-k averaged, with a
//! bootstrap interval. `blend mix search` and `blend search` both run it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use blend_datasets::files::sha256_file;
use blend_mixers::domain_sizes::DomainSizes;
use blend_mixers::mixture::{DomainWeight, MIXTURE_SCHEMA_VERSION, Prediction, SearchRecord};
use blend_mixers::search::{bootstrap_interval, search};
use blend_mixers::{Mixture, RegressorModel, SamplerConfig, SearchOutcome, SearchSettings};

use crate::progress::Progress;
use crate::{PipelineError, Result};

/// A per-domain bound from `--min-weight` / `--max-weight` (`domain=value`).
#[derive(Debug, Clone, PartialEq)]
pub struct WeightBound {
    pub domain: String,
    pub value: f64,
}

impl std::str::FromStr for WeightBound {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        let (domain, value) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}`: expected DOMAIN=WEIGHT"))?;
        let value: f64 = value
            .trim()
            .parse()
            .map_err(|_| format!("`{text}`: `{value}` is not a number"))?;
        if !(0.0..=1.0).contains(&value) {
            return Err(format!("`{text}`: a weight bound is between 0 and 1"));
        }
        Ok(Self {
            domain: domain.trim().to_string(),
            value,
        })
    }
}

/// How candidates are drawn around the prior (RegMix's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct SamplerOptions {
    pub temperature: f64,
    pub min_strength: f64,
    pub max_strength: f64,
    pub minimum_weight: f64,
}

impl Default for SamplerOptions {
    fn default() -> Self {
        let regmix = SamplerConfig::regmix(vec![1.0]);
        Self {
            temperature: regmix.temperature,
            min_strength: regmix.min_strength,
            max_strength: regmix.max_strength,
            minimum_weight: regmix.minimum_weight,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub model: PathBuf,
    pub settings: SearchSettings,
    pub sampler: SamplerOptions,
    /// CSV/Parquet with `domain` and `tokens` (and optionally `documents`) columns: the
    /// prior is the token share, and epoch caps apply.
    pub domain_tokens: Option<PathBuf>,
    /// The centre of the candidates (name, weights in the model's domain order); default:
    /// the natural token shares when domain sizes are given, else the runs' mean.
    pub prior: Option<(String, Vec<f64>)>,
    /// Tokens the final mixture draws (default: all available tokens).
    pub token_budget: Option<u64>,
    pub max_epochs: f64,
    pub min_weights: Vec<WeightBound>,
    pub max_weights: Vec<WeightBound>,
}

/// A searched mixture with what it was compared to.
#[derive(Debug)]
pub struct SearchResult {
    pub mixture: Mixture,
    pub outcome: SearchOutcome,
    pub model: RegressorModel,
    /// The prior the candidates were centred on (natural token shares or the runs' mean).
    pub reference: (String, Vec<f64>),
}

/// Searches a mixture for the model at `request.model`.
pub fn search_mixture(request: &SearchRequest, progress: &dyn Progress) -> Result<SearchResult> {
    let model = RegressorModel::read(&request.model)?;
    let sizes = request
        .domain_tokens
        .as_deref()
        .map(|p| DomainSizes::read(p, &model.domains))
        .transpose()?;
    let (prior_name, prior) = prior(request, &model, sizes.as_ref())?;
    let available: u64 = sizes.as_ref().map_or(0, |s| s.tokens.iter().sum());
    let budget = request.token_budget.unwrap_or(available);
    let sampler = bounded_sampler(request, &model, sizes.as_ref(), &prior, budget)?;
    let outcome = run_search(request, &model, &sampler, progress)?;
    let interval = bootstrap(request, &model, &outcome.weights, progress)?;
    let mut mixture = Mixture {
        schema_version: MIXTURE_SCHEMA_VERSION,
        method: "regmix".into(),
        seed: request.settings.seed,
        total_tokens: budget,
        domains: domain_weights(&model.domains, &outcome.weights, sizes.as_ref(), budget),
        inputs: model.inputs.clone(),
        prediction: Some(Prediction {
            target: model.target.clone(),
            value: outcome.predicted,
            interval,
            confidence: request.settings.confidence,
            bootstrap_fits: request.settings.bootstrap,
            minimize: model.minimize,
        }),
        search: Some(SearchRecord {
            regressor: model.kind().to_string(),
            candidates: outcome.candidates,
            top_k: outcome.top_k,
            top_k_mean_prediction: outcome.top_k_mean_prediction,
            best_candidate_prediction: outcome.best_candidate_prediction,
            prior: prior_name.clone(),
            temperature: sampler.temperature,
            min_strength: sampler.min_strength,
            max_strength: sampler.max_strength,
            max_epochs: sizes.as_ref().map(|_| request.max_epochs),
        }),
        sampling: None,
    };
    // File names only: the same inputs give the same mixture bytes in any folder.
    mixture.inputs.insert(
        format!("model:{}", file_name(&request.model)),
        sha256_file(&request.model)?,
    );
    if let Some(path) = &request.domain_tokens {
        mixture.inputs.insert(
            format!("domain_tokens:{}", file_name(path)),
            sha256_file(path)?,
        );
    }
    mixture.validate()?;
    Ok(SearchResult {
        mixture,
        outcome,
        model,
        reference: (prior_name, prior),
    })
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The centre of the candidates: the natural token shares when domain sizes are given,
/// else the mean of the regressor's training runs; with its name for the report.
fn prior(
    request: &SearchRequest,
    model: &RegressorModel,
    sizes: Option<&DomainSizes>,
) -> Result<(String, Vec<f64>)> {
    if let Some((name, weights)) = &request.prior {
        if weights.len() != model.domains.len() || weights.iter().sum::<f64>() <= 0.0 {
            return Err(PipelineError::argument(
                format!("prior `{name}`"),
                format!(
                    "has {} weights summing to {:.3}; the model has {} domains",
                    weights.len(),
                    weights.iter().sum::<f64>(),
                    model.domains.len()
                ),
            ));
        }
        return Ok((name.clone(), weights.clone()));
    }
    if let Some(sizes) = sizes {
        let total: u64 = sizes.tokens.iter().sum();
        if total == 0 {
            return Err(PipelineError::unreadable(
                request.domain_tokens.as_deref().unwrap_or(Path::new("")),
                "domain tokens table",
                "it has no tokens",
            ));
        }
        let shares = sizes.tokens.iter().map(|&t| t as f64 / total as f64);
        return Ok(("natural (token share)".to_string(), shares.collect()));
    }
    let d = model.domains.len();
    let runs = model.training.target.len() as f64;
    let mut mean = vec![0.0; d];
    for row in model.training.weights.chunks_exact(d) {
        for (m, w) in mean.iter_mut().zip(row) {
            *m += w / runs;
        }
    }
    Ok(("mean of the training runs".to_string(), mean))
}

/// RegMix's sampler around `prior`, with the request's settings, epoch caps over `budget`
/// and per-domain bounds.
fn bounded_sampler(
    request: &SearchRequest,
    model: &RegressorModel,
    sizes: Option<&DomainSizes>,
    prior: &[f64],
    budget: u64,
) -> Result<SamplerConfig> {
    let mut sampler = SamplerConfig::regmix(prior.to_vec());
    sampler.temperature = request.sampler.temperature;
    sampler.min_strength = request.sampler.min_strength;
    sampler.max_strength = request.sampler.max_strength;
    sampler.minimum_weight = request.sampler.minimum_weight;
    if let Some(sizes) = sizes {
        sampler.cap_epochs(&sizes.tokens, budget, request.max_epochs);
    }
    apply_weight_bounds(
        &mut sampler,
        &model.domains,
        &request.min_weights,
        &request.max_weights,
    )?;
    Ok(sampler)
}

/// Sets the sampler's per-domain lower bounds to `min` and caps its upper bounds at `max`
/// (`domains` in the sampler's order); a bound on an unknown domain is an error.
pub fn apply_weight_bounds(
    sampler: &mut SamplerConfig,
    domains: &[String],
    min: &[WeightBound],
    max: &[WeightBound],
) -> Result<()> {
    for (bounds, list, is_lower) in [
        (&mut sampler.lower, min, true),
        (&mut sampler.upper, max, false),
    ] {
        for bound in list {
            let index = domains
                .iter()
                .position(|m| *m == bound.domain)
                .ok_or_else(|| PipelineError::UnknownDomain {
                    context: "a weight bound".into(),
                    domain: bound.domain.clone(),
                    known: domains.to_vec(),
                })?;
            bounds[index] = if is_lower {
                bound.value
            } else {
                bounds[index].min(bound.value)
            };
        }
    }
    Ok(())
}

/// Draws and scores the candidates, with a progress bar over them.
fn run_search(
    request: &SearchRequest,
    model: &RegressorModel,
    sampler: &SamplerConfig,
    progress: &dyn Progress,
) -> Result<SearchOutcome> {
    let regressor = model.regressor()?;
    let bar = progress.start(
        "search",
        Some(request.settings.candidates as u64),
        "candidates",
    );
    let last = AtomicUsize::new(0);
    let outcome = search(
        regressor.as_ref(),
        sampler,
        &request.settings,
        model.minimize,
        &|done| {
            let before = last.swap(done, Ordering::Relaxed);
            bar.advance((done - before) as u64);
        },
    )?;
    bar.finish("searched");
    Ok(outcome)
}

/// The prediction interval of `weights` over bootstrap refits, when any are asked for.
fn bootstrap(
    request: &SearchRequest,
    model: &RegressorModel,
    weights: &[f64],
    progress: &dyn Progress,
) -> Result<Option<[f64; 2]>> {
    let settings = &request.settings;
    if settings.bootstrap == 0 {
        return Ok(None);
    }
    let bar = progress.start("bootstrap", Some(settings.bootstrap as u64), "refits");
    let (low, high) = bootstrap_interval(
        model,
        weights,
        settings.bootstrap,
        settings.confidence,
        settings.seed,
    )?;
    bar.advance(settings.bootstrap as u64);
    bar.finish("refitted");
    Ok(Some([low, high]))
}

/// Each domain's weight, tokens of `budget` and, with domain sizes, epochs.
fn domain_weights(
    domains: &[String],
    weights: &[f64],
    sizes: Option<&DomainSizes>,
    budget: u64,
) -> Vec<DomainWeight> {
    let tokens = apportion(weights, budget);
    domains
        .iter()
        .enumerate()
        .map(|(i, domain)| {
            let available = sizes.map_or(0, |s| s.tokens[i]);
            DomainWeight {
                domain: domain.clone(),
                weight: weights[i],
                tokens: tokens[i],
                available_tokens: available,
                documents: sizes.map_or(0, |s| s.documents[i]),
                epochs: if available > 0 {
                    tokens[i] as f64 / available as f64
                } else {
                    0.0
                },
            }
        })
        .collect()
}

/// Splits `total` into integer parts proportional to `weights` that sum to `total` exactly
/// (largest remainders get the leftover units; ties go to the earlier domain).
pub fn apportion(weights: &[f64], total: u64) -> Vec<u64> {
    let exact: Vec<f64> = weights.iter().map(|w| w * total as f64).collect();
    let mut parts: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let assigned: u64 = parts.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    for &i in order.iter().take(total.saturating_sub(assigned) as usize) {
        parts[i] += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_sums_exactly() {
        assert_eq!(apportion(&[0.5, 0.25, 0.25], 10), vec![5, 3, 2]);
        assert_eq!(apportion(&[1.0 / 3.0; 3], 100).iter().sum::<u64>(), 100);
        assert_eq!(apportion(&[0.7, 0.3], 0), vec![0, 0]);
    }

    #[test]
    fn weight_bounds_parse() {
        let bound: WeightBound = "code=0.25".parse().unwrap();
        assert_eq!(
            bound,
            WeightBound {
                domain: "code".into(),
                value: 0.25
            }
        );
        assert!("code".parse::<WeightBound>().is_err());
        assert!("code=2".parse::<WeightBound>().is_err());
    }
}
