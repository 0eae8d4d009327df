//! Builds document batches row by row for the line- and file-based readers (JSONL, .txt),
//! filling extra columns the file does not have with nulls.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringBuilder, new_null_array};
use arrow::datatypes::SchemaRef;

use super::BATCH_TEXT_BYTES;
use crate::document::METADATA_COLUMN;
use crate::{DatasetError, Result};

#[derive(Debug)]
pub(crate) struct DocumentBatchBuilder {
    schema: SchemaRef,
    ids: StringBuilder,
    texts: StringBuilder,
    sources: StringBuilder,
    metadata: StringBuilder,
    rows: usize,
    text_bytes: usize,
    batch_rows: usize,
}

impl DocumentBatchBuilder {
    pub(crate) fn new(schema: SchemaRef, batch_rows: usize) -> Self {
        Self {
            schema,
            ids: StringBuilder::new(),
            texts: StringBuilder::new(),
            sources: StringBuilder::new(),
            metadata: StringBuilder::new(),
            rows: 0,
            text_bytes: 0,
            batch_rows: batch_rows.max(1),
        }
    }

    pub(crate) fn push(&mut self, id: &str, text: &str, source: &str, metadata: Option<&str>) {
        self.ids.append_value(id);
        self.texts.append_value(text);
        self.sources.append_value(source);
        self.metadata.append_option(metadata);
        self.rows += 1;
        self.text_bytes += text.len();
    }

    pub(crate) fn is_full(&self) -> bool {
        self.rows >= self.batch_rows || self.text_bytes >= BATCH_TEXT_BYTES
    }

    /// The rows pushed so far as a batch of the reader's schema; `None` when empty.
    pub(crate) fn flush(&mut self) -> Result<Option<RecordBatch>> {
        if self.rows == 0 {
            return Ok(None);
        }
        let rows = self.rows;
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.ids.finish()),
            Arc::new(self.texts.finish()),
            Arc::new(self.sources.finish()),
        ];
        let metadata = self.metadata.finish();
        for field in self.schema.fields().iter().skip(3) {
            if field.name() == METADATA_COLUMN {
                columns.push(Arc::new(metadata.clone()));
            } else {
                columns.push(new_null_array(field.data_type(), rows));
            }
        }
        self.rows = 0;
        self.text_bytes = 0;
        RecordBatch::try_new(self.schema.clone(), columns)
            .map(Some)
            .map_err(|e| DatasetError::arrow("building a document batch", e))
    }
}
