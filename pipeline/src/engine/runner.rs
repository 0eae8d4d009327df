//! Runs a pipeline's steps: read → stages (in DAG order) → tokenizer → shards + mixture,
//! and returns the [`RunSummary`]. Every step reuses its cached result when its inputs are
//! unchanged, so a killed run continues where it stopped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use blend_operators::FILTER_OPERATOR;
use datafusion::prelude::SessionContext;

use super::cache::{StageManifest, clean_stale_tmp};
use super::config::PipelineConfig;
use super::dag::{INPUT_NODE, StagePlan, plan};
use super::read::{READ_STAGE, ReadOutcome, run_read};
use super::session::new_session;
use super::shards::write_shards;
use super::summary::{RunSummary, StageSummary};
use super::tokenizer::{TOKENIZER_FILE, prepare_tokenizer};
use super::transform::{StageSettings, Upstream, run_stage};
use crate::progress::Progress;
use crate::{PipelineError, Result};

/// A finished run of the engine: the summary, where the shards and mixture are, and which
/// steps were reused from cache.
#[derive(Debug, Clone)]
pub struct EngineRun {
    pub summary: RunSummary,
    /// Folder and manifest of every finished stage by name (`input` = the read stage).
    pub finished: HashMap<String, (PathBuf, StageManifest)>,
    pub shards_dir: PathBuf,
    pub mixture_path: PathBuf,
    /// Names of the steps whose cached results were reused.
    pub cached: Vec<String>,
}

/// Checks every stage's operator and parameters before any data is read.
fn check_operators(config: &PipelineConfig) -> Result<()> {
    for stage in &config.stages {
        if stage.operator == FILTER_OPERATOR {
            continue;
        }
        blend_operators::build_operator(&stage.operator, &stage.params)
            .map_err(|e| PipelineError::operator(&stage.name, e))?;
    }
    Ok(())
}

/// The document stages of a run (read + every configured stage), finished or reused.
#[derive(Debug, Clone)]
pub struct DocumentRun {
    pub read: ReadOutcome,
    pub stage_plan: StagePlan,
    /// The read stage first, then every configured stage in run order.
    pub summaries: Vec<StageSummary>,
    /// Folder and manifest of every finished stage by name (`input` = the read stage).
    pub finished: HashMap<String, (PathBuf, StageManifest)>,
    /// Names of the steps whose cached results were reused.
    pub cached: Vec<String>,
    pub warnings: Vec<String>,
}

/// Reads the inputs and runs every configured stage of `config` on `ctx`, reusing cached
/// stages; no tokenizer, shards or report.
pub async fn run_document_stages(
    ctx: &SessionContext,
    config: &PipelineConfig,
    config_path: &Path,
    progress: &dyn Progress,
) -> Result<DocumentRun> {
    let config = &config.with_canonical_operators();
    let stage_plan = plan(&config.stages, config.output.from.as_deref(), config_path)?;
    check_operators(config)?;
    let work_dir = &config.pipeline.work_dir;
    std::fs::create_dir_all(work_dir).map_err(|e| PipelineError::io(work_dir, e))?;
    clean_stale_tmp(work_dir);
    let mut cached = Vec::new();

    let read = run_read(config, progress)?;
    if read.cached {
        cached.push(READ_STAGE.to_string());
    }
    if read.manifest.rows_out == 0 {
        return Err(PipelineError::NoDocuments {
            files: read.report.files.clone(),
            quarantined: read.manifest.rows_in,
        });
    }
    let mut warnings: Vec<String> = read.manifest.warnings.clone();
    let mut summaries = vec![StageSummary::of(&read.manifest, &read.dir)];
    let mut finished: HashMap<String, (PathBuf, StageManifest)> = HashMap::new();
    finished.insert(
        INPUT_NODE.to_string(),
        (read.dir.clone(), read.manifest.clone()),
    );

    let settings = StageSettings {
        work_dir,
        seed: config.pipeline.seed,
        rows_per_part: config.pipeline.rows_per_part,
        memory_budget: config.memory_budget(),
    };
    for (index, upstream_name) in &stage_plan.order {
        let stage = &config.stages[*index];
        let (upstream_dir, upstream_manifest) = finished[upstream_name].clone();
        let upstream = Upstream {
            name: upstream_name,
            dir: &upstream_dir,
            manifest: &upstream_manifest,
        };
        let outcome = run_stage(ctx, stage, upstream, settings, progress).await?;
        if outcome.cached {
            cached.push(stage.name.clone());
        }
        warnings.extend(outcome.manifest.warnings.iter().cloned());
        summaries.push(StageSummary::of(&outcome.manifest, &outcome.dir));
        finished.insert(stage.name.clone(), (outcome.dir, outcome.manifest));
    }
    Ok(DocumentRun {
        read,
        stage_plan,
        summaries,
        finished,
        cached,
        warnings,
    })
}

/// Runs every step of `config` (loaded from `config_path`, named in errors) and returns
/// its summary; `dedup_accuracy` is left for the caller, which knows the ground truth.
pub async fn run_engine(
    config: &PipelineConfig,
    config_path: &Path,
    progress: &dyn Progress,
) -> Result<EngineRun> {
    let work_dir = &config.pipeline.work_dir;
    let out_dir = &config.pipeline.out_dir;
    let seed = config.pipeline.seed;
    let ctx = new_session(config.pipeline.batch_rows);
    let DocumentRun {
        read,
        stage_plan,
        summaries,
        finished,
        mut cached,
        warnings,
    } = run_document_stages(&ctx, config, config_path, progress).await?;

    let (docs_dir, docs_manifest) = finished[&stage_plan.output].clone();
    let tokenizer = prepare_tokenizer(
        &ctx,
        &config.tokenizer,
        seed,
        (&docs_dir, &docs_manifest),
        work_dir,
        progress,
    )
    .await?;
    let shards = write_shards(
        &ctx,
        (&docs_dir, &docs_manifest),
        &tokenizer,
        &config.output,
        seed,
        out_dir,
        progress,
    )
    .await?;
    if shards.cached {
        cached.push("shards".to_string());
    }
    copy_tokenizer(&tokenizer.path, &out_dir.join(TOKENIZER_FILE))?;
    let summary = RunSummary {
        pipeline: config.pipeline.name.clone(),
        seed,
        blend_version: crate::BLEND_VERSION.to_string(),
        work_dir: work_dir.clone(),
        out_dir: out_dir.clone(),
        read: read.report,
        stages: summaries,
        output_stage: stage_plan.output,
        tokenizer_trained: tokenizer.trained,
        mixture: shards.mixture,
        shards: shards.manifest,
        shards_dir: shards.dir.clone(),
        warnings,
        dedup_accuracy: Default::default(),
    };
    Ok(EngineRun {
        summary,
        finished,
        shards_dir: shards.dir,
        mixture_path: shards.mixture_path,
        cached,
    })
}

/// Copies the run's tokenizer into the output folder (unless it is that file already).
fn copy_tokenizer(tokenizer: &Path, copy: &Path) -> Result<()> {
    let same_file = matches!(
        (tokenizer.canonicalize(), copy.canonicalize()),
        (Ok(a), Ok(b)) if a == b
    );
    if !same_file {
        std::fs::copy(tokenizer, copy).map_err(|e| PipelineError::io(copy, e))?;
    }
    Ok(())
}

/// A new multi-threaded tokio runtime for the blocking entry points.
pub fn new_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(PipelineError::Runtime)
}
