//! The DataFusion session every stage runs on: one partition (so batches keep the corpus's
//! stable order), plain Utf8 strings from Parquet, and blend's functions registered.

use std::path::Path;

use blend_datasets::parquet_parts::PartFile;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};

use crate::{PipelineError, Result};

pub fn new_session(batch_rows: usize) -> SessionContext {
    let config = SessionConfig::new()
        .with_target_partitions(1)
        .with_batch_size(batch_rows)
        .with_repartition_file_scans(false)
        .set_bool(
            "datafusion.execution.parquet.schema_force_view_types",
            false,
        );
    let ctx = SessionContext::new_with_config(config);
    blend_operators::register_all(&ctx);
    ctx
}

/// Streams the rows of a stage's part files, in part order.
pub async fn stream_parts(
    ctx: &SessionContext,
    stage: &str,
    dir: &Path,
    parts: &[PartFile],
) -> Result<SendableRecordBatchStream> {
    let paths: Vec<String> = parts
        .iter()
        .map(|part| dir.join(&part.name).to_string_lossy().into_owned())
        .collect();
    let frame = ctx
        .read_parquet(paths, ParquetReadOptions::default())
        .await
        .map_err(|e| PipelineError::datafusion(stage, e))?;
    frame
        .execute_stream()
        .await
        .map_err(|e| PipelineError::datafusion(stage, e))
}
