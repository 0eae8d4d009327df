//! `text.normalize` (formerly `normalize`): Unicode NFC, line endings to `\n`, exotic spaces
//! to ASCII space, trailing spaces per line trimmed, runs of blank lines cut to one, leading
//! and trailing blank lines dropped. Indentation is kept (code needs it). Documents that are
//! empty after this, or larger than `max_bytes` before it, get a reason in `normalize_reject`
//! (they are not modified); the filter stage removes them.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field};
use serde::{Deserialize, Serialize};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use crate::Result;
use crate::operator::{Operator, default_text_column, string_column, with_columns};
use crate::spec::OperatorSpec;

pub const REJECT_COLUMN: &str = "normalize_reject";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizeParams {
    /// Column to normalize in place.
    #[serde(default = "default_text_column")]
    pub column: String,
    /// Documents above this many bytes are rejected as `oversize` (default 16 MiB).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Apply Unicode NFC (default true).
    #[serde(default = "default_true")]
    pub nfc: bool,
}

fn default_max_bytes() -> u64 {
    16 << 20
}
fn default_true() -> bool {
    true
}

#[derive(Debug)]
pub struct Normalize {
    params: NormalizeParams,
}

impl OperatorSpec for Normalize {
    const NAME: &'static str = "text.normalize";
    const ALIASES: &'static [&'static str] = &["normalize"];
    type Params = NormalizeParams;

    fn with_params(params: NormalizeParams) -> Result<Self> {
        Ok(Self { params })
    }

    fn typed_params(&self) -> &NormalizeParams {
        &self.params
    }
}

fn is_exotic_space(ch: char) -> bool {
    matches!(
        ch,
        '\u{00A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\t' | '\u{000B}' | '\u{000C}'
    )
}

/// The whitespace part of normalization, after NFC.
pub fn normalize_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_lines = 0usize;
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    for line in unified.split('\n') {
        let line: String = if line.chars().any(is_exotic_space) {
            // Leading tabs stay tabs (indentation); other exotic spaces become ' '.
            let indent_end = line
                .find(|c: char| c != '\t' && c != ' ')
                .unwrap_or(line.len());
            let (indent, rest) = line.split_at(indent_end);
            let mut converted = indent.to_string();
            converted.extend(
                rest.chars()
                    .map(|c| if is_exotic_space(c) { ' ' } else { c }),
            );
            converted
        } else {
            line.to_string()
        };
        let line = line.trim_end();
        if line.is_empty() {
            blank_lines += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_lines > 0 { "\n\n" } else { "\n" });
        }
        blank_lines = 0;
        out.push_str(line);
    }
    out
}

impl Operator for Normalize {
    fn output_fields(&self) -> Vec<Field> {
        vec![
            Field::new(&self.params.column, DataType::Utf8, false),
            Field::new(REJECT_COLUMN, DataType::Utf8, true),
        ]
    }

    fn row_local(&self) -> bool {
        true
    }

    fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let texts = string_column(Self::NAME, &batch, &self.params.column)?;
        let mut normalized = StringBuilder::with_capacity(texts.len(), texts.values().len());
        let mut rejects = StringBuilder::new();
        for row in 0..texts.len() {
            let text = if texts.is_null(row) {
                ""
            } else {
                texts.value(row)
            };
            if text.len() as u64 > self.params.max_bytes {
                normalized.append_value(text);
                rejects.append_value("oversize");
                continue;
            }
            let composed;
            let nfc_text = if self.params.nfc && is_nfc_quick(text.chars()) != IsNormalized::Yes {
                composed = text.nfc().collect::<String>();
                composed.as_str()
            } else {
                text
            };
            let clean = normalize_whitespace(nfc_text);
            rejects.append_option(clean.is_empty().then_some("empty"));
            normalized.append_value(clean);
        }
        let fields = self.output_fields();
        with_columns(
            Self::NAME,
            &batch,
            vec![
                (fields[0].clone(), Arc::new(normalized.finish()) as ArrayRef),
                (fields[1].clone(), Arc::new(rejects.finish()) as ArrayRef),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{AsArray, StringArray};
    use arrow::datatypes::Schema;

    use super::*;

    fn run(texts: Vec<&str>, params: &serde_json::Value) -> (Vec<String>, Vec<Option<String>>) {
        let schema = Arc::new(Schema::new(vec![Field::new("text", DataType::Utf8, false)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(texts))]).unwrap();
        let out = Normalize::from_json(params).unwrap().apply(batch).unwrap();
        let text = out.column(0).as_string::<i32>();
        let reject = out.column(1).as_string::<i32>();
        (
            (0..out.num_rows())
                .map(|i| text.value(i).to_string())
                .collect(),
            (0..out.num_rows())
                .map(|i| reject.is_valid(i).then(|| reject.value(i).to_string()))
                .collect(),
        )
    }

    #[test]
    fn nfc_and_whitespace() {
        let (texts, rejects) = run(
            vec![
                "Cafe\u{0301}  \r\n\r\n\r\n\tdef f():\u{00A0}x \n",
                "  a\u{3000}b  ",
            ],
            &serde_json::Value::Null,
        );
        assert_eq!(texts[0], "Café\n\n\tdef f(): x");
        assert_eq!(texts[1], "  a b");
        assert_eq!(rejects, vec![None, None]);
    }

    #[test]
    fn empty_and_oversize_are_rejected_with_reasons() {
        let big = "x".repeat(101);
        let (texts, rejects) = run(
            vec![" \n\t ", &big, "ok"],
            &serde_json::json!({"max_bytes": 100}),
        );
        assert_eq!(
            rejects,
            vec![Some("empty".into()), Some("oversize".into()), None]
        );
        assert_eq!(texts[1], big, "oversize documents are left as they are");
    }

    #[test]
    fn unknown_param_is_an_error() {
        let error = Normalize::from_json(&serde_json::json!({"max_byte": 1}))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("normalize") && error.contains("max_byte"),
            "{error}"
        );
    }
}
