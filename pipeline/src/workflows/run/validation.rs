//! `[mixture] validate = { steps, seeds }`: a predicted improvement is not an improvement.
//! The chosen and the natural mixture are each trained for `steps` (more than the search's
//! proxies) under `seeds` seeds other than the search's, and their held-out losses on the
//! target are reported side by side with their spread, so proxy noise is visible next to the
//! difference. Each seed's pair of runs is its own commit point, as the search's runs are.

use std::path::Path;

use blend_proxy_train::{ProxyData, ProxyOutcome, TrainSettings};

use super::proxy_setup::ProxySetup;
use crate::Result;
use crate::engine::cache::CacheKey;
use crate::engine::config::{PipelineConfig, ValidateConfig};
use crate::engine::mixture_summary::RecordedRun;
use crate::engine::mixture_summary::ValidationSummary;
use crate::engine::step_cost::StepCost;
use crate::engine::summary::StepRecord;
use crate::progress::Progress;
use crate::workflows::search::{RunsFolder, train_missing_runs};

/// What a validation trains: per seed, the chosen mixture in `validate-chosen-<key>` and the
/// natural one in `validate-natural-<key>` (keyed by data and settings).
pub struct ValidationRequest<'a> {
    pub validate: ValidateConfig,
    pub data: &'a ProxyData,
    pub data_key: &'a str,
    /// The search's proxy settings; steps and seed are replaced.
    pub settings: &'a TrainSettings,
    pub target: &'a str,
    pub chosen: &'a [f64],
    /// Data the chosen mixture trains on instead of `data`, with its key (QuaDMix's
    /// documents drawn by quality); the natural mixture always trains on `data`.
    pub chosen_data: Option<(&'a ProxyData, &'a str)>,
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
    let mut trained = 0;
    let mut costs = Vec::new();
    for i in 0..request.validate.seeds {
        let mut settings = request.settings.clone();
        settings.steps = request.validate.steps;
        settings.warmup_steps = (settings.steps / 10).max(1);
        // Seeds other than the search's, so validation does not replay its batches.
        settings.seed = request.settings.seed.wrapping_add(1 + i as u64);
        // The natural mixture's runs are shared by every method validated on this data.
        let (chosen_data, chosen_key) = request
            .chosen_data
            .unwrap_or((request.data, request.data_key));
        let (chosen, now) = train_runs(
            request,
            chosen_data,
            chosen_key,
            &settings,
            request.chosen,
            dir,
            "validate-chosen",
            progress,
        )?;
        trained += now;
        let (natural, now) = train_runs(
            request,
            request.data,
            request.data_key,
            &settings,
            request.natural,
            dir,
            "validate-natural",
            progress,
        )?;
        trained += now;
        let (chosen, natural) = (&chosen[0], &natural[0]);
        costs.extend([chosen, natural].map(|r| run_cost(&r.outcome)));
        summary.seeds.push(settings.seed);
        summary.chosen.push(chosen.target(request.target));
        summary.natural.push(natural.target(request.target));
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

/// `[mixture] validate` of a method's `chosen` weights against the natural mixture, on the
/// proxy data of `setup` (or `chosen_data` for the chosen mixture), its step added to
/// `steps`; `None` when not asked.
pub fn validate_choice(
    config: &PipelineConfig,
    setup: &ProxySetup,
    chosen: &[f64],
    chosen_data: Option<(&ProxyData, &str)>,
    steps: &mut Vec<StepRecord>,
    progress: &dyn Progress,
) -> Result<Option<ValidationSummary>> {
    let m = &config.mixture;
    let Some(validate) = m.validate else {
        return Ok(None);
    };
    let request = ValidationRequest {
        validate,
        data: &setup.data,
        data_key: &setup.data_manifest.key,
        settings: &setup.settings,
        target: &m.target,
        chosen,
        chosen_data,
        natural: &setup.natural,
        parallel: m.parallel.max(1),
    };
    let (summary, step) = validate_mixture(&request, &setup.dir, progress)?;
    steps.push(step);
    Ok(Some(summary))
}

/// The `proxy_runs` step of `runs`, `trained` of them by this call: reused when none was,
/// its cost the runs' recorded training and evaluation time.
pub fn proxy_runs_step(runs: &[RecordedRun], trained: usize) -> StepRecord {
    let cost = StepCost::sum(runs.iter().map(|r| run_cost(&r.outcome)));
    StepRecord::new("proxy_runs", trained == 0, cost)
}

/// Trains (or reuses) `mixtures` on `data` under `dir/<folder>-<key of data and settings>`.
#[allow(clippy::too_many_arguments)]
fn train_runs(
    request: &ValidationRequest<'_>,
    data: &ProxyData,
    data_key: &str,
    settings: &TrainSettings,
    mixtures: &[f64],
    dir: &Path,
    folder: &str,
    progress: &dyn Progress,
) -> Result<(Vec<RecordedRun>, usize)> {
    let key = CacheKey::new(&(data_key, settings));
    let folder = RunsFolder {
        dir: dir.join(format!("{folder}-{key}")),
        state_file: dir.join(format!("{folder}-{key}")).join("state.json"),
        restart: false,
    };
    train_missing_runs(
        &folder,
        data,
        data_key,
        settings,
        mixtures,
        request.parallel,
        progress,
    )
}

/// What a proxy run cost when it was trained (its file keeps the times, not the memory).
pub fn run_cost(outcome: &ProxyOutcome) -> StepCost {
    StepCost {
        seconds: outcome.train_seconds + outcome.eval_seconds,
        peak_rss_bytes: None,
    }
}
