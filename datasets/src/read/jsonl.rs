//! JSON Lines input (plain, gzip or zstd): one JSON object per line with a string text
//! field. `id` and `source` are taken when present; every other field is kept, as one JSON
//! object, in the `metadata` column.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use serde_json::Value;

use super::batch_builder::DocumentBatchBuilder;
use super::{InputFile, OnError, ReadOptions, RejectedRecord};
use crate::{DatasetError, Result};

fn open(file: &InputFile) -> Result<Box<dyn BufRead>> {
    let handle = File::open(&file.path).map_err(|e| DatasetError::io(&file.path, e))?;
    let name = file.path.to_string_lossy().to_ascii_lowercase();
    let raw: Box<dyn Read> = if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(handle)))
    } else if name.ends_with(".zst") {
        Box::new(
            zstd::stream::read::Decoder::new(handle)
                .map_err(|e| DatasetError::io(&file.path, e))?,
        )
    } else {
        Box::new(handle)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 20, raw)))
}

/// Why a line could not be read: (reason code, message).
fn parse_line<'a>(
    line: &'a [u8],
    file: &InputFile,
    line_number: u64,
) -> std::result::Result<(String, String, String, Option<String>), (&'static str, String)> {
    let text = std::str::from_utf8(line).map_err(|e| {
        (
            "invalid_utf8",
            format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()),
        )
    })?;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ("malformed_json", format!("malformed JSON ({e})")))?;
    let Value::Object(mut object) = value else {
        return Err((
            "malformed_json",
            "expected a JSON object per line".to_string(),
        ));
    };
    let spec = &file.spec;
    let doc_text = match object.remove(&spec.text_column) {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => {
            return Err((
                "missing_text",
                format!("field `{}` is missing or null", spec.text_column),
            ));
        }
        Some(other) => {
            return Err((
                "missing_text",
                format!(
                    "field `{}` is {}, expected a string",
                    spec.text_column,
                    json_kind(&other)
                ),
            ));
        }
    };
    let id = match object.remove(&spec.id_column) {
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => n.to_string(),
        _ => format!("{}:{line_number}", file_label(file)),
    };
    let source = match object.remove(&spec.source_column) {
        Some(Value::String(s)) => s,
        _ => file.default_source.clone(),
    };
    let metadata = (!object.is_empty()).then(|| Value::Object(object).to_string());
    Ok((id, doc_text, source, metadata))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(super) fn file_label(file: &InputFile) -> String {
    file.path
        .strip_prefix(&file.root)
        .unwrap_or(&file.path)
        .to_string_lossy()
        .into_owned()
}

pub(super) fn read(
    file: &InputFile,
    schema: &SchemaRef,
    options: ReadOptions,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
    rejected: &mut Vec<RejectedRecord>,
) -> Result<()> {
    let mut reader = open(file)?;
    let mut builder = DocumentBatchBuilder::new(schema.clone(), options.batch_rows);
    let mut line = Vec::new();
    let mut line_number = 0u64;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| DatasetError::BadLine {
                path: file.path.clone(),
                line: line_number + 1,
                message: format!("cannot read the file here ({e})"),
            })?;
        if read == 0 {
            break;
        }
        line_number += 1;
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(&line, file, line_number) {
            Ok((id, text, source, metadata)) => {
                builder.push(&id, &text, &source, metadata.as_deref());
                if builder.is_full() {
                    if let Some(batch) = builder.flush()? {
                        sink(batch)?;
                    }
                }
            }
            Err((reason, message)) => match options.on_error {
                OnError::Fail => {
                    return Err(DatasetError::BadLine {
                        path: file.path.clone(),
                        line: line_number,
                        message,
                    });
                }
                OnError::Quarantine => rejected.push(RejectedRecord {
                    file: file.path.clone(),
                    position: line_number,
                    reason: reason.to_string(),
                    message,
                }),
            },
        }
    }
    if let Some(batch) = builder.flush()? {
        sink(batch)?;
    }
    Ok(())
}
