//! Runs a pipeline's steps: read → stages (in DAG order) → tokenizer → shards + mixture,
//! and returns the [`RunSummary`]. Every step reuses its cached result when its inputs are
//! unchanged, so a killed run continues where it stopped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use blend_datasets::shards::ShardManifest;
use blend_mixers::Mixture;
use blend_operators::FILTER_OPERATOR;
use datafusion::prelude::SessionContext;

use super::cache::{StageManifest, clean_stale_output_tmp, clean_stale_tmp};
use super::config::PipelineConfig;
use super::dag::{INPUT_NODE, StagePlan, plan};
use super::read::{READ_STAGE, ReadOutcome, run_read};
use super::session::new_session;
use super::shards::write_shards;
use super::summary::{RunSummary, StageSummary, StepRecord};
use super::tokenizer::{LoadedTokenizer, TOKENIZER_FILE, prepare_tokenizer};
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
    clean_stale_output_tmp(&config.pipeline.out_dir);
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
    let mut summaries = vec![StageSummary::of(&read.manifest, &read.dir).with_cost(read.cost)];
    let mut finished: HashMap<String, (PathBuf, StageManifest)> = HashMap::new();
    finished.insert(
        INPUT_NODE.to_string(),
        (read.dir.clone(), read.manifest.clone()),
    );

    let cluster = match &config.pipeline.cluster {
        Some(url) => Some(
            blend_distributed::connect(url)
                .await
                .map_err(PipelineError::Cluster)?,
        ),
        None => None,
    };
    let settings = StageSettings {
        work_dir,
        seed: config.pipeline.seed,
        rows_per_part: config.pipeline.rows_per_part,
        batch_rows: config.pipeline.batch_rows,
        memory_budget: config.memory_budget(),
        cluster: cluster.as_ref(),
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
        summaries.push(StageSummary::of(&outcome.manifest, &outcome.dir).with_cost(outcome.cost));
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

/// A run's curation: the document stages and the tokenizer, on the session they ran in.
pub struct Curation {
    pub ctx: SessionContext,
    pub documents: DocumentRun,
    /// The output stage's folder and manifest.
    pub docs: (PathBuf, StageManifest),
    pub tokenizer: Arc<LoadedTokenizer>,
    /// The steps after the document stages so far (the tokenizer, when it was trained).
    pub steps: Vec<StepRecord>,
}

impl Curation {
    /// Names of the reused steps: document stages, then the reused ones of `steps` (which
    /// start with this curation's own).
    pub fn reused_steps(&self, steps: &[StepRecord]) -> Vec<String> {
        let later = steps.iter().filter(|s| s.reused).map(|s| s.name.clone());
        self.documents.cached.iter().cloned().chain(later).collect()
    }

    /// The run summary of this curation with the given mixture, shards and later steps.
    pub fn summary(
        &self,
        config: &PipelineConfig,
        mixture: Mixture,
        shards: ShardManifest,
        shards_dir: PathBuf,
        steps: Vec<StepRecord>,
    ) -> RunSummary {
        let documents = &self.documents;
        RunSummary {
            pipeline: config.pipeline.name.clone(),
            seed: config.pipeline.seed,
            blend_version: crate::BLEND_VERSION.to_string(),
            work_dir: config.pipeline.work_dir.clone(),
            out_dir: config.pipeline.out_dir.clone(),
            read: documents.read.report.clone(),
            stages: documents.summaries.clone(),
            output_stage: documents.stage_plan.output.clone(),
            domain_column: config.output.domain_column.clone(),
            tokenizer_trained: self.tokenizer.trained,
            mixture,
            mixture_choice: None,
            shards,
            shards_dir,
            warnings: documents.warnings.clone(),
            steps: self.steps.iter().cloned().chain(steps).collect(),
            dedup_accuracy: Default::default(),
        }
    }
}

/// Runs the document stages and prepares the tokenizer (copied to the output folder).
pub async fn run_curation(
    config: &PipelineConfig,
    config_path: &Path,
    progress: &dyn Progress,
) -> Result<Curation> {
    config.check_files(config_path)?;
    let ctx = new_session(config.pipeline.batch_rows);
    let documents = run_document_stages(&ctx, config, config_path, progress).await?;
    let docs = documents.finished[&documents.stage_plan.output].clone();
    let prepared = prepare_tokenizer(
        &ctx,
        &config.tokenizer,
        config.pipeline.seed,
        (&docs.0, &docs.1),
        &config.pipeline.work_dir,
        progress,
    )
    .await?;
    let out_dir = &config.pipeline.out_dir;
    std::fs::create_dir_all(out_dir).map_err(|e| PipelineError::io(out_dir, e))?;
    copy_tokenizer(&prepared.tokenizer.path, &out_dir.join(TOKENIZER_FILE))?;
    Ok(Curation {
        ctx,
        documents,
        docs,
        tokenizer: Arc::new(prepared.tokenizer),
        steps: prepared.step.into_iter().collect(),
    })
}

/// Runs every step of `config` (loaded from `config_path`, named in errors) with the
/// natural mixture, every output document written once, and returns its summary;
/// `dedup_accuracy` is left for the caller, which knows the ground truth.
pub async fn run_engine(
    config: &PipelineConfig,
    config_path: &Path,
    progress: &dyn Progress,
) -> Result<EngineRun> {
    let curation = run_curation(config, config_path, progress).await?;
    let (docs_dir, docs_manifest) = &curation.docs;
    let shards = write_shards(
        &curation.ctx,
        (docs_dir, docs_manifest),
        &curation.tokenizer,
        &config.output,
        config.pipeline.seed,
        &config.pipeline.out_dir,
        progress,
    )
    .await?;
    let step = StepRecord::new("shards", shards.cached, shards.cost);
    let summary = curation.summary(
        config,
        shards.mixture,
        shards.manifest,
        shards.dir.clone(),
        vec![step],
    );
    Ok(EngineRun {
        cached: curation.reused_steps(&summary.steps),
        summary,
        finished: curation.documents.finished,
        shards_dir: shards.dir,
        mixture_path: shards.mixture_path,
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
