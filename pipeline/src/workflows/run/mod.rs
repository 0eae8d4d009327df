//! `blend run`: the engine's run of a pipeline file, then what a user reads: near-duplicate
//! accuracy against the synthetic corpus's ground truth (when the input is one),
//! `run_summary.json` (in the work and output folders), `domains.csv` and `report.html`.

mod bayes_opt_search;
mod domain_sizes;
mod domains_table;
mod final_shards;
mod json_step;
mod mixture_choice;
mod online_search;
mod prior;
mod proxy_search;
mod proxy_setup;
mod quadmix_search;
mod validation;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use blend_datasets::files::write_atomic;
use blend_datasets::synthetic::NearDupAccuracy;
use blend_operators::OperatorSpec;
use blend_operators::dedup::minhash::MinHashDedup;

use super::dedup_accuracy::{stage_accuracy, synthetic_ground_truth};
use super::write_output;
use crate::Result;
use crate::engine::cache::StageManifest;
use crate::engine::config::{MixtureMethod, PipelineConfig, ShardsConfig, TokenCount};
use crate::engine::runner::{EngineRun, new_runtime, run_curation, run_engine};
use crate::engine::summary::{RunSummary, SUMMARY_FILE, StepRecord};
use crate::engine::work_lock::WorkDirLock;
use crate::progress::Progress;
use crate::report::figures::{FIGURES_FILE, ReportFigures};
use crate::report::render_report;

use domain_sizes::count_domain_sizes;
use final_shards::write_final_shards;
use mixture_choice::choose_mixture;

pub use domain_sizes::{DomainSize, DomainSizes};
pub use domains_table::{DOMAINS_FILE, write_domain_tables};
pub use mixture_choice::PLAUSIBLE_DOMAINS;

pub const REPORT_FILE: &str = "report.html";

/// Where a finished run put things, and which steps were reused from cache.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub summary: RunSummary,
    pub report_path: PathBuf,
    pub summary_path: PathBuf,
    pub shards_dir: PathBuf,
    pub mixture_path: PathBuf,
    /// Names of the steps whose cached results were reused.
    pub cached: Vec<String>,
}

/// Runs `config` (loaded from `config_path`, named in errors) and writes its summary,
/// domain tables and report.
pub async fn run_pipeline(
    config: &PipelineConfig,
    config_path: &Path,
    progress: &dyn Progress,
) -> Result<RunOutcome> {
    // Named files are checked before the work folder is created (or locked).
    config.check_files(config_path)?;
    let _lock = WorkDirLock::acquire(&config.pipeline.work_dir)?;
    let EngineRun {
        mut summary,
        finished,
        shards_dir,
        mixture_path,
        cached,
    } = if config.shards.is_some() || config.mixture.method != MixtureMethod::Natural {
        run_job(config, config_path, progress).await?
    } else {
        run_engine(config, config_path, progress).await?
    };
    summary.dedup_accuracy = score_near_duplicates(config, &summary, &finished)?;
    let out_dir = &config.pipeline.out_dir;
    let summary_json = summary.to_json();
    write_atomic(
        &config.pipeline.work_dir.join(SUMMARY_FILE),
        summary_json.as_bytes(),
    )?;
    let summary_path = out_dir.join(SUMMARY_FILE);
    write_atomic(&summary_path, summary_json.as_bytes())?;
    write_domain_tables(&summary, &config.output.domain_column, out_dir)?;
    let report_path = out_dir.join(REPORT_FILE);
    write_output(&report_path, &render_report(&summary))?;
    write_output(
        &out_dir.join(FIGURES_FILE),
        &ReportFigures::of(&summary).to_json(),
    )?;
    Ok(RunOutcome {
        summary,
        report_path,
        summary_path,
        shards_dir,
        mixture_path,
        cached,
    })
}

/// A run with `[mixture]` or `[shards]`: curation, the domain sizes, the mixture (natural,
/// searched or from a file), then the final shards drawn by it.
async fn run_job(
    config: &PipelineConfig,
    config_path: &Path,
    progress: &dyn Progress,
) -> Result<EngineRun> {
    let curation = run_curation(config, config_path, progress).await?;
    let mut settings = config
        .shards
        .clone()
        .unwrap_or_else(|| ShardsConfig::new(1));
    let seed = settings.seed.unwrap_or(config.pipeline.seed);
    let domain_column = &config.output.domain_column;
    let work_dir = &config.pipeline.work_dir;
    let (sizes, sizes_step) = count_domain_sizes(
        &curation,
        domain_column,
        settings.valid_fraction,
        seed,
        work_dir,
        progress,
    )
    .await?;
    if config.shards.is_none() {
        // Without a budget the final shards are as large as the documents' train split.
        settings.tokens = TokenCount(sizes.train_tokens().max(1));
    }
    let chosen = choose_mixture(config, &curation, &sizes, progress).await?;
    let out_dir = &config.pipeline.out_dir;
    let shards = write_final_shards(
        &curation,
        &chosen.mixture,
        &settings,
        domain_column,
        seed,
        out_dir,
        progress,
    )
    .await?;
    let mut steps = vec![sizes_step];
    steps.extend(chosen.steps);
    steps.push(StepRecord::new("final_shards", shards.reused, shards.cost));
    let mut summary = curation.summary(
        config,
        chosen.mixture,
        shards.manifest,
        shards.dir.clone(),
        steps,
    );
    summary.warnings.extend(chosen.warnings);
    summary.mixture_choice = Some(chosen.summary);
    Ok(EngineRun {
        cached: curation.reused_steps(&summary.steps),
        summary,
        finished: curation.documents.finished,
        shards_dir: shards.dir,
        mixture_path: shards.mixture_path,
    })
}

/// `blend report`: rebuilds `report.html` from a finished run's `run_summary.json` (`dir` is
/// a work or output folder, or the file) into `out` (default: beside the summary).
pub fn rebuild_report(dir: &Path, out: Option<PathBuf>) -> Result<PathBuf> {
    let summary = RunSummary::read(dir)?;
    let out = out.unwrap_or_else(|| {
        let folder = if dir.is_file() {
            dir.parent().map(PathBuf::from).unwrap_or_default()
        } else {
            dir.to_path_buf()
        };
        folder.join(REPORT_FILE)
    });
    write_output(&out, &render_report(&summary))?;
    write_output(
        &out.with_file_name(FIGURES_FILE),
        &ReportFigures::of(&summary).to_json(),
    )?;
    Ok(out)
}

/// `run_pipeline` on a new multi-threaded tokio runtime.
pub fn run_pipeline_blocking(
    config: &PipelineConfig,
    config_path: &Path,
    progress: &dyn Progress,
) -> Result<RunOutcome> {
    new_runtime()?.block_on(run_pipeline(config, config_path, progress))
}

/// Precision/recall of every `dedup.minhash` stage when the input is the synthetic corpus.
fn score_near_duplicates(
    config: &PipelineConfig,
    summary: &RunSummary,
    finished: &HashMap<String, (PathBuf, StageManifest)>,
) -> Result<BTreeMap<String, NearDupAccuracy>> {
    let mut scores = BTreeMap::new();
    let Some(truth) = synthetic_ground_truth(&config.inputs) else {
        return Ok(scores);
    };
    for stage in &summary.stages {
        if stage.operator != MinHashDedup::NAME {
            continue;
        }
        let (dir, manifest) = &finished[&stage.name];
        scores.insert(
            stage.name.clone(),
            stage_accuracy(&truth, dir, &manifest.parts)?,
        );
    }
    Ok(scores)
}
