//! Parquet input: the text column (configurable, string or binary) becomes `text`; `id` and
//! `source` come from their configured columns when present; all other columns pass through.

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
use crate::{DatasetError, Result};

fn builder(file: &InputFile) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let handle = File::open(&file.path).map_err(|e| DatasetError::io(&file.path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(handle).map_err(|source| DatasetError::Parquet {
        path: file.path.clone(),
        source,
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
    let spec = &file.spec;
    let mut extra = Vec::new();
    for field in schema.fields() {
        let name = field.name();
        if name == &spec.text_column || name == &spec.id_column || name == &spec.source_column {
            continue;
        }
        if [ID_COLUMN, TEXT_COLUMN, SOURCE_COLUMN].contains(&name.as_str()) {
            return Err(DatasetError::invalid(
                &file.path,
                format!(
                    "column `{name}` would clash with blend's own `{name}` column; \
                     point the input's id_column/text_column/source_column at it or rename it"
                ),
            ));
        }
        extra.push(field.as_ref().clone());
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

pub(super) fn read(
    file: &InputFile,
    schema: &SchemaRef,
    options: ReadOptions,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    rejected: &mut Vec<RejectedRecord>,
) -> Result<()> {
    let reader = builder(file)?
        .with_batch_size(options.batch_rows.max(1))
        .build()
        .map_err(|source| DatasetError::Parquet {
            path: file.path.clone(),
            source,
        })?;
    let spec = &file.spec;
    let label = file_label(file);
    let mut first_row = 0u64;
    for batch in reader {
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
        let sources: StringArray = match batch.column_by_name(&spec.source_column) {
            Some(column) => {
                let sources = as_strings(file, column, &spec.source_column)?;
                (0..rows)
                    .map(|row| {
                        Some(if sources.is_null(row) {
                            file.default_source.clone()
                        } else {
                            sources.value(row).to_string()
                        })
                    })
                    .collect()
            }
            None => (0..rows)
                .map(|_| Some(file.default_source.clone()))
                .collect(),
        };
        let kept_rows = rows - keep_mask.false_count();
        let mut columns: Vec<ArrayRef> = vec![
            kept(&(Arc::new(ids) as ArrayRef))?,
            Arc::new(texts),
            kept(&(Arc::new(sources) as ArrayRef))?,
        ];
        for field in schema.fields().iter().skip(3) {
            match batch.column_by_name(field.name()) {
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
