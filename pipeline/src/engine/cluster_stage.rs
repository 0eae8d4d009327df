//! A configured stage on the cluster (`pipeline.cluster`): the operator is prepared here,
//! the cluster computes its outputs ([`blend_distributed::stages`]), and the rows come back
//! in stable order into the stage's parts, so the manifest and parts are those of a local
//! run. The upstream's parts must be readable at the same paths on every executor.

use std::path::Path;

use arrow::array::RecordBatch;
use blend_datasets::parquet_parts::PartWriter;
use blend_distributed::parts_table::{PartSlice, output_schema, part_schema, part_slices};
use blend_distributed::{ClusterSession, ClusterStageRequest};
use blend_operators::{Operator, OperatorEnv};

use super::cache::StageManifest;
use super::transform::{StageRun, remove_scratch, text_bytes};
use crate::{PipelineError, Result};

/// The upstream's parts with absolute paths and the ordinal of each one's first row.
fn upstream_slices(dir: &Path, manifest: &StageManifest) -> Result<Vec<PartSlice>> {
    let dir = std::path::absolute(dir).map_err(|e| PipelineError::io(dir, e))?;
    Ok(part_slices(&dir, &manifest.parts))
}

/// The cluster's rows cut into the batches a local run writes: `batch_rows` at a time within
/// each upstream part, as the local session reads them. The Parquet writer's pages follow
/// the batches it is given, so the same cuts give byte-identical parts.
struct LocalBatches {
    /// Rows of each batch still to come, in order.
    sizes: std::collections::VecDeque<usize>,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
}

impl LocalBatches {
    fn new(parts: &[blend_datasets::parquet_parts::PartFile], batch_rows: usize) -> Self {
        let batch_rows = batch_rows.max(1) as u64;
        let sizes = parts
            .iter()
            .flat_map(|part| {
                let full = part.rows / batch_rows;
                let rest = part.rows % batch_rows;
                std::iter::repeat_n(batch_rows as usize, full as usize)
                    .chain((rest > 0).then_some(rest as usize))
            })
            .collect();
        Self {
            sizes,
            pending: Vec::new(),
            pending_rows: 0,
        }
    }

    /// Takes `batch`; returns every batch now complete.
    fn push(&mut self, stage: &str, batch: RecordBatch) -> Result<Vec<RecordBatch>> {
        self.pending_rows += batch.num_rows();
        self.pending.push(batch);
        let mut ready = Vec::new();
        while let Some(&size) = self.sizes.front()
            && self.pending_rows >= size
        {
            // Slices are views; rows are copied only where a batch spans two received ones.
            let all = match self.pending.as_slice() {
                [one] => one.clone(),
                many => arrow::compute::concat_batches(&many[0].schema(), many)
                    .map_err(|e| PipelineError::datafusion(stage, e.into()))?,
            };
            ready.push(all.slice(0, size));
            let rest = all.slice(size, all.num_rows() - size);
            self.pending_rows = rest.num_rows();
            self.pending = vec![rest];
            self.sizes.pop_front();
        }
        Ok(ready)
    }

    /// The rows left over: none when the cluster returned exactly the upstream's rows (the
    /// caller checks the count).
    fn finish(self, stage: &str) -> Result<Option<RecordBatch>> {
        if self.pending_rows == 0 {
            return Ok(None);
        }
        let schema = self.pending[0].schema();
        arrow::compute::concat_batches(&schema, &self.pending)
            .map(Some)
            .map_err(|e| PipelineError::datafusion(stage, e.into()))
    }
}

pub(crate) async fn apply_on_cluster(
    run: &StageRun<'_>,
    cluster: &ClusterSession,
    mut operator: Box<dyn Operator>,
    manifest: &mut StageManifest,
) -> Result<()> {
    let StageRun {
        stage,
        upstream,
        settings,
        dir,
        progress,
        ..
    } = *run;
    let name = stage.name.as_str();
    let parts = upstream_slices(upstream.dir, upstream.manifest)?;
    if parts.is_empty() {
        return Err(PipelineError::operator(
            name,
            blend_operators::OperatorError::invalid(
                &stage.operator,
                "the upstream has no rows to send to the cluster",
            ),
        ));
    }
    let env = OperatorEnv {
        scratch_dir: dir.join("scratch"),
        memory_budget: settings.memory_budget,
        expected_rows: upstream.manifest.rows_out,
        seed: settings.seed,
    };
    operator
        .prepare(&env)
        .map_err(|e| PipelineError::operator(name, e))?;
    let schema = part_schema(&parts[0].path)
        .and_then(|upstream| output_schema(operator.as_ref(), upstream))
        .map_err(|e| PipelineError::datafusion(name, e))?;
    tracing::info!(
        "stage `{name}` ({}) on the cluster at {}",
        stage.operator,
        cluster.url
    );
    let request = ClusterStageRequest {
        stage: name.to_string(),
        operator,
        parts,
        batch_rows: settings.batch_rows,
        seed: settings.seed,
        memory_budget: settings.memory_budget,
        output_schema: schema.clone(),
    };
    let task = progress.start(
        &format!("{name} (cluster)"),
        Some(upstream.manifest.rows_out),
        "docs",
    );
    let mut rows = blend_distributed::stages::start(cluster, request)
        .await?
        .ok_or_else(|| {
            PipelineError::operator(
                name,
                blend_operators::OperatorError::invalid(&stage.operator, "has no cluster plan"),
            )
        })?;
    let mut writer = PartWriter::new(dir, "part", schema.clone(), settings.rows_per_part);
    let mut batches = LocalBatches::new(&upstream.manifest.parts, settings.batch_rows);
    let mut write = |batch: RecordBatch| -> Result<()> {
        manifest.rows_out += batch.num_rows() as u64;
        manifest.text_bytes_out += text_bytes(name, &batch)?;
        writer.write(&batch)?;
        task.advance(batch.num_rows() as u64);
        Ok(())
    };
    while let Some(batch) = rows.next().await {
        for batch in batches.push(name, batch?)? {
            write(batch)?;
        }
    }
    if let Some(batch) = batches.finish(name)? {
        write(batch)?;
    }
    manifest.rows_in = upstream.manifest.rows_out;
    manifest.text_bytes_in = upstream.manifest.text_bytes_out;
    if manifest.rows_out != manifest.rows_in {
        return Err(PipelineError::RowsChanged {
            stage: name.to_string(),
            operator: stage.operator.clone(),
            rows_in: manifest.rows_in,
            rows_out: manifest.rows_out,
        });
    }
    manifest.parts = writer.finish()?;
    manifest.operator_summary = rows.summary();
    remove_scratch(&dir.join("scratch"))?;
    task.finish(&format!("{} docs on the cluster", manifest.rows_out));
    Ok(())
}
