//! Parquet input: the text column (configurable, string or binary) becomes `text`; `id` and
//! `source` come from their configured columns when present; all other columns pass through.
//! An input's configured `source` wins over the source column, which then passes through too
//! (renamed to [`SOURCE_IN_FILE_COLUMN`] when it is called `source`).

use std::fs::File;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray, StringBuilder, new_null_array,
};
use arrow::compute::{cast, filter};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::jsonl::file_label;
use super::{InputFile, OnError, ReadOptions, RejectedRecord, fail_or_quarantine};
use crate::document::{ID_COLUMN, SOURCE_COLUMN, TEXT_COLUMN};
use crate::parquet_guard::guarded;
use crate::{DatasetError, Result};

/// The name the file's own `source` column is kept under when the input's configured
/// `source` replaces it and the column is itself called `source`.
pub const SOURCE_IN_FILE_COLUMN: &str = "source_in_file";

/// The output column a file column passes through as; `None` for the columns that become
/// `id`, `text` and (unless the input configures its `source`) `source`.
fn pass_through_name<'a>(file: &InputFile, column: &'a str) -> Option<&'a str> {
    let spec = &file.spec;
    if column == spec.text_column || column == spec.id_column {
        return None;
    }
    if column == spec.source_column {
        return match spec.source {
            None => None,
            Some(_) if column == SOURCE_COLUMN => Some(SOURCE_IN_FILE_COLUMN),
            Some(_) => Some(column),
        };
    }
    Some(column)
}

/// The column of `batch` that passes through as `output` (the inverse of
/// [`pass_through_name`]).
fn pass_through_column<'b>(
    file: &InputFile,
    batch: &'b RecordBatch,
    output: &str,
) -> Option<&'b ArrayRef> {
    batch
        .schema_ref()
        .fields()
        .iter()
        .position(|field| pass_through_name(file, field.name()) == Some(output))
        .map(|index| batch.column(index))
}

fn builder(file: &InputFile) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let handle = File::open(&file.path).map_err(|e| DatasetError::io(&file.path, e))?;
    guarded(&file.path, "reading the footer", || {
        ParquetRecordBatchReaderBuilder::try_new(handle).map_err(|source| DatasetError::Parquet {
            path: file.path.clone(),
            source,
        })
    })
}

fn is_text_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
    )
}

fn check_text_column(file: &InputFile, schema: &Schema) -> Result<()> {
    let column = &file.spec.text_column;
    let field = schema
        .field_with_name(column)
        .map_err(|_| DatasetError::MissingColumn {
            path: file.path.clone(),
            column: column.clone(),
            available: schema
                .fields()
                .iter()
                .map(|f| format!("{} ({})", f.name(), f.data_type()))
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    if !is_text_type(field.data_type()) {
        return Err(DatasetError::ColumnType {
            path: file.path.clone(),
            column: column.clone(),
            found: field.data_type().to_string(),
            expected: "a string or binary column".into(),
        });
    }
    Ok(())
}

/// Checks the footer and the text column, and returns the pass-through columns.
pub(super) fn extra_fields(file: &InputFile) -> Result<Vec<Field>> {
    let schema = builder(file)?.schema().clone();
    check_text_column(file, &schema)?;
    let mut extra: Vec<Field> = Vec::new();
    for field in schema.fields() {
        let Some(name) = pass_through_name(file, field.name()) else {
            continue;
        };
        if [ID_COLUMN, TEXT_COLUMN, SOURCE_COLUMN].contains(&name) {
            return Err(DatasetError::invalid(
                &file.path,
                format!(
                    "column `{name}` would clash with blend's own `{name}` column; \
                     point the input's id_column/text_column/source_column at it or rename it"
                ),
            ));
        }
        if extra.iter().any(|known| known.name() == name) {
            return Err(DatasetError::invalid(
                &file.path,
                format!(
                    "column `{name}` is also where the file's `source` column is kept when the \
                     input sets `source`; rename it"
                ),
            ));
        }
        extra.push(field.as_ref().clone().with_name(name));
    }
    Ok(extra)
}

fn as_strings(file: &InputFile, column: &ArrayRef, name: &str) -> Result<StringArray> {
    let casted = cast(column, &DataType::Utf8).map_err(|e| {
        DatasetError::arrow(
            format!(
                "{}: column `{name}` cannot be read as text",
                file.path.display()
            ),
            e,
        )
    })?;
    Ok(casted.as_string::<i32>().clone())
}

/// The text column as strings, plus which rows are readable; unreadable rows are failed or
/// quarantined according to `on_error`.
fn text_values(
    file: &InputFile,
    column: &ArrayRef,
    first_row: u64,
    on_error: OnError,
    rejected: &mut Vec<RejectedRecord>,
) -> Result<(StringArray, Vec<bool>)> {
    let name = &file.spec.text_column;
    let mut builder = StringBuilder::new();
    let mut keep = Vec::with_capacity(column.len());
    let mut reject = |row: usize, reason: &str, message: String| -> Result<()> {
        let position = first_row + row as u64;
        let record = RejectedRecord {
            file: file.path.clone(),
            position,
            reason: reason.into(),
            message,
        };
        fail_or_quarantine(on_error, rejected, record, |message| {
            DatasetError::BadCell {
                path: file.path.clone(),
                row: position,
                column: name.clone(),
                message,
            }
        })
    };
    if matches!(
        column.data_type(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView
    ) {
        let binary = cast(column, &DataType::LargeBinary)
            .map_err(|e| DatasetError::arrow(file.path.display().to_string(), e))?;
        let binary = binary.as_binary::<i64>();
        for row in 0..binary.len() {
            if binary.is_null(row) {
                reject(row, "missing_text", "text is null".into())?;
                keep.push(false);
                continue;
            }
            match std::str::from_utf8(binary.value(row)) {
                Ok(text) => {
                    builder.append_value(text);
                    keep.push(true);
                }
                Err(e) => {
                    reject(
                        row,
                        "invalid_utf8",
                        format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                    )?;
                    keep.push(false);
                }
            }
        }
    } else {
        let strings = as_strings(file, column, name)?;
        for row in 0..strings.len() {
            if strings.is_null(row) {
                reject(row, "missing_text", "text is null".into())?;
                keep.push(false);
            } else {
                builder.append_value(strings.value(row));
                keep.push(true);
            }
        }
    }
    Ok((builder.finish(), keep))
}

/// The `source` of each row of `batch`: the input's configured `source`, else the file's
/// source column, else (no column, or a null cell) the file's default source.
fn source_values(file: &InputFile, batch: &RecordBatch) -> Result<StringArray> {
    let spec = &file.spec;
    let rows = batch.num_rows();
    if let Some(configured) = &spec.source {
        return Ok((0..rows).map(|_| Some(configured.as_str())).collect());
    }
    let Some(column) = batch.column_by_name(&spec.source_column) else {
        return Ok((0..rows)
            .map(|_| Some(file.default_source.as_str()))
            .collect());
    };
    let sources = as_strings(file, column, &spec.source_column)?;
    Ok((0..rows)
        .map(|row| {
            Some(if sources.is_null(row) {
                file.default_source.as_str()
            } else {
                sources.value(row)
            })
        })
        .collect())
}

pub(super) fn read(
    file: &InputFile,
    schema: &SchemaRef,
    options: ReadOptions,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    rejected: &mut Vec<RejectedRecord>,
) -> Result<()> {
    let mut reader = builder(file)?
        .with_batch_size(options.batch_rows.max(1))
        .build()
        .map_err(|source| DatasetError::Parquet {
            path: file.path.clone(),
            source,
        })?;
    let spec = &file.spec;
    let label = file_label(file);
    let mut first_row = 0u64;
    while let Some(batch) = guarded(&file.path, "reading rows", || Ok(reader.next()))? {
        let batch = batch.map_err(|e| {
            DatasetError::arrow(
                format!("{}: reading rows from {first_row}", file.path.display()),
                e,
            )
        })?;
        let rows = batch.num_rows();
        let (texts, keep) = text_values(
            file,
            batch
                .column_by_name(&spec.text_column)
                .expect("text column checked at open"),
            first_row,
            options.on_error,
            rejected,
        )?;
        let keep_mask = BooleanArray::from(keep);
        let kept = |array: &ArrayRef| -> Result<ArrayRef> {
            if keep_mask.false_count() == 0 {
                Ok(array.clone())
            } else {
                filter(array, &keep_mask).map_err(|e| DatasetError::arrow("filtering rows", e))
            }
        };
        let ids: StringArray = match batch.column_by_name(&spec.id_column) {
            Some(column) => {
                let ids = as_strings(file, column, &spec.id_column)?;
                (0..rows)
                    .map(|row| {
                        Some(if ids.is_null(row) {
                            format!("{label}:{}", first_row + row as u64)
                        } else {
                            ids.value(row).to_string()
                        })
                    })
                    .collect()
            }
            None => (0..rows)
                .map(|row| Some(format!("{label}:{}", first_row + row as u64)))
                .collect(),
        };
        let sources = source_values(file, &batch)?;
        let kept_rows = rows - keep_mask.false_count();
        let mut columns: Vec<ArrayRef> = vec![
            kept(&(Arc::new(ids) as ArrayRef))?,
            Arc::new(texts),
            kept(&(Arc::new(sources) as ArrayRef))?,
        ];
        for field in schema.fields().iter().skip(3) {
            match pass_through_column(file, &batch, field.name()) {
                Some(column) => columns.push(kept(column)?),
                None => columns.push(new_null_array(field.data_type(), kept_rows)),
            }
        }
        let out = RecordBatch::try_new(schema.clone(), columns).map_err(|e| {
            DatasetError::arrow(format!("{}: assembling documents", file.path.display()), e)
        })?;
        if out.num_rows() > 0 {
            sink(out)?;
        }
        first_row += rows as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, StringArray};

    use super::*;
    use crate::read::{CorpusReader, InputSpec};

    /// Writes `web.parquet` with `text`, a per-row `source` and a `lang` column.
    fn write_web_parquet(dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("web.parquet");
        let schema = Arc::new(Schema::new(vec![
            Field::new("text", DataType::Utf8, false),
            Field::new("source", DataType::Utf8, true),
            Field::new("lang", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["first", "second"])),
                Arc::new(StringArray::from(vec![Some("cc/2019"), None])),
                Arc::new(StringArray::from(vec!["en", "fr"])),
            ],
        )
        .unwrap();
        let handle = File::create(&path).unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(handle, schema, None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        path
    }

    fn read_one(spec: InputSpec) -> RecordBatch {
        let reader = CorpusReader::open(&[spec], ReadOptions::default()).unwrap();
        let mut batches = Vec::new();
        reader
            .read(&mut |batch| {
                batches.push(batch);
                Ok(())
            })
            .unwrap();
        assert_eq!(batches.len(), 1);
        batches.remove(0)
    }

    fn column(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
        let strings = batch
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no column `{name}`"))
            .as_string::<i32>();
        strings.iter().map(|v| v.map(str::to_string)).collect()
    }

    fn some(values: &[&str]) -> Vec<Option<String>> {
        values.iter().map(|v| Some(v.to_string())).collect()
    }

    #[test]
    fn configured_source_wins_over_the_source_column() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = InputSpec::new(write_web_parquet(dir.path()));
        spec.source = Some("web".into());
        let batch = read_one(spec);
        assert_eq!(column(&batch, SOURCE_COLUMN), some(&["web", "web"]));
    }

    #[test]
    fn configured_source_keeps_the_source_column_as_source_in_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = InputSpec::new(write_web_parquet(dir.path()));
        spec.source = Some("web".into());
        let batch = read_one(spec);
        let names: Vec<&str> = batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["id", "text", "source", "source_in_file", "lang"]);
        assert_eq!(
            column(&batch, SOURCE_IN_FILE_COLUMN),
            vec![Some("cc/2019".into()), None]
        );
        assert_eq!(column(&batch, "lang"), some(&["en", "fr"]));
    }

    #[test]
    fn configured_source_keeps_a_custom_source_column_under_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("books.parquet");
        let schema = Arc::new(Schema::new(vec![
            Field::new("text", DataType::Utf8, false),
            Field::new("domain", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["a book"])),
                Arc::new(Int64Array::from(vec![7])),
            ],
        )
        .unwrap();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(File::create(&path).unwrap(), schema, None)
                .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let mut spec = InputSpec::new(&path);
        spec.source_column = "domain".into();
        spec.source = Some("books".into());
        let batch = read_one(spec);
        assert_eq!(column(&batch, SOURCE_COLUMN), some(&["books"]));
        let domain = batch.column_by_name("domain").expect("kept");
        assert_eq!(
            domain
                .as_primitive::<arrow::datatypes::Int64Type>()
                .value(0),
            7
        );
    }

    #[test]
    fn without_configured_source_the_source_column_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let batch = read_one(InputSpec::new(write_web_parquet(dir.path())));
        assert_eq!(column(&batch, SOURCE_COLUMN), some(&["cc/2019", "web"]));
        assert!(batch.column_by_name(SOURCE_IN_FILE_COLUMN).is_none());
    }

    #[test]
    fn a_column_named_source_in_file_clashes_with_the_kept_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clash.parquet");
        let schema = Arc::new(Schema::new(vec![
            Field::new("text", DataType::Utf8, false),
            Field::new("source", DataType::Utf8, false),
            Field::new(SOURCE_IN_FILE_COLUMN, DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["t"])),
                Arc::new(StringArray::from(vec!["s"])),
                Arc::new(StringArray::from(vec!["s2"])),
            ],
        )
        .unwrap();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(File::create(&path).unwrap(), schema, None)
                .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let mut spec = InputSpec::new(&path);
        spec.source = Some("web".into());
        let error = CorpusReader::open(&[spec], ReadOptions::default()).unwrap_err();
        assert!(matches!(error, DatasetError::Invalid { .. }), "{error}");
    }
}
