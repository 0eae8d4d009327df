//! Runs a whole pipeline: read → stages (in DAG order) → tokenizer → shards + mixture →
//! run summary → report. Every step reuses its cached result when its inputs are unchanged,
//! so a killed run continues where it stopped.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use blend_datasets::files::write_atomic;
use blend_datasets::synthetic::NearDupAccuracy;
use blend_operators::dedup::minhash::MinHashDedup;
use datafusion::prelude::SessionContext;

use crate::config::PipelineConfig;
use crate::dag::{INPUT_NODE, StagePlan, plan};
use crate::dedup_accuracy::{stage_accuracy, synthetic_ground_truth};
use crate::progress::Progress;
use crate::read_stage::{READ_STAGE, ReadOutcome, run_read};
use crate::report::render_report;
use crate::session::new_session;
use crate::shards_stage::write_shards;
use crate::stage_cache::{StageManifest, clean_stale_tmp};
use crate::summary::{RunSummary, SUMMARY_FILE, StageSummary};
use crate::tokenize::prepare_tokenizer;
use crate::transform_stage::{FILTER_OPERATOR, StageSettings, Upstream, run_stage};
use crate::{PipelineError, Result};

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

fn summarize(manifest: &StageManifest, dir: &Path) -> StageSummary {
    StageSummary {
        name: manifest.stage.clone(),
        operator: manifest.operator.clone(),
        upstream: manifest.upstream.clone(),
        hash: manifest.hash.clone(),
        dir: dir.to_path_buf(),
        rows_in: manifest.rows_in,
        rows_out: manifest.rows_out,
        text_bytes_in: manifest.text_bytes_in,
        text_bytes_out: manifest.text_bytes_out,
        filter: manifest.filter.clone(),
        warnings: manifest.warnings.clone(),
        operator_summary: manifest.operator_summary.clone(),
    }
}

/// Precision/recall of every `dedup.minhash` stage when the input is the synthetic corpus.
fn score_near_duplicates(
    config: &PipelineConfig,
    finished: &HashMap<String, (PathBuf, StageManifest)>,
) -> Result<BTreeMap<String, NearDupAccuracy>> {
    let mut scores = BTreeMap::new();
    let Some(truth) = synthetic_ground_truth(&config.inputs) else {
        return Ok(scores);
    };
    for stage in &config.stages {
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
        let files: Vec<String> = read
            .report
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        return Err(PipelineError::Invalid(format!(
            "no documents were read from {} ({} records quarantined); nothing to process",
            files.join(", "),
            read.manifest.rows_in
        )));
    }
    let mut warnings: Vec<String> = read.manifest.warnings.clone();
    let mut summaries = vec![summarize(&read.manifest, &read.dir)];
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
        summaries.push(summarize(&outcome.manifest, &outcome.dir));
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

/// Runs `config` (loaded from `config_path`, named in errors).
pub async fn run_pipeline(
    config: &PipelineConfig,
    config_path: &Path,
    progress: &dyn Progress,
) -> Result<RunOutcome> {
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

    let dedup_accuracy = score_near_duplicates(config, &finished)?;
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
    let tokenizer_copy = out_dir.join(crate::tokenize::TOKENIZER_FILE);
    let same_file = matches!(
        (tokenizer.path.canonicalize(), tokenizer_copy.canonicalize()),
        (Ok(a), Ok(b)) if a == b
    );
    if !same_file {
        std::fs::copy(&tokenizer.path, &tokenizer_copy)
            .map_err(|e| PipelineError::io(&tokenizer_copy, e))?;
    }

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
        dedup_accuracy,
    };
    let summary_json = summary.to_json();
    write_atomic(&work_dir.join(SUMMARY_FILE), summary_json.as_bytes())?;
    let summary_path = out_dir.join(SUMMARY_FILE);
    write_atomic(&summary_path, summary_json.as_bytes())?;
    crate::domains_table::write_domain_tables(&summary, &config.output.domain_column, out_dir)?;
    let report_path = out_dir.join(REPORT_FILE);
    write_atomic(&report_path, render_report(&summary).as_bytes())?;
    Ok(RunOutcome {
        summary,
        report_path,
        summary_path,
        shards_dir: shards.dir,
        mixture_path: shards.mixture_path,
        cached,
    })
}

/// A new multi-threaded tokio runtime for the blocking entry points.
pub fn new_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| PipelineError::Invalid(format!("cannot start the async runtime: {e}")))
}

/// `run_pipeline` on a new multi-threaded tokio runtime.
pub fn run_pipeline_blocking(
    config: &PipelineConfig,
    config_path: &Path,
    progress: &dyn Progress,
) -> Result<RunOutcome> {
    new_runtime()?.block_on(run_pipeline(config, config_path, progress))
}
