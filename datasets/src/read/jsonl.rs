//! JSON Lines input (plain, gzip or zstd): one JSON object per line with a string text
//! field. `id` and `source` are taken when present; every other field is kept, as one JSON
//! object, in the `metadata` column. An input's configured `source` wins over the line's
//! own, which then stays in `metadata` like any other field.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use serde_json::Value;

use super::batch_builder::DocumentBatchBuilder;
use super::{InputFile, ReadOptions, RejectedRecord, fail_or_quarantine};
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

/// The document fields of one line.
struct ParsedLine {
    id: String,
    text: String,
    source: String,
    metadata: Option<String>,
}

/// Why a line could not be read: a reason code for the quarantine and a message.
struct LineError {
    reason: &'static str,
    message: String,
}

fn line_error(reason: &'static str, message: String) -> LineError {
    LineError { reason, message }
}

fn parse_line(line: &[u8], file: &InputFile, line_number: u64) -> Result<ParsedLine, LineError> {
    let text = std::str::from_utf8(line).map_err(|e| {
        line_error(
            "invalid_utf8",
            format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()),
        )
    })?;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| line_error("malformed_json", format!("malformed JSON ({e})")))?;
    let Value::Object(mut object) = value else {
        return Err(line_error(
            "malformed_json",
            "expected a JSON object per line".to_string(),
        ));
    };
    let spec = &file.spec;
    let doc_text = match object.remove(&spec.text_column) {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => {
            return Err(line_error(
                "missing_text",
                format!("field `{}` is missing or null", spec.text_column),
            ));
        }
        Some(other) => {
            return Err(line_error(
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
    let source = match &spec.source {
        Some(configured) => configured.clone(),
        None => match object.remove(&spec.source_column) {
            Some(Value::String(s)) => s,
            _ => file.default_source.clone(),
        },
    };
    let metadata = (!object.is_empty()).then(|| Value::Object(object).to_string());
    Ok(ParsedLine {
        id,
        text: doc_text,
        source,
        metadata,
    })
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
            Ok(doc) => {
                builder.push(&doc.id, &doc.text, &doc.source, doc.metadata.as_deref());
                if builder.is_full()
                    && let Some(batch) = builder.flush()?
                {
                    sink(batch)?;
                }
            }
            Err(LineError { reason, message }) => {
                let record = RejectedRecord {
                    file: file.path.clone(),
                    position: line_number,
                    reason: reason.to_string(),
                    message,
                };
                fail_or_quarantine(options.on_error, rejected, record, |message| {
                    DatasetError::BadLine {
                        path: file.path.clone(),
                        line: line_number,
                        message,
                    }
                })?;
            }
        }
    }
    if let Some(batch) = builder.flush()? {
        sink(batch)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{InputFormat, InputSpec};

    fn input_file(configured_source: Option<&str>) -> InputFile {
        let mut spec = InputSpec::new("corpus/web.jsonl");
        spec.source = configured_source.map(str::to_string);
        InputFile {
            path: spec.path.clone(),
            format: InputFormat::Jsonl,
            default_source: configured_source.unwrap_or("web").to_string(),
            spec,
            root: "corpus".into(),
        }
    }

    fn parse(line: &str, file: &InputFile) -> ParsedLine {
        match parse_line(line.as_bytes(), file, 1) {
            Ok(parsed) => parsed,
            Err(e) => panic!("line rejected: {}", e.message),
        }
    }

    fn metadata(parsed: &ParsedLine) -> Value {
        serde_json::from_str(parsed.metadata.as_deref().expect("metadata")).unwrap()
    }

    const LINE: &str = r#"{"id":"d1","text":"hello","source":"cc/2019","lang":"en"}"#;

    #[test]
    fn configured_source_wins_over_the_lines_source() {
        let parsed = parse(LINE, &input_file(Some("web")));
        assert_eq!(parsed.source, "web");
    }

    #[test]
    fn configured_source_keeps_the_lines_source_in_metadata() {
        let parsed = parse(LINE, &input_file(Some("web")));
        assert_eq!(
            metadata(&parsed),
            serde_json::json!({"lang": "en", "source": "cc/2019"})
        );
    }

    #[test]
    fn without_configured_source_the_lines_source_is_used() {
        let parsed = parse(LINE, &input_file(None));
        assert_eq!(parsed.source, "cc/2019");
        assert_eq!(metadata(&parsed), serde_json::json!({"lang": "en"}));
    }

    #[test]
    fn without_any_source_the_file_stem_is_used() {
        let parsed = parse(r#"{"text":"hello"}"#, &input_file(None));
        assert_eq!(parsed.source, "web");
        assert_eq!(parsed.metadata, None);
    }
}
