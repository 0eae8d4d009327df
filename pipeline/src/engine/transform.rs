//! Runs one configured stage over its upstream's part files on the DataFusion session:
//! a column-adding operator (rows in = rows out, checked) or the filter (kept rows to the
//! stage's parts, removed rows with `removed_by` to `removed/`, counts to the manifest).

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use blend_datasets::TEXT_COLUMN;
use blend_datasets::parquet_parts::{PartWriter, ROW_GROUP_BUFFER};
use blend_distributed::ClusterSession;
use blend_distributed::stages::{ClusterPlan, cluster_plan};
use blend_operators::operator::string_column;
use blend_operators::{FILTER_OPERATOR, Filter, Operator, OperatorEnv, build_operator};
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use serde::Serialize;

use super::cache::{CacheKey, StageManifest, cached_async, stage_dir};
use super::cluster_stage::apply_on_cluster;
use super::config::StageConfig;
use super::session::stream_parts;
use super::step_cost::StepCost;
use crate::progress::Progress;
use crate::{BLEND_VERSION, PipelineError, Result};

/// The finished upstream a stage reads.
#[derive(Debug, Clone, Copy)]
pub struct Upstream<'a> {
    pub name: &'a str,
    pub dir: &'a Path,
    pub manifest: &'a StageManifest,
}

#[derive(Debug, Clone)]
pub struct StageOutcome {
    pub dir: PathBuf,
    pub manifest: StageManifest,
    pub cached: bool,
    pub cost: Option<StepCost>,
}

/// Shared settings of every stage of one run.
#[derive(Debug, Clone, Copy)]
pub struct StageSettings<'a> {
    pub work_dir: &'a Path,
    pub seed: u64,
    pub rows_per_part: u64,
    pub batch_rows: usize,
    /// Memory budget of operators that spill; not part of the cache key.
    pub memory_budget: u64,
    /// The cluster configured stages run on, if any; not part of the cache key.
    pub cluster: Option<&'a ClusterSession>,
}

pub(crate) fn text_bytes(stage: &str, batch: &RecordBatch) -> Result<u64> {
    let texts =
        string_column(stage, batch, TEXT_COLUMN).map_err(|e| PipelineError::operator(stage, e))?;
    Ok(texts.values().len() as u64)
}

/// What a configured stage's output depends on.
#[derive(Debug, Serialize)]
struct StageKey<'a> {
    blend: &'a str,
    stage: &'a str,
    operator: &'a str,
    params: &'a serde_json::Value,
    upstream: &'a str,
    seed: u64,
    rows_per_part: u64,
}

pub async fn run_stage(
    ctx: &SessionContext,
    stage: &StageConfig,
    upstream: Upstream<'_>,
    settings: StageSettings<'_>,
    progress: &dyn Progress,
) -> Result<StageOutcome> {
    let operator = if stage.operator == FILTER_OPERATOR {
        None
    } else {
        Some(
            build_operator(&stage.operator, &stage.params)
                .map_err(|e| PipelineError::operator(&stage.name, e))?,
        )
    };
    let params = operator
        .as_ref()
        .map(|op| op.params())
        .unwrap_or_else(|| stage.params.clone());
    let key = CacheKey::new(&StageKey {
        blend: BLEND_VERSION,
        stage: &stage.name,
        operator: &stage.operator,
        params: &params,
        upstream: &upstream.manifest.content_digest(),
        seed: settings.seed,
        rows_per_part: settings.rows_per_part,
    });
    let dir = stage_dir(settings.work_dir, &stage.name, &key);
    let step = cached_async(dir, &key, async |tmp: &Path| {
        let mut manifest = StageManifest {
            stage: stage.name.clone(),
            operator: stage.operator.clone(),
            params,
            upstream: upstream.name.to_string(),
            hash: key.hash().to_string(),
            blend_version: BLEND_VERSION.into(),
            rows_in: 0,
            rows_out: 0,
            text_bytes_in: 0,
            text_bytes_out: 0,
            parts: Vec::new(),
            removed_parts: Vec::new(),
            filter: None,
            warnings: Vec::new(),
            operator_summary: None,
        };
        let run = StageRun {
            ctx,
            stage,
            upstream,
            settings,
            dir: tmp,
            progress,
        };
        match operator {
            Some(operator) => transform(&run, operator, &mut manifest).await?,
            None => filter(&run, &mut manifest).await?,
        }
        Ok(manifest)
    })
    .await?;
    Ok(StageOutcome {
        dir: step.dir,
        manifest: step.output,
        cached: step.reused,
        cost: step.cost,
    })
}

/// One stage being written into `dir`.
#[derive(Clone, Copy)]
pub(crate) struct StageRun<'a> {
    pub ctx: &'a SessionContext,
    pub stage: &'a StageConfig,
    pub upstream: Upstream<'a>,
    pub settings: StageSettings<'a>,
    pub dir: &'a Path,
    pub progress: &'a dyn Progress,
}

async fn transform(
    run: &StageRun<'_>,
    mut operator: Box<dyn Operator>,
    manifest: &mut StageManifest,
) -> Result<()> {
    if let Some(cluster) = run.settings.cluster {
        match cluster_plan(operator.as_ref()) {
            ClusterPlan::Client(reason) => tracing::info!(
                "stage `{}` ({}) runs here, not on the cluster: {reason}",
                run.stage.name,
                run.stage.operator
            ),
            _ => return apply_on_cluster(run, cluster, operator, manifest).await,
        }
    }
    observe(run, operator.as_mut()).await?;
    apply(run, operator, manifest).await
}

/// Buffers every streaming stage holds besides its operator: the upstream's row group
/// being read and the output's row group being written.
pub const STREAMING_BUFFERS: u64 = 2 * ROW_GROUP_BUFFER as u64;

/// Logs what stage `name` is expected to hold at its peak, before it starts.
fn announce_memory(name: &str, operator: u64, budget: u64) {
    let mib = |bytes: u64| bytes.div_ceil(1 << 20);
    let expected = operator + STREAMING_BUFFERS;
    tracing::info!(
        "stage `{name}`: expected peak {} MiB above the process ({} MiB operator state, {} MiB streaming buffers; budget {} MiB)",
        mib(expected),
        mib(operator),
        mib(STREAMING_BUFFERS),
        mib(budget)
    );
    if operator > budget {
        tracing::warn!(
            "stage `{name}`: its operator expects {} MiB, more than the {} MiB budget (it cannot spill)",
            mib(operator),
            mib(budget)
        );
    }
}

/// Prepares the operator and streams the upstream through its observe passes.
async fn observe(run: &StageRun<'_>, operator: &mut dyn Operator) -> Result<()> {
    let StageRun {
        ctx,
        stage,
        upstream,
        settings,
        dir,
        progress,
    } = *run;
    let name = stage.name.as_str();
    let scratch_dir = dir.join("scratch");
    let env = OperatorEnv {
        scratch_dir: scratch_dir.clone(),
        memory_budget: settings.memory_budget,
        expected_rows: upstream.manifest.rows_out,
        seed: settings.seed,
    };
    announce_memory(name, operator.expected_memory(&env), settings.memory_budget);
    operator
        .prepare(&env)
        .map_err(|e| PipelineError::operator(name, e))?;
    let passes = operator.observe_passes();
    for pass in 0..passes {
        let mut stream = stream_parts(ctx, name, upstream.dir, &upstream.manifest.parts).await?;
        let task = progress.start(
            &format!("{name} (pass {} of {})", pass + 1, passes + 1),
            Some(upstream.manifest.rows_out),
            "docs",
        );
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| PipelineError::datafusion(name, e))?;
            operator
                .observe(pass, &batch)
                .map_err(|e| PipelineError::operator(name, e))?;
            task.advance(batch.num_rows() as u64);
        }
        operator
            .end_pass(pass)
            .map_err(|e| PipelineError::operator(name, e))?;
        task.finish(&format!("pass {} done", pass + 1));
    }
    remove_scratch(&scratch_dir)
}

/// Removes an operator's scratch folder once its passes are done.
pub(crate) fn remove_scratch(scratch_dir: &Path) -> Result<()> {
    if scratch_dir.exists() {
        std::fs::remove_dir_all(scratch_dir).map_err(|e| PipelineError::io(scratch_dir, e))?;
    }
    Ok(())
}

/// Streams the upstream through the operator into the stage's parts, checking that every
/// batch keeps its rows and the first batch's schema.
async fn apply(
    run: &StageRun<'_>,
    mut operator: Box<dyn Operator>,
    manifest: &mut StageManifest,
) -> Result<()> {
    let StageRun {
        ctx,
        stage,
        upstream,
        settings,
        dir,
        progress,
    } = *run;
    let name = stage.name.as_str();
    let mut stream = stream_parts(ctx, name, upstream.dir, &upstream.manifest.parts).await?;
    let empty = RecordBatch::new_empty(stream.schema());
    let output_schema = operator
        .apply(empty)
        .map_err(|e| PipelineError::operator(name, e))?
        .schema();
    let mut parts = PartWriter::new(dir, "part", output_schema.clone(), settings.rows_per_part);
    let task = progress.start(name, Some(upstream.manifest.rows_out), "docs");
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| PipelineError::datafusion(name, e))?;
        let rows = batch.num_rows() as u64;
        manifest.rows_in += rows;
        manifest.text_bytes_in += text_bytes(name, &batch)?;
        let out = operator
            .apply(batch)
            .map_err(|e| PipelineError::operator(name, e))?;
        if out.num_rows() as u64 != rows {
            return Err(PipelineError::RowsChanged {
                stage: name.to_string(),
                operator: stage.operator.clone(),
                rows_in: rows,
                rows_out: out.num_rows() as u64,
            });
        }
        if out.schema() != output_schema {
            return Err(PipelineError::SchemaChanged {
                stage: name.to_string(),
                operator: stage.operator.clone(),
            });
        }
        manifest.rows_out += rows;
        manifest.text_bytes_out += text_bytes(name, &out)?;
        parts.write(&out)?;
        task.advance(rows);
    }
    manifest.parts = parts.finish()?;
    manifest.operator_summary = operator.summary();
    task.finish(&format!("{} docs", manifest.rows_out));
    Ok(())
}

async fn filter(run: &StageRun<'_>, manifest: &mut StageManifest) -> Result<()> {
    let StageRun {
        ctx,
        stage,
        upstream,
        settings,
        dir,
        progress,
    } = *run;
    let name = stage.name.as_str();
    let mut stream = stream_parts(ctx, name, upstream.dir, &upstream.manifest.parts).await?;
    let schema = stream.schema();
    let mut filter =
        Filter::new(ctx, &schema, &stage.params).map_err(|e| PipelineError::operator(name, e))?;
    let removed_dir = dir.join("removed");
    std::fs::create_dir_all(&removed_dir).map_err(|e| PipelineError::io(&removed_dir, e))?;
    let mut kept_parts = PartWriter::new(dir, "part", schema.clone(), settings.rows_per_part);
    let mut removed_parts = PartWriter::new(
        &removed_dir,
        "part",
        filter.removed_schema(),
        settings.rows_per_part,
    );
    let keep_removed = filter.params().keep_removed;
    let task = progress.start(name, Some(upstream.manifest.rows_out), "docs");
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| PipelineError::datafusion(name, e))?;
        let output = filter
            .apply(&batch)
            .map_err(|e| PipelineError::operator(name, e))?;
        kept_parts.write(&output.kept)?;
        if keep_removed {
            removed_parts.write(&output.removed)?;
        }
        task.advance(batch.num_rows() as u64);
    }
    manifest.parts = kept_parts.finish()?;
    manifest.removed_parts = if keep_removed {
        removed_parts.finish()?
    } else {
        Vec::new()
    };
    let stats = filter.stats().clone();
    manifest.rows_in = stats.input_docs;
    manifest.rows_out = stats.kept_docs;
    manifest.text_bytes_in = stats.input_bytes;
    manifest.text_bytes_out = stats.kept_bytes;
    let share = stats.removed_share();
    if share > filter.params().warn_removed_share {
        let warning = format!(
            "stage `{name}` removed {:.1}% of documents ({} of {}); check its rules",
            share * 100.0,
            stats.removed_docs,
            stats.input_docs
        );
        tracing::warn!("{warning}");
        manifest.warnings.push(warning);
    }
    task.finish(&format!(
        "kept {} of {} docs",
        stats.kept_docs, stats.input_docs
    ));
    manifest.filter = Some(stats);
    Ok(())
}
