//! Where training labels come from: a column of the inputs (or a key of their JSON
//! `metadata` column, where JSONL readers keep other fields), or one label per input set
//! (DCLM's reference against other).

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use blend_datasets::METADATA_COLUMN;
use blend_datasets::read::{CorpusReader, InputSpec, ReadOptions};
use blend_operators::operator::{column_names, string_column};

use super::{OTHER_LABEL, REFERENCE_LABEL, TrainingData};
use crate::engine::read::for_each_batch;
use crate::{PipelineError, Progress, Result};

/// (id, text, label) of a document as read.
pub(super) type ReadDocument = (String, String, String);

/// Reads (id, text, label) of every document, and the sorted label names.
pub(super) fn read_labeled(
    data: &TrainingData,
    progress: &dyn Progress,
) -> Result<(Vec<ReadDocument>, Vec<String>)> {
    let mut documents = Vec::new();
    match data {
        TrainingData::Labeled {
            inputs,
            label_column,
        } => read_documents(
            inputs,
            LabelSource::Column(label_column),
            progress,
            &mut documents,
        )?,
        TrainingData::Reference { reference, other } => {
            for (inputs, label) in [(reference, REFERENCE_LABEL), (other, OTHER_LABEL)] {
                read_documents(inputs, LabelSource::Fixed(label), progress, &mut documents)?;
            }
        }
    }
    let mut labels: Vec<String> = documents.iter().map(|d| d.2.clone()).collect();
    labels.sort();
    labels.dedup();
    Ok((documents, labels))
}

/// Where the documents of some inputs get their label.
#[derive(Debug, Clone, Copy)]
enum LabelSource<'a> {
    /// A column (or `metadata` key) of the inputs; see [`label_values`].
    Column(&'a str),
    /// One label for every document.
    Fixed(&'static str),
}

/// Appends (id, text, label) of every document of `inputs` to `documents`; labels are read
/// once per batch.
fn read_documents(
    inputs: &[InputSpec],
    source: LabelSource,
    progress: &dyn Progress,
    documents: &mut Vec<ReadDocument>,
) -> Result<()> {
    let reader = CorpusReader::open(inputs, ReadOptions::default())?;
    let bar = progress.start("read", None, "docs");
    for_each_batch(&reader, &mut |batch| {
        let ids = string_column("quality", batch, "id")
            .map_err(|e| PipelineError::operator("quality", e))?;
        let texts = string_column("quality", batch, "text")
            .map_err(|e| PipelineError::operator("quality", e))?;
        let labels: Vec<String> = match source {
            LabelSource::Column(name) => label_values(batch, name)?
                .into_iter()
                .enumerate()
                .map(|(row, label)| {
                    label.ok_or_else(|| {
                        PipelineError::column(
                            format!("document `{}`", ids.value(row)),
                            name,
                            "has no value (every document needs a label)",
                        )
                    })
                })
                .collect::<Result<_>>()?,
            LabelSource::Fixed(label) => vec![label.to_string(); batch.num_rows()],
        };
        for (row, label) in labels.into_iter().enumerate() {
            let text = if texts.is_null(row) {
                ""
            } else {
                texts.value(row)
            };
            documents.push((ids.value(row).to_string(), text.to_string(), label));
        }
        bar.advance(batch.num_rows() as u64);
        Ok(())
    })?;
    bar.finish("");
    Ok(())
}

/// Each row's label as text: from the column `name`, or else from the key `name` of the
/// JSON `metadata` column (where JSONL readers keep fields other than id/text/source).
/// JSON numbers and booleans become their JSON text (`1`, `true`).
pub(super) fn label_values(batch: &RecordBatch, name: &str) -> Result<Vec<Option<String>>> {
    if let Some(column) = batch.column_by_name(name) {
        let column = cast(column, &DataType::Utf8)
            .map_err(|e| PipelineError::column("the inputs", name, e.to_string()))?;
        let column = column
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8");
        return Ok(column.iter().map(|v| v.map(str::to_string)).collect());
    }
    let Some(metadata) = batch.column_by_name(METADATA_COLUMN) else {
        return Err(PipelineError::column(
            "the inputs",
            name,
            format!("is missing; the inputs have {}", column_names(batch)),
        ));
    };
    let metadata = cast(metadata, &DataType::Utf8)
        .map_err(|e| PipelineError::column("the inputs", METADATA_COLUMN, e.to_string()))?;
    let metadata = metadata
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8");
    metadata
        .iter()
        .map(|json| {
            let Some(json) = json else { return Ok(None) };
            let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
                PipelineError::column(
                    "the inputs",
                    METADATA_COLUMN,
                    format!("holds invalid JSON: {e}"),
                )
            })?;
            Ok(match value.get(name) {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(text)) => Some(text.clone()),
                Some(other) => Some(other.to_string()),
            })
        })
        .collect()
}
