//! `[mixture] method = "search"` inside a run: the proxies train on the run's own output
//! documents (their domains are what the DAG produced), the first runs cover the simplex,
//! the candidates are bounded by the final shards' budget and epoch cap, and every step is
//! cached: the token streams, each proxy run (its own commit point), the regressor fit, the
//! search and each validation seed. Adding proxies trains only the new ones.

use std::path::{Path, PathBuf};

use blend_datasets::read::InputSpec;
use blend_mixers::{Mixture, RegressorModel, SearchSettings};
use serde::Serialize;

use super::domain_sizes::DomainSizes;
use super::json_step::JsonStep;
use super::proxy_setup::{ProxyMethod, ProxySetup, SearchedMixture};
use super::validation::{proxy_runs_step, validate_choice};
use crate::engine::cache::{CacheKey, cached, stage_dir};
use crate::engine::config::{MixtureConfig, PipelineConfig, TokenizerConfig};
use crate::engine::mixture_search::{
    SamplerOptions, SearchRequest, WeightBound, apportion, search_mixture,
};
use crate::engine::mixture_summary::{NamedWeights, SearchSummary};
use crate::engine::runner::Curation;
use crate::engine::summary::StepRecord;
use crate::progress::Progress;
use crate::workflows::search::{
    FitRequest, MODEL_FILE, ProxySearchRequest, RunsFolder, fit_regressor, too_few_runs,
    train_missing_runs,
};
use crate::{BLEND_VERSION, PipelineError, Result};

/// The folder under the work dir that holds a run's search.
pub const SEARCH_DIR: &str = "search";

/// RegMix (`method = "search"`): proxies on mixtures spread over the simplex, a regressor
/// on their held-out losses, and the mean of its best predicted candidates.
pub struct RegMixSearch;

impl ProxyMethod for RegMixSearch {
    fn choose(
        &self,
        config: &PipelineConfig,
        setup: ProxySetup,
        sizes: &DomainSizes,
        progress: &dyn Progress,
    ) -> Result<SearchedMixture> {
        let m = &config.mixture;
        let seed = config.pipeline.seed;
        let mut steps = setup.steps.clone();
        let mixtures = setup.sampler.design_runs(m.proxies, seed)?;
        let runs_key = CacheKey::new(&(&setup.data_manifest.key, &setup.settings));
        let folder = RunsFolder {
            dir: setup.dir.join(format!("runs-{runs_key}")),
            state_file: setup
                .dir
                .join(format!("runs-{runs_key}"))
                .join("state.json"),
            restart: false,
        };
        let (runs, trained) = train_missing_runs(
            &folder,
            &setup.data,
            &setup.data_manifest.key,
            &setup.settings,
            &mixtures,
            m.parallel.max(1),
            progress,
        )?;
        steps.push(proxy_runs_step(&runs, trained));
        let warnings = too_few_runs(runs.len(), setup.domains.len());
        let fit_key = CacheKey::new(&FitKey {
            blend: BLEND_VERSION,
            runs: runs.iter().map(FittedRun::of).collect(),
            target: &m.target,
            regressor: m.regressor,
            seed,
        });
        let fit = cached(
            stage_dir(&setup.dir, "regressor", &fit_key),
            &fit_key,
            |tmp| {
                let fit = FitRequest {
                    target: &m.target,
                    regressor: m.regressor,
                    seed,
                };
                Ok(JsonStep::new(
                    &fit_key,
                    fit_regressor(tmp, fit, &setup.domains, &runs)?,
                ))
            },
        )?;
        steps.push(StepRecord::new("regressor", fit.reused, fit.cost));
        let model: RegressorModel = fit.output.output;
        let (mut mixture, search_step) =
            search_step(config, &setup, sizes, &fit_key, &fit.dir, progress)?;
        steps.push(search_step);
        rebudget(&mut mixture, setup.budget, &setup.available);
        let chosen: Vec<f64> = mixture.domains.iter().map(|d| d.weight).collect();
        let validation = validate_choice(config, &setup, &chosen, None, &mut steps, progress)?;
        let natural = &setup.natural;
        let natural_predicted = model.regressor()?.predict(natural, natural.len())[0];
        Ok(SearchedMixture {
            mixture,
            prior: setup.prior,
            search: Some(SearchSummary {
                natural_predicted,
                settings: setup.settings,
                runs,
                trained,
                model,
                warnings,
            }),
            method_runs: None,
            validation,
            steps,
        })
    }
}

/// The cached search over the fitted model in `fit_dir`: the mixture and its step.
fn search_step(
    config: &PipelineConfig,
    setup: &ProxySetup,
    sizes: &DomainSizes,
    fit_key: &CacheKey,
    fit_dir: &Path,
    progress: &dyn Progress,
) -> Result<(Mixture, StepRecord)> {
    let m = &config.mixture;
    let seed = config.pipeline.seed;
    // The budget reaches the search only through the epoch caps it binds (`upper`), so a
    // new `[shards] tokens` that binds no domain reuses the search.
    let search_key = CacheKey::new(&SearchKey {
        fit: fit_key.hash(),
        config: m,
        prior: &setup.prior,
        sizes,
        upper: &setup.sampler.upper,
        seed,
    });
    let model_path = fit_dir.join(MODEL_FILE);
    let searched = cached(
        stage_dir(&setup.dir, "search", &search_key),
        &search_key,
        |tmp| {
            let domains_csv = tmp.join("domains.csv");
            sizes.write_csv(&domains_csv)?;
            let request = SearchRequest {
                model: model_path.clone(),
                settings: SearchSettings {
                    candidates: m.candidates,
                    top_k: m.top_k,
                    bootstrap: m.bootstrap,
                    seed,
                    ..SearchSettings::default()
                },
                sampler: SamplerOptions {
                    temperature: m.temperature,
                    ..SamplerOptions::default()
                },
                domain_tokens: Some(domains_csv),
                prior: Some((setup.prior.name.clone(), setup.prior.weights.clone())),
                token_budget: Some(setup.budget),
                max_epochs: setup.max_epochs,
                min_weights: setup.min.clone(),
                max_weights: setup.max.clone(),
            };
            let mut mixture = search_mixture(&request, progress)?.mixture;
            mixture
                .inputs
                .insert("proxy_data".into(), setup.data_manifest.key.clone());
            Ok(JsonStep::new(&search_key, mixture))
        },
    )?;
    let step = StepRecord::new("search", searched.reused, searched.cost);
    Ok((searched.output.output, step))
}

/// What the regressor fit depends on.
#[derive(Serialize)]
struct FitKey<'a> {
    blend: &'a str,
    runs: Vec<FittedRun<'a>>,
    target: &'a str,
    regressor: blend_mixers::RegressorKind,
    seed: u64,
}

/// A recorded run as the regressor sees it: no timings, which differ when a run whose
/// record was lost is trained again.
#[derive(Serialize)]
struct FittedRun<'a> {
    run: usize,
    weights: &'a [f64],
    valid_loss: &'a [f64],
    train_loss: &'a [(usize, f32)],
    tokens: u64,
}

impl<'a> FittedRun<'a> {
    fn of(run: &'a crate::engine::mixture_summary::RecordedRun) -> Self {
        Self {
            run: run.run,
            weights: &run.weights,
            valid_loss: &run.outcome.valid_loss,
            train_loss: &run.outcome.train_loss,
            tokens: run.outcome.tokens,
        }
    }
}

/// What the search depends on besides the fit.
#[derive(Serialize)]
struct SearchKey<'a> {
    fit: &'a str,
    config: &'a MixtureConfig,
    prior: &'a NamedWeights,
    sizes: &'a DomainSizes,
    upper: &'a [f64],
    seed: u64,
}

/// Sets the tokens each domain of `mixture` draws from `budget`, and its epochs over the
/// `available` train tokens (in the mixture's domain order).
pub(super) fn rebudget(mixture: &mut Mixture, budget: u64, available: &[u64]) {
    let weights: Vec<f64> = mixture.domains.iter().map(|d| d.weight).collect();
    let tokens = apportion(&weights, budget);
    mixture.total_tokens = budget;
    for ((domain, tokens), &available) in mixture.domains.iter_mut().zip(tokens).zip(available) {
        domain.tokens = tokens;
        domain.available_tokens = available;
        domain.epochs = if available > 0 {
            tokens as f64 / available as f64
        } else {
            0.0
        };
    }
}

/// The `blend search` request the run's search amounts to: the output stage's Parquet
/// parts as inputs, the run's tokenizer (or one of `[mixture] vocab_size`), in `dir`.
pub(super) fn proxy_request(
    config: &PipelineConfig,
    curation: &Curation,
    dir: &Path,
) -> ProxySearchRequest {
    let m = &config.mixture;
    let (docs_dir, docs_manifest) = (&curation.docs.0, &curation.docs.1);
    let inputs = docs_manifest
        .parts
        .iter()
        .map(|part| InputSpec::new(docs_dir.join(&part.name)))
        .collect();
    let mut request = ProxySearchRequest::new(inputs, PathBuf::from(dir));
    request.inputs_digest = Some(docs_manifest.content_digest());
    request.domain_column = config.output.domain_column.clone();
    request.tokenizer = TokenizerConfig {
        // The run's tokenizer, unless the proxies get one of their own size.
        path: m
            .vocab_size
            .is_none()
            .then(|| curation.tokenizer.path.clone()),
        vocab_size: m.vocab_size.unwrap_or(config.tokenizer.vocab_size),
        ..config.tokenizer.clone()
    };
    request.apply_mixture_settings(m);
    request.seed = config.pipeline.seed;
    request
}

/// `[mixture] min_weight` / `max_weight` as bounds.
pub(super) fn weight_bounds(m: &MixtureConfig) -> (Vec<WeightBound>, Vec<WeightBound>) {
    let bounds = |map: &std::collections::BTreeMap<String, f64>| {
        map.iter()
            .map(|(domain, &value)| WeightBound {
                domain: domain.clone(),
                value,
            })
            .collect()
    };
    (bounds(&m.min_weight), bounds(&m.max_weight))
}

/// The final shards' train tokens of each of `domains`.
pub(super) fn available_tokens(sizes: &DomainSizes, domains: &[String]) -> Result<Vec<u64>> {
    domains
        .iter()
        .map(|d| {
            sizes
                .get(d)
                .map(|s| s.train_tokens)
                .ok_or_else(|| PipelineError::UnknownDomain {
                    context: "the final shards' train split".into(),
                    domain: d.clone(),
                    known: sizes.names(),
                })
        })
        .collect()
}

/// A budget no mixture can meet: even `max_epochs` passes over every domain fall short.
pub fn check_budget(
    domains: &[String],
    available: &[u64],
    budget: u64,
    max_epochs: f64,
) -> Result<()> {
    let most: f64 = available.iter().map(|&a| a as f64 * max_epochs).sum();
    if most >= budget as f64 {
        return Ok(());
    }
    let per_domain = domains
        .iter()
        .zip(available)
        .map(|(d, &a)| {
            format!(
                "{d}: {a} tokens × {max_epochs} = {:.0}",
                a as f64 * max_epochs
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(PipelineError::Budget {
        tokens: budget,
        mixture: PathBuf::from("[mixture]/[shards]"),
        problem: format!(
            "every domain runs out: at most {max_epochs} epochs of each give {most:.0} tokens ({per_domain}); lower [shards] tokens or raise max_epochs"
        ),
    })
}
