//! Plain-text input: each .txt file is one document whose id is its path relative to the
//! configured folder and whose source is the folder's name (or the configured source).

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use super::batch_builder::DocumentBatchBuilder;
use super::jsonl::file_label;
use super::{InputFile, ReadOptions, RejectedRecord, fail_or_quarantine};
use crate::{DatasetError, Result};

pub(super) fn read(
    file: &InputFile,
    schema: &SchemaRef,
    options: ReadOptions,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    rejected: &mut Vec<RejectedRecord>,
) -> Result<()> {
    let bytes = std::fs::read(&file.path).map_err(|e| DatasetError::io(&file.path, e))?;
    match String::from_utf8(bytes) {
        Ok(text) => {
            let mut builder = DocumentBatchBuilder::new(schema.clone(), 1);
            builder.push(&file_label(file), &text, &file.default_source, None);
            if let Some(batch) = builder.flush()? {
                sink(batch)?;
            }
            Ok(())
        }
        Err(e) => {
            let record = RejectedRecord {
                file: file.path.clone(),
                position: 0,
                reason: "invalid_utf8".into(),
                message: format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()),
            };
            fail_or_quarantine(options.on_error, rejected, record, |message| {
                DatasetError::invalid(&file.path, message)
            })
        }
    }
}
