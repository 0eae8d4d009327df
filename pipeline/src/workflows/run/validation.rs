//! `[mixture] validate = { steps, seeds }`: a predicted improvement is not an improvement.
//! The chosen and the natural mixture are each trained for `steps` (more than the search's
//! proxies) under `seeds` seeds other than the search's, and their held-out losses on the
//! target are reported side by side with their spread, so proxy noise is visible next to the
//! difference. Each seed's pair of runs is its own commit point, as the search's runs are.

use std::path::Path;

use blend_proxy_train::{ProxyData, ProxyOutcome, TrainSettings};

use crate::Result;
use crate::engine::cache::CacheKey;
use crate::engine::config::ValidateConfig;
use crate::engine::mixture_summary::ValidationSummary;
use crate::engine::step_cost::StepCost;
use crate::engine::summary::StepRecord;
use crate::progress::Progress;
use crate::workflows::search::{RunsFolder, train_missing_runs};

/// What a validation trains.
pub struct ValidationRequest<'a> {
    pub validate: ValidateConfig,
    pub data: &'a ProxyData,
    pub data_key: &'a str,
    /// The search's proxy settings; steps and seed are replaced.
    pub settings: &'a TrainSettings,
    pub target: &'a str,
    pub chosen: &'a [f64],
    pub natural: &'a [f64],
    pub parallel: usize,
}

/// Trains (or reuses) the validation runs under `dir`; also the step (reused when every run
/// was; its cost is the runs' training and evaluation time).
pub fn validate_mixture(
    request: &ValidationRequest<'_>,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<(ValidationSummary, StepRecord)> {
    let mut summary = ValidationSummary {
        steps: request.validate.steps,
        target: request.target.to_string(),
        seeds: Vec::new(),
        chosen: Vec::new(),
        natural: Vec::new(),
    };
    let mixtures: Vec<f64> = request
        .chosen
        .iter()
        .chain(request.natural)
        .copied()
        .collect();
    let mut trained = 0;
    let mut costs = Vec::new();
    for i in 0..request.validate.seeds {
        let mut settings = request.settings.clone();
        settings.steps = request.validate.steps;
        settings.warmup_steps = (settings.steps / 10).max(1);
        // Seeds other than the search's, so validation does not replay its batches.
        settings.seed = request.settings.seed.wrapping_add(1 + i as u64);
        let key = CacheKey::new(&(request.data_key, &settings));
        let folder = RunsFolder {
            dir: dir.join(format!("validate-{key}")),
            state_file: dir.join(format!("validate-{key}")).join("state.json"),
            restart: false,
        };
        let (runs, now) = train_missing_runs(
            &folder,
            request.data,
            request.data_key,
            &settings,
            &mixtures,
            request.parallel,
            progress,
        )?;
        trained += now;
        costs.extend(runs.iter().map(|r| run_cost(&r.outcome)));
        summary.seeds.push(settings.seed);
        summary.chosen.push(runs[0].target(request.target));
        summary.natural.push(runs[1].target(request.target));
    }
    let (chosen, chosen_sd) = ValidationSummary::mean_sd(&summary.chosen);
    let (natural, natural_sd) = ValidationSummary::mean_sd(&summary.natural);
    tracing::info!(
        "validated {} over {} seeds × {} steps: chosen {chosen:.4} ± {chosen_sd:.4}, natural {natural:.4} ± {natural_sd:.4}",
        request.target,
        request.validate.seeds,
        request.validate.steps
    );
    let step = StepRecord::new("validate", trained == 0, StepCost::sum(costs));
    Ok((summary, step))
}

/// What a proxy run cost when it was trained (its file keeps the times, not the memory).
pub fn run_cost(outcome: &ProxyOutcome) -> StepCost {
    StepCost {
        seconds: outcome.train_seconds + outcome.eval_seconds,
        peak_rss_bytes: None,
    }
}
