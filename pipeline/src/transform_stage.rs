//! Runs one configured stage over its upstream's part files on the DataFusion session:
//! a column-adding operator (rows in = rows out, checked) or the filter (kept rows to the
//! stage's parts, removed rows with `removed_by` to `removed/`, counts to the manifest).

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use blend_datasets::TEXT_COLUMN;
use blend_datasets::parquet_parts::PartWriter;
use blend_operators::operator::string_column;
use blend_operators::{Filter, Operator, OperatorEnv, build_operator};
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::config::StageConfig;
use crate::progress::Progress;
use crate::session::stream_parts;
use crate::stage_cache::{PendingStage, StageManifest, load_verified, stage_dir, stage_hash};
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
}

/// Shared settings of every stage of one run.
#[derive(Debug, Clone, Copy)]
pub struct StageSettings<'a> {
    pub work_dir: &'a Path,
    pub seed: u64,
    pub rows_per_part: u64,
    /// Memory budget of operators that spill; not part of the cache key.
    pub memory_budget: u64,
}

pub const FILTER_OPERATOR: &str = "filter";

fn text_bytes(stage: &str, batch: &RecordBatch) -> Result<u64> {
    let texts =
        string_column(stage, batch, TEXT_COLUMN).map_err(|e| PipelineError::operator(stage, e))?;
    Ok(texts.values().len() as u64)
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
    let hash = stage_hash(&serde_json::json!({
        "blend": BLEND_VERSION,
        "stage": stage.name,
        "operator": stage.operator,
        "params": params,
        "upstream": upstream.manifest.hash,
        "seed": settings.seed,
        "rows_per_part": settings.rows_per_part,
    }));
    let dir = stage_dir(settings.work_dir, &stage.name, &hash);
    if let Some(manifest) = load_verified(&dir) {
        return Ok(StageOutcome {
            dir,
            manifest,
            cached: true,
        });
    }
    let pending = PendingStage::begin(dir)?;
    let mut manifest = StageManifest {
        stage: stage.name.clone(),
        operator: stage.operator.clone(),
        params,
        upstream: upstream.name.to_string(),
        hash,
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
    let written = match operator {
        Some(operator) => {
            transform(
                ctx,
                stage,
                operator,
                upstream,
                settings,
                &pending,
                &mut manifest,
                progress,
            )
            .await
        }
        None => {
            filter(
                ctx,
                stage,
                upstream,
                settings,
                &pending,
                &mut manifest,
                progress,
            )
            .await
        }
    };
    match written {
        Ok(()) => {
            let json = serde_json::to_string_pretty(&manifest).expect("manifest serializes");
            let dir = pending.commit(&json)?;
            Ok(StageOutcome {
                dir,
                manifest,
                cached: false,
            })
        }
        Err(error) => {
            pending.abandon();
            Err(error)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn transform(
    ctx: &SessionContext,
    stage: &StageConfig,
    mut operator: Box<dyn Operator>,
    upstream: Upstream<'_>,
    settings: StageSettings<'_>,
    pending: &PendingStage,
    manifest: &mut StageManifest,
    progress: &dyn Progress,
) -> Result<()> {
    let name = stage.name.as_str();
    let scratch_dir = pending.tmp.join("scratch");
    operator
        .prepare(&OperatorEnv {
            scratch_dir: scratch_dir.clone(),
            memory_budget: settings.memory_budget,
            expected_rows: upstream.manifest.rows_out,
            seed: settings.seed,
        })
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
    if scratch_dir.exists() {
        std::fs::remove_dir_all(&scratch_dir).map_err(|e| PipelineError::io(&scratch_dir, e))?;
    }
    let mut stream = stream_parts(ctx, name, upstream.dir, &upstream.manifest.parts).await?;
    let empty = RecordBatch::new_empty(stream.schema());
    let output_schema = operator
        .apply(empty)
        .map_err(|e| PipelineError::operator(name, e))?
        .schema();
    let mut parts = PartWriter::new(
        &pending.tmp,
        "part",
        output_schema.clone(),
        settings.rows_per_part,
    );
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
            return Err(PipelineError::Invalid(format!(
                "stage `{name}`: operator `{}` returned {} rows for {rows}; only `filter` may remove rows",
                stage.operator,
                out.num_rows()
            )));
        }
        if out.schema() != output_schema {
            return Err(PipelineError::Invalid(format!(
                "stage `{name}`: operator `{}` changed its output schema between batches",
                stage.operator
            )));
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

async fn filter(
    ctx: &SessionContext,
    stage: &StageConfig,
    upstream: Upstream<'_>,
    settings: StageSettings<'_>,
    pending: &PendingStage,
    manifest: &mut StageManifest,
    progress: &dyn Progress,
) -> Result<()> {
    let name = stage.name.as_str();
    let mut stream = stream_parts(ctx, name, upstream.dir, &upstream.manifest.parts).await?;
    let schema = stream.schema();
    let mut filter =
        Filter::new(ctx, &schema, &stage.params).map_err(|e| PipelineError::operator(name, e))?;
    let removed_dir = pending.tmp.join("removed");
    std::fs::create_dir_all(&removed_dir).map_err(|e| PipelineError::io(&removed_dir, e))?;
    let mut kept_parts =
        PartWriter::new(&pending.tmp, "part", schema.clone(), settings.rows_per_part);
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
