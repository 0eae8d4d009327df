//! Token shards as Parquet: one row per sequence with a `tokens` list column (uint32), and
//! for unpacked documents their `id` and `domain`.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, ListBuilder, RecordBatch, StringBuilder, UInt32Builder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt32Type};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::parquet_guard::guarded;
use crate::parquet_parts::close_parquet;
use crate::{DatasetError, Result};

const ROWS_PER_BATCH: usize = 1024;

#[derive(Debug)]
pub struct ParquetTokenWriter {
    path: std::path::PathBuf,
    schema: SchemaRef,
    writer: ArrowWriter<File>,
    tokens: ListBuilder<UInt32Builder>,
    ids: StringBuilder,
    domains: StringBuilder,
    rows: usize,
    with_documents: bool,
}

fn schema(with_documents: bool) -> SchemaRef {
    let mut fields = vec![Field::new(
        "tokens",
        DataType::List(Arc::new(Field::new("item", DataType::UInt32, false))),
        false,
    )];
    if with_documents {
        fields.push(Field::new("id", DataType::Utf8, false));
        fields.push(Field::new("domain", DataType::Utf8, false));
    }
    Arc::new(Schema::new(fields))
}

impl ParquetTokenWriter {
    /// `with_documents`: rows are whole documents and carry `id` and `domain`.
    pub fn create(path: &Path, with_documents: bool) -> Result<Self> {
        let schema = schema(with_documents);
        let file = File::create(path).map_err(|e| DatasetError::io(path, e))?;
        let writer = ArrowWriter::try_new(file, schema.clone(), None).map_err(|source| {
            DatasetError::Parquet {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            schema,
            writer,
            tokens: ListBuilder::new(UInt32Builder::new()).with_field(Arc::new(Field::new(
                "item",
                DataType::UInt32,
                false,
            ))),
            ids: StringBuilder::new(),
            domains: StringBuilder::new(),
            rows: 0,
            with_documents,
        })
    }

    pub fn add_sequence(&mut self, tokens: &[u32], id: &str, domain: &str) -> Result<()> {
        self.tokens.values().append_slice(tokens);
        self.tokens.append(true);
        if self.with_documents {
            self.ids.append_value(id);
            self.domains.append_value(domain);
        }
        self.rows += 1;
        if self.rows >= ROWS_PER_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut columns: Vec<Arc<dyn Array>> = vec![Arc::new(self.tokens.finish())];
        if self.with_documents {
            columns.push(Arc::new(self.ids.finish()));
            columns.push(Arc::new(self.domains.finish()));
        }
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| DatasetError::arrow(self.path.display().to_string(), e))?;
        self.writer
            .write(&batch)
            .map_err(|source| DatasetError::Parquet {
                path: self.path.clone(),
                source,
            })?;
        self.rows = 0;
        Ok(())
    }

    /// Closes the file and returns (bytes, sha256).
    pub fn finish(mut self) -> Result<(u64, String)> {
        self.flush()?;
        close_parquet(self.writer, &self.path)
    }
}

/// Every row's tokens.
pub fn read_parquet_tokens(path: &Path) -> Result<Vec<Vec<u32>>> {
    let file = File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let mut reader = guarded(path, "reading the footer", || {
        ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|source| DatasetError::Parquet {
                path: path.to_path_buf(),
                source,
            })
    })?;
    let mut sequences = Vec::new();
    while let Some(batch) = guarded(path, "reading rows", || Ok(reader.next()))? {
        let batch = batch.map_err(|e| DatasetError::arrow(path.display().to_string(), e))?;
        let column = batch
            .column_by_name("tokens")
            .ok_or_else(|| DatasetError::invalid(path, "no `tokens` column"))?;
        let lists = column
            .as_list_opt::<i32>()
            .ok_or_else(|| DatasetError::ColumnType {
                path: path.to_path_buf(),
                column: "tokens".into(),
                found: column.data_type().to_string(),
                expected: "List(UInt32)".into(),
            })?;
        for row in 0..lists.len() {
            let values = lists.value(row);
            let tokens = values.as_primitive_opt::<UInt32Type>().ok_or_else(|| {
                DatasetError::ColumnType {
                    path: path.to_path_buf(),
                    column: "tokens".into(),
                    found: column.data_type().to_string(),
                    expected: "List(UInt32)".into(),
                }
            })?;
            sequences.push(tokens.values().to_vec());
        }
    }
    Ok(sequences)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_and_without_documents() {
        let dir = tempfile::tempdir().unwrap();
        for with_documents in [true, false] {
            let path = dir.path().join(format!("{with_documents}.parquet"));
            let mut writer = ParquetTokenWriter::create(&path, with_documents).unwrap();
            let sequences: Vec<Vec<u32>> = (0..2500).map(|i| vec![i, i + 1, 100_000]).collect();
            for (i, sequence) in sequences.iter().enumerate() {
                writer
                    .add_sequence(sequence, &format!("d{i}"), "web")
                    .unwrap();
            }
            writer.finish().unwrap();
            assert_eq!(read_parquet_tokens(&path).unwrap(), sequences);
        }
    }
}
