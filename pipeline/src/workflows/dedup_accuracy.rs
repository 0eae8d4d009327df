//! Near-duplicate accuracy of a run over the synthetic corpus: when the run's only input is
//! a corpus written by `blend gen-corpus` (its ground truth lies beside it), the clusters of
//! the run's `dedup.minhash` stage are scored against the planted copies.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use blend_datasets::parquet_parts::PartFile;
use blend_datasets::read::InputSpec;
use blend_datasets::synthetic::{
    CORPUS_MARKER, ClusteredDoc, GROUND_TRUTH_FILE, NearDupAccuracy, near_dup_accuracy,
    read_ground_truth,
};
use blend_datasets::{DatasetError, ID_COLUMN};
use blend_operators::dedup::minhash::{CLUSTER_COLUMN, IS_DUP_COLUMN};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::{PipelineError, Result};

/// The ground truth of the synthetic corpus `inputs` is, if it is one.
pub fn synthetic_ground_truth(inputs: &[InputSpec]) -> Option<PathBuf> {
    let [input] = inputs else { return None };
    let truth = input.path.parent()?.join(GROUND_TRUTH_FILE);
    (input.path.join(CORPUS_MARKER).is_file() && truth.is_file()).then_some(truth)
}

/// `id`, `dup_cluster` and `is_dup` of every row of `files` (Parquet), in order.
pub fn read_clustered_docs(files: &[PathBuf]) -> Result<Vec<ClusteredDoc>> {
    let mut docs = Vec::new();
    for path in files {
        let parquet_error = |source| {
            PipelineError::Dataset(DatasetError::Parquet {
                path: path.to_path_buf(),
                source,
            })
        };
        let file = File::open(path).map_err(|e| PipelineError::io(path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_error)?;
        let schema = builder.parquet_schema();
        let wanted: Vec<usize> = (0..schema.num_columns())
            .filter(|&i| {
                let column = schema.column(i);
                [ID_COLUMN, CLUSTER_COLUMN, IS_DUP_COLUMN].contains(&column.name())
            })
            .collect();
        let mask = ProjectionMask::leaves(schema, wanted);
        let reader = builder
            .with_projection(mask)
            .build()
            .map_err(parquet_error)?;
        for batch in reader {
            let batch = batch.map_err(|e| PipelineError::unreadable(path, "Parquet file", e))?;
            let column = |name: &str| {
                batch.column_by_name(name).cloned().ok_or_else(|| {
                    PipelineError::column(path.display().to_string(), name, "is missing")
                })
            };
            let as_utf8 = |name: &str| -> Result<arrow::array::ArrayRef> {
                cast(&column(name)?, &DataType::Utf8).map_err(|e| {
                    PipelineError::column(path.display().to_string(), name, e.to_string())
                })
            };
            let (ids, clusters, flags) = (
                as_utf8(ID_COLUMN)?,
                as_utf8(CLUSTER_COLUMN)?,
                column(IS_DUP_COLUMN)?,
            );
            let (ids, clusters, flags) = (
                ids.as_string::<i32>(),
                clusters.as_string::<i32>(),
                flags.as_boolean(),
            );
            for row in 0..batch.num_rows() {
                docs.push(ClusteredDoc {
                    id: ids.value(row).to_string(),
                    cluster: clusters.value(row).to_string(),
                    is_dup: flags.is_valid(row) && flags.value(row),
                });
            }
        }
    }
    Ok(docs)
}

/// Scores a finished `dedup.minhash` stage against the ground truth at `truth_path`.
pub fn stage_accuracy(
    truth_path: &Path,
    dir: &Path,
    parts: &[PartFile],
) -> Result<NearDupAccuracy> {
    let truth = read_ground_truth(truth_path)?;
    let files: Vec<PathBuf> = parts.iter().map(|part| dir.join(&part.name)).collect();
    let docs = read_clustered_docs(&files)?;
    Ok(near_dup_accuracy(&truth, &docs))
}
