//! What every proxy-training mixture method of a run starts from: the proxies' token streams
//! of the run's output documents (cached), the final shards' available tokens and budget,
//! the prior (cached when it comes from a tokenizer), RegMix's sampler bounded by the epoch
//! caps and `[mixture]` weight bounds, and the proxies' train settings.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;

use blend_mixers::mixture::{DomainWeight, Prediction};
use blend_mixers::{MIXTURE_SCHEMA_VERSION, Mixture, SamplerConfig};
use blend_proxy_train::{ProxyData, ProxyDataManifest, TrainSettings, train_proxy};

use super::domain_sizes::DomainSizes;
use super::json_step::JsonStep;
use super::prior::prior_weights;
use super::proxy_search::{
    SEARCH_DIR, available_tokens, check_budget, proxy_request, rebudget, weight_bounds,
};
use crate::engine::cache::{CacheKey, cached, stage_dir};
use crate::engine::config::PipelineConfig;
use crate::engine::mixture_search::{WeightBound, apply_weight_bounds};
use crate::engine::mixture_summary::RecordedRun;
use crate::engine::mixture_summary::{MethodRuns, NamedWeights, SearchSummary, ValidationSummary};
use crate::engine::runner::Curation;
use crate::engine::step_cost::StepCost;
use crate::engine::summary::StepRecord;
use crate::progress::Progress;
use crate::workflows::search::proxy_data::prepare_proxy_data;
use crate::workflows::search::{PROXY_DATA_DIR, check_domain_sizes, check_target, train_settings};
use crate::{PipelineError, Result};

/// A way to choose a mixture by training proxies on the run's documents (RegMix's search,
/// QuaDMix, Bayesian optimisation, online reweighting): one type per file, given the shared
/// [`ProxySetup`].
pub trait ProxyMethod {
    fn choose(
        &self,
        config: &PipelineConfig,
        setup: ProxySetup,
        sizes: &DomainSizes,
        progress: &dyn Progress,
    ) -> Result<SearchedMixture>;
}

/// A mixture chosen by a [`ProxyMethod`] and what it came from.
pub struct SearchedMixture {
    pub mixture: Mixture,
    pub prior: NamedWeights,
    /// The proxies and the regressor over what they were given (RegMix, QuaDMix).
    pub search: Option<SearchSummary>,
    /// The runs of a method without such a regressor (Bayesian optimisation, online).
    pub method_runs: Option<MethodRuns>,
    pub validation: Option<ValidationSummary>,
    /// The method's steps: proxy data, (prior,) proxy runs, …, validation.
    pub steps: Vec<StepRecord>,
}

/// The shared start of a run's proxy-training mixture method.
pub struct ProxySetup {
    /// `work/search`.
    pub dir: PathBuf,
    pub data_manifest: ProxyDataManifest,
    pub data: ProxyData,
    pub domains: Vec<String>,
    /// Train tokens of each domain in the final shards.
    pub available: Vec<u64>,
    pub natural: Vec<f64>,
    pub budget: u64,
    pub max_epochs: f64,
    pub prior: NamedWeights,
    /// RegMix's sampler around the prior, within the epoch caps and weight bounds.
    pub sampler: SamplerConfig,
    pub min: Vec<WeightBound>,
    pub max: Vec<WeightBound>,
    pub settings: TrainSettings,
    /// The proxy data (and prior) steps.
    pub steps: Vec<StepRecord>,
}

impl ProxySetup {
    /// `mixture.json` of `method` with `weights` over the setup's domains, its tokens drawn
    /// from the budget; prediction, search record and sampling function are the caller's.
    pub fn mixture(
        &self,
        sizes: &DomainSizes,
        method: &str,
        weights: &[f64],
        seed: u64,
    ) -> Mixture {
        let mut mixture = Mixture {
            schema_version: MIXTURE_SCHEMA_VERSION,
            method: method.into(),
            seed,
            total_tokens: self.budget,
            domains: self
                .domains
                .iter()
                .zip(weights)
                .map(|(domain, &weight)| DomainWeight {
                    domain: domain.clone(),
                    weight,
                    tokens: 0,
                    available_tokens: 0,
                    documents: sizes.get(domain).map_or(0, |s| s.train_documents),
                    epochs: 0.0,
                })
                .collect(),
            inputs: BTreeMap::from([("proxy_data".to_string(), self.data_manifest.key.clone())]),
            prediction: None,
            search: None,
            sampling: None,
        };
        rebudget(&mut mixture, self.budget, &self.available);
        mixture
    }

    /// One proxy run as its own cached step `work/search/<stage>-<key>`, trained with
    /// `settings` on the data and weights `prepare` gives (called only when the run is not
    /// reused). Returns the run and whether it was reused.
    pub fn cached_run<'a>(
        &self,
        stage: &str,
        key: &CacheKey,
        run: usize,
        prepare: &dyn Fn() -> (Cow<'a, ProxyData>, Vec<f64>),
        settings: &TrainSettings,
        on_step: &(dyn Fn(usize) + Sync),
    ) -> Result<(RecordedRun, bool)> {
        let step = cached(stage_dir(&self.dir, stage, key), key, |_| {
            let (data, weights) = prepare();
            let outcome = train_proxy(&data, &weights, settings, on_step)?;
            Ok(JsonStep::new(
                key,
                RecordedRun {
                    run,
                    domains: self.domains.clone(),
                    weights,
                    outcome,
                },
            ))
        })?;
        Ok((step.output.output, step.reused))
    }
}

/// A prediction of the held-out `target` (lower is better) without an interval.
pub fn point_prediction(target: &str, value: f64) -> Prediction {
    Prediction {
        target: target.to_string(),
        value,
        interval: None,
        confidence: 0.95,
        bootstrap_fits: 0,
        minimize: true,
    }
}

/// Prepares the proxies of `config` over the curation's output documents.
pub async fn prepare_proxies(
    config: &PipelineConfig,
    curation: &Curation,
    sizes: &DomainSizes,
    progress: &dyn Progress,
) -> Result<ProxySetup> {
    let m = &config.mixture;
    let dir = config.pipeline.work_dir.join(SEARCH_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| PipelineError::io(&dir, e))?;
    let request = proxy_request(config, curation, &dir);
    let (data_manifest, data_reused) = prepare_proxy_data(&request, progress)?;
    let data_cost = StepCost::read_from(&dir.join(PROXY_DATA_DIR));
    let mut steps = vec![StepRecord::new("proxy_data", data_reused, data_cost)];
    let data = ProxyData::read(&dir.join(PROXY_DATA_DIR))?;
    check_target(&m.target, &data.domains)?;
    check_domain_sizes(&data_manifest, m.sequence_length)?;
    let domains = data.domains.clone();
    let available = available_tokens(sizes, &domains)?;
    let natural = sizes.shares(&domains);
    let budget = config
        .token_budget()
        .unwrap_or_else(|| sizes.train_tokens());
    let max_epochs = config.max_epochs();
    check_budget(&domains, &available, budget, max_epochs)?;
    let (prior, prior_step) = prior_weights(
        &m.prior,
        curation,
        &config.output.domain_column,
        &domains,
        &natural,
        &dir,
        progress,
    )
    .await?;
    steps.extend(prior_step);
    let (min, max) = weight_bounds(m);
    let mut sampler = SamplerConfig::regmix(prior.weights.clone());
    sampler.temperature = m.temperature;
    sampler.cap_epochs(&available, budget, max_epochs);
    apply_weight_bounds(&mut sampler, &domains, &min, &max)?;
    let settings = train_settings(&request, data.vocab_size);
    Ok(ProxySetup {
        dir,
        data_manifest,
        data,
        domains,
        available,
        natural,
        budget,
        max_epochs,
        prior,
        sampler,
        min,
        max,
        settings,
        steps,
    })
}
