//! The work behind `blend mix fit | predict | search | eval`: read experiment tables, fit
//! and store regressors, search mixtures with bounds and epoch caps into `mixture.json`,
//! and evaluate regressors and CLIMB rounds on held-out runs. The CLI only parses flags and
//! prints; everything here is testable without it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use blend_datasets::files::sha256_file;
use blend_mixers::climb::{Pool, pool_study};
use blend_mixers::domain_sizes::DomainSizes;
use blend_mixers::evaluation::{EvaluationReport, Split, learning_curve, score_regressors};
use blend_mixers::mixture::{DomainWeight, MIXTURE_SCHEMA_VERSION, Prediction, SearchRecord};
use blend_mixers::search::{bootstrap_interval, search};
use blend_mixers::{
    ExperimentTable, FitSettings, Mixture, RegressorKind, RegressorModel, RunsLayout,
    SamplerConfig, SearchOutcome, SearchSettings,
};

use crate::progress::Progress;
use crate::{PipelineError, Result};

/// Where recorded runs come from: one table, or mixtures and metrics joined by a key.
#[derive(Debug, Clone)]
pub enum RunsSource {
    Runs {
        path: PathBuf,
        layout: RunsLayout,
    },
    Joined {
        mixtures: PathBuf,
        metrics: PathBuf,
        key: String,
    },
}

impl RunsSource {
    pub fn read(&self) -> Result<ExperimentTable> {
        Ok(match self {
            Self::Runs { path, layout } => ExperimentTable::read_runs(path, layout)?,
            Self::Joined {
                mixtures,
                metrics,
                key,
            } => ExperimentTable::read_joined(mixtures, metrics, key)?,
        })
    }

    fn paths(&self) -> Vec<&Path> {
        match self {
            Self::Runs { path, .. } => vec![path],
            Self::Joined {
                mixtures, metrics, ..
            } => vec![mixtures, metrics],
        }
    }

    /// sha256 of each input file, by path.
    pub fn hashes(&self) -> Result<BTreeMap<String, String>> {
        self.paths()
            .into_iter()
            .map(|p| Ok((p.display().to_string(), sha256_file(p)?)))
            .collect()
    }
}

/// Fits `kind` on `source`'s `target` (with its k-fold cross-validation).
pub fn fit_model(
    source: &RunsSource,
    target: &str,
    kind: RegressorKind,
    settings: &FitSettings,
    minimize: bool,
) -> Result<RegressorModel> {
    let table = source.read()?;
    Ok(RegressorModel::fit(
        &table,
        target,
        kind,
        settings,
        minimize,
        source.hashes()?,
    )?)
}

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
    let regressor = model.regressor()?;
    let d = model.domains.len();
    let sizes = request
        .domain_tokens
        .as_deref()
        .map(|p| DomainSizes::read(p, &model.domains))
        .transpose()?;
    let (prior_name, prior) = match &sizes {
        Some(sizes) => {
            let total: u64 = sizes.tokens.iter().sum();
            if total == 0 {
                return Err(PipelineError::Invalid(
                    "the domain tokens table has no tokens".into(),
                ));
            }
            (
                "natural (token share)".to_string(),
                sizes
                    .tokens
                    .iter()
                    .map(|&t| t as f64 / total as f64)
                    .collect::<Vec<_>>(),
            )
        }
        None => {
            let runs = model.training.target.len() as f64;
            let mut mean = vec![0.0; d];
            for row in model.training.weights.chunks_exact(d) {
                for (m, w) in mean.iter_mut().zip(row) {
                    *m += w / runs;
                }
            }
            ("mean of the training runs".to_string(), mean)
        }
    };
    let mut sampler = SamplerConfig::regmix(prior.clone());
    sampler.temperature = request.sampler.temperature;
    sampler.min_strength = request.sampler.min_strength;
    sampler.max_strength = request.sampler.max_strength;
    sampler.minimum_weight = request.sampler.minimum_weight;
    let available: u64 = sizes.as_ref().map_or(0, |s| s.tokens.iter().sum());
    let budget = request.token_budget.unwrap_or(available);
    if let Some(sizes) = &sizes {
        sampler.cap_epochs(&sizes.tokens, budget, request.max_epochs);
    }
    for (bounds, list, is_lower) in [
        (&mut sampler.lower, &request.min_weights, true),
        (&mut sampler.upper, &request.max_weights, false),
    ] {
        for bound in list {
            let index = model
                .domains
                .iter()
                .position(|m| *m == bound.domain)
                .ok_or_else(|| {
                    PipelineError::Invalid(format!(
                        "weight bound for `{}`: the model's domains are {}",
                        bound.domain,
                        model.domains.join(", ")
                    ))
                })?;
            bounds[index] = if is_lower {
                bound.value
            } else {
                bounds[index].min(bound.value)
            };
        }
    }
    let bar = progress.start(
        "search",
        Some(request.settings.candidates as u64),
        "candidates",
    );
    let last = std::sync::atomic::AtomicUsize::new(0);
    let outcome = search(
        regressor.as_ref(),
        &sampler,
        &request.settings,
        model.minimize,
        &|done| {
            let before = last.swap(done, std::sync::atomic::Ordering::Relaxed);
            bar.advance((done - before) as u64);
        },
    )?;
    bar.finish("searched");
    let interval = if request.settings.bootstrap > 0 {
        let bar = progress.start(
            "bootstrap",
            Some(request.settings.bootstrap as u64),
            "refits",
        );
        let interval = bootstrap_interval(
            &model,
            &outcome.weights,
            request.settings.bootstrap,
            request.settings.confidence,
            request.settings.seed,
        )?;
        bar.advance(request.settings.bootstrap as u64);
        bar.finish("refitted");
        Some([interval.0, interval.1])
    } else {
        None
    };
    let tokens = apportion(&outcome.weights, budget);
    let mut inputs = model.inputs.clone();
    inputs.insert(
        format!("model:{}", request.model.display()),
        sha256_file(&request.model)?,
    );
    if let Some(path) = &request.domain_tokens {
        inputs.insert(
            format!("domain_tokens:{}", path.display()),
            sha256_file(path)?,
        );
    }
    let mixture = Mixture {
        schema_version: MIXTURE_SCHEMA_VERSION,
        method: "regmix".into(),
        seed: request.settings.seed,
        total_tokens: budget,
        domains: model
            .domains
            .iter()
            .enumerate()
            .map(|(i, domain)| {
                let available = sizes.as_ref().map_or(0, |s| s.tokens[i]);
                DomainWeight {
                    domain: domain.clone(),
                    weight: outcome.weights[i],
                    tokens: tokens[i],
                    available_tokens: available,
                    documents: sizes.as_ref().map_or(0, |s| s.documents[i]),
                    epochs: if available > 0 {
                        tokens[i] as f64 / available as f64
                    } else {
                        0.0
                    },
                }
            })
            .collect(),
        inputs,
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
    };
    mixture.validate()?;
    Ok(SearchResult {
        mixture,
        outcome,
        model,
        reference: (prior_name, prior),
    })
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

/// What `blend mix eval` measures.
#[derive(Debug, Clone)]
pub struct EvaluateRequest {
    pub train: RunsSource,
    pub test: RunsSource,
    pub target: String,
    pub minimize: bool,
    pub regressors: Vec<RegressorKind>,
    pub settings: FitSettings,
    pub curve_sizes: Vec<usize>,
    pub curve_repeats: usize,
    pub climb_queries: Vec<usize>,
    /// The regressor CLIMB refits between rounds (and judges both strategies with).
    pub climb_regressor: RegressorKind,
    pub climb_rounds: usize,
    pub climb_repeats: usize,
}

pub fn evaluate(request: &EvaluateRequest, progress: &dyn Progress) -> Result<EvaluationReport> {
    let train = request.train.read()?;
    let test = request.test.read()?;
    let train_y = train.target(&request.target)?;
    let test_y = test.target(&request.target)?;
    let test_weights = test.weights_for(&train.domains)?;
    let d = train.domains.len();
    let split = Split {
        domains: d,
        train_weights: &train.weights,
        train_target: &train_y,
        test_weights: &test_weights,
        test_target: &test_y,
    };
    let steps = 1
        + u64::from(!request.curve_sizes.is_empty())
        + u64::from(!request.climb_queries.is_empty());
    let bar = progress.start("evaluate", Some(steps), "steps");
    let scores = score_regressors(split, &request.regressors, &request.settings)?;
    bar.advance(1);
    let sizes: Vec<usize> = request
        .curve_sizes
        .iter()
        .copied()
        .filter(|&s| s <= train_y.len())
        .collect();
    let curve_kinds: Vec<RegressorKind> = request
        .regressors
        .iter()
        .copied()
        .filter(|k| matches!(k, RegressorKind::LightGbm | RegressorKind::Linear))
        .collect();
    let curve = if sizes.is_empty() {
        Vec::new()
    } else {
        learning_curve(
            split,
            &sizes,
            request.curve_repeats,
            &curve_kinds,
            &request.settings,
        )?
    };
    if !request.curve_sizes.is_empty() {
        bar.advance(1);
    }
    let queries: Vec<usize> = request
        .climb_queries
        .iter()
        .copied()
        .filter(|&q| q <= train_y.len())
        .collect();
    let climb = if queries.is_empty() {
        Vec::new()
    } else {
        let pool = Pool {
            domains: d,
            weights: &train.weights,
            target: &train_y,
            test_weights: &test_weights,
            test_target: &test_y,
            minimize: request.minimize,
        };
        pool_study(
            pool,
            &queries,
            request.climb_rounds,
            request.climb_repeats,
            request.climb_regressor,
            &request.settings,
        )?
    };
    if !request.climb_queries.is_empty() {
        bar.advance(1);
    }
    bar.finish("evaluated");
    Ok(EvaluationReport {
        target: request.target.clone(),
        domains: train.domains.clone(),
        train_runs: train_y.len(),
        test_runs: test_y.len(),
        settings: request.settings.clone(),
        scores,
        test_target: test_y,
        learning_curve: curve,
        climb,
    })
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
