//! Corpus readers. Inputs (files or folders of Parquet, JSONL — plain, .gz, .zst — and .txt)
//! are discovered in sorted path order and read as Arrow batches of one schema: `id`, `text`,
//! `source`, then the extra columns the inputs carry. Bad records either stop the read with an
//! error naming file and line/row, or (`OnError::Quarantine`) are returned as rejections.

mod batch_builder;
mod discover;
mod jsonl;
mod parquet_input;
mod text_dir;

use std::path::PathBuf;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, SchemaRef};
use serde::{Deserialize, Serialize};

pub use discover::{InputFile, discover};
pub use parquet_input::SOURCE_IN_FILE_COLUMN;

use crate::document::{METADATA_COLUMN, document_schema};
use crate::{DatasetError, Result};

/// The format of an input; `Auto` decides by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    #[default]
    Auto,
    Parquet,
    Jsonl,
    Text,
}

/// What to do with a record that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Stop with an error naming the file and line/row.
    #[default]
    Fail,
    /// Keep going; the record is returned in [`ReadSummary::rejected`] with its reason.
    Quarantine,
}

/// One configured input: a file or a folder, and how to find the document fields in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub path: PathBuf,
    #[serde(default)]
    pub format: InputFormat,
    #[serde(default = "default_text_column")]
    pub text_column: String,
    #[serde(default = "default_id_column")]
    pub id_column: String,
    #[serde(default = "default_source_column")]
    pub source_column: String,
    /// When set, the `source` of every row of this input, whatever the file says. The file's
    /// own `source_column` value is not lost: JSONL keeps it in the `metadata` object under
    /// its field name (`"source"` by default); Parquet passes the column through under its
    /// name, or as [`SOURCE_IN_FILE_COLUMN`] when that name is `source`.
    /// When unset, rows take the file's `source_column` and fall back to the file's stem
    /// (for .txt folders, the folder's name).
    #[serde(default)]
    pub source: Option<String>,
}

fn default_text_column() -> String {
    "text".into()
}
fn default_id_column() -> String {
    "id".into()
}
fn default_source_column() -> String {
    "source".into()
}

impl InputSpec {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            format: InputFormat::Auto,
            text_column: default_text_column(),
            id_column: default_id_column(),
            source_column: default_source_column(),
            source: None,
        }
    }
}

/// A record that was not read, and why (`invalid_utf8`, `malformed_json`, `missing_text`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRecord {
    pub file: PathBuf,
    /// 1-based line for JSONL, 0-based row for Parquet, 0 for a .txt file.
    pub position: u64,
    pub reason: String,
    pub message: String,
}

/// Counts of one full read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadSummary {
    pub files: u64,
    pub documents: u64,
    pub text_bytes: u64,
    pub rejected: Vec<RejectedRecord>,
}

/// Options for a read.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    pub on_error: OnError,
    /// Rows per emitted batch (a batch is also cut at ~64 MiB of text).
    pub batch_rows: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            on_error: OnError::Fail,
            batch_rows: 4096,
        }
    }
}

pub(crate) const BATCH_TEXT_BYTES: usize = 64 << 20;

/// The reader of one file format: batches go to the sink, unreadable records to `rejected`.
type ReadFile = fn(
    &InputFile,
    &SchemaRef,
    ReadOptions,
    &mut dyn FnMut(RecordBatch) -> Result<()>,
    &mut Vec<RejectedRecord>,
) -> Result<()>;

/// Fails with `error(message)`, or records the rejection, as `on_error` says.
pub(crate) fn fail_or_quarantine(
    on_error: OnError,
    rejected: &mut Vec<RejectedRecord>,
    record: RejectedRecord,
    error: impl FnOnce(String) -> DatasetError,
) -> Result<()> {
    match on_error {
        OnError::Fail => Err(error(record.message)),
        OnError::Quarantine => {
            rejected.push(record);
            Ok(())
        }
    }
}

/// A set of inputs, discovered and checked, ready to be read in order.
#[derive(Debug)]
pub struct CorpusReader {
    files: Vec<InputFile>,
    schema: SchemaRef,
    options: ReadOptions,
}

impl CorpusReader {
    /// Discovers the files of every spec and computes the shared schema. Fails before any
    /// row is read when a path is missing, a folder holds no inputs, a Parquet footer is
    /// unreadable, a text column is missing, or two inputs disagree on a column's type.
    pub fn open(specs: &[InputSpec], options: ReadOptions) -> Result<Self> {
        let mut files = Vec::new();
        for spec in specs {
            files.extend(discover(spec)?);
        }
        let mut extra: Vec<(Field, PathBuf)> = Vec::new();
        for file in &files {
            for field in file_extra_fields(file)? {
                match extra.iter().find(|(f, _)| f.name() == field.name()) {
                    Some((known, first_path)) if known.data_type() != field.data_type() => {
                        return Err(DatasetError::MixedSchemas {
                            column: field.name().clone(),
                            first_type: known.data_type().to_string(),
                            first_path: first_path.clone(),
                            other_type: field.data_type().to_string(),
                            other_path: file.path.clone(),
                        });
                    }
                    Some(_) => {}
                    None => extra.push((field, file.path.clone())),
                }
            }
        }
        let extra_fields: Vec<Field> = extra.into_iter().map(|(f, _)| f).collect();
        Ok(Self {
            files,
            schema: document_schema(&extra_fields),
            options,
        })
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub fn files(&self) -> &[InputFile] {
        &self.files
    }

    /// Reads every file in order, handing each batch to `sink`.
    pub fn read(&self, sink: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<ReadSummary> {
        let mut summary = ReadSummary::default();
        for file in &self.files {
            summary.files += 1;
            let mut counting_sink = |batch: RecordBatch| -> Result<()> {
                summary.documents += batch.num_rows() as u64;
                summary.text_bytes += text_bytes(&batch);
                sink(batch)
            };
            let mut rejected = Vec::new();
            let read_file: ReadFile = match file.format {
                InputFormat::Parquet => parquet_input::read,
                InputFormat::Jsonl => jsonl::read,
                InputFormat::Text => text_dir::read,
                InputFormat::Auto => unreachable!("discover resolves Auto"),
            };
            read_file(
                file,
                &self.schema,
                self.options,
                &mut counting_sink,
                &mut rejected,
            )?;
            summary.rejected.extend(rejected);
        }
        Ok(summary)
    }
}

fn text_bytes(batch: &RecordBatch) -> u64 {
    batch
        .column(1)
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .map(|texts| texts.values().len() as u64)
        .unwrap_or(0)
}

/// Columns a file adds beyond id/text/source.
fn file_extra_fields(file: &InputFile) -> Result<Vec<Field>> {
    match file.format {
        InputFormat::Parquet => parquet_input::extra_fields(file),
        InputFormat::Jsonl => Ok(vec![Field::new(METADATA_COLUMN, DataType::Utf8, true)]),
        InputFormat::Text | InputFormat::Auto => Ok(Vec::new()),
    }
}
