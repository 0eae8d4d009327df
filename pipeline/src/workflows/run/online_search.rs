//! `[mixture] method = "online"` inside a run: one proxy learns its domain weights while it
//! trains (Aioli, Chen et al., 2024; DoReMi, Xie et al., 2023, as the classic baseline),
//! starting from the prior. It spends what RegMix spends: `proxies × steps` optimizer
//! steps in all (DoReMi: half for its reference proxy, half for the reweighted one). The
//! weights a static mixture takes are the run's step-weighted average (DoReMi's output),
//! within the epoch caps and weight bounds; the schedule of every update is recorded.

use blend_proxy_train::{
    OnlineAlgorithm, OnlineOutcome, OnlineSettings, TrainSettings, train_online,
};
use serde::Serialize;

use super::domain_sizes::DomainSizes;
use super::json_step::JsonStep;
use super::proxy_setup::{ProxyMethod, ProxySetup, SearchedMixture};
use super::quadmix_search::clamp_to_bounds;
use super::validation::{run_cost, validate_choice};
use crate::engine::cache::{CacheKey, Cached, cached, stage_dir};
use crate::engine::config::PipelineConfig;
use crate::engine::mixture_summary::{MethodRuns, RecordedRun};
use crate::engine::step_cost::StepCost;
use crate::engine::summary::StepRecord;
use crate::progress::Progress;
use crate::{BLEND_VERSION, Result};

/// What the online run depends on.
#[derive(Serialize)]
struct OnlineKey<'a> {
    blend: &'a str,
    data: &'a str,
    settings: &'a TrainSettings,
    online: &'a OnlineSettings,
    initial: &'a [f64],
}

/// The reweighted run (cached): `proxies × steps` steps in all from the prior within its
/// bounds; also the settings it trained with.
fn train_online_run(
    config: &PipelineConfig,
    setup: &ProxySetup,
    online: &OnlineSettings,
    progress: &dyn Progress,
) -> Result<(Cached<JsonStep<OnlineOutcome>>, TrainSettings)> {
    let m = &config.mixture;
    let mut settings = setup.settings.clone();
    // DoReMi's reference proxy takes half of the steps.
    let models = match online.algorithm {
        OnlineAlgorithm::Aioli => 1,
        OnlineAlgorithm::DoReMi => 2,
    };
    settings.steps = (m.proxies * m.steps / models).max(online.rounds);
    settings.warmup_steps = (settings.steps / 10).max(1);
    let initial = clamp_to_bounds(
        &setup.prior.weights,
        &setup.sampler.lower,
        &setup.sampler.upper,
    );
    let key = CacheKey::new(&OnlineKey {
        blend: BLEND_VERSION,
        data: &setup.data_manifest.key,
        settings: &settings,
        online,
        initial: &initial,
    });
    let bar = progress.start(
        "train online proxy",
        Some(online.optimizer_steps(&settings) as u64),
        "steps",
    );
    let step = cached(stage_dir(&setup.dir, "online", &key), &key, |_| {
        let outcome = train_online(&setup.data, &initial, &settings, online, &|_| {
            bar.advance(1)
        })?;
        Ok(JsonStep::new(&key, outcome))
    })?;
    bar.finish(if step.reused { "reused" } else { "trained" });
    Ok((step, settings))
}

/// Online reweighting (`method = "online"`: Aioli or DoReMi).
pub struct OnlineReweighting;

impl ProxyMethod for OnlineReweighting {
    fn choose(
        &self,
        config: &PipelineConfig,
        setup: ProxySetup,
        sizes: &DomainSizes,
        progress: &dyn Progress,
    ) -> Result<SearchedMixture> {
        let m = &config.mixture;
        let online = m.online_settings();
        let (step, settings) = train_online_run(config, &setup, &online, progress)?;
        let outcome: OnlineOutcome = step.output.output;
        let mut steps = setup.steps.clone();
        let cost = StepCost::sum(
            std::iter::once(&outcome.outcome)
                .chain(&outcome.reference)
                .map(run_cost),
        );
        steps.push(StepRecord::new("proxy_runs", step.reused, cost));
        let chosen = clamp_to_bounds(
            &outcome.average_weights,
            &setup.sampler.lower,
            &setup.sampler.upper,
        );
        let method = match online.algorithm {
            OnlineAlgorithm::Aioli => "aioli",
            OnlineAlgorithm::DoReMi => "doremi",
        };
        let mixture = setup.mixture(sizes, method, &chosen, config.pipeline.seed);
        let validation = validate_choice(config, &setup, &chosen, None, &mut steps, progress)?;
        let method_runs = MethodRuns {
            settings,
            target: m.target.clone(),
            runs: vec![RecordedRun {
                run: 0,
                domains: setup.domains.clone(),
                weights: outcome.average_weights.clone(),
                outcome: outcome.outcome,
            }],
            trained: usize::from(!step.reused),
            steps: Vec::new(),
            schedule: outcome.schedule,
            reference: outcome.reference,
        };
        Ok(SearchedMixture {
            mixture,
            prior: setup.prior,
            search: None,
            method_runs: Some(method_runs),
            validation,
            steps,
        })
    }
}
