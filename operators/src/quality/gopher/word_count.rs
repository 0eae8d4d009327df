//! `quality.gopher_word_count` (formerly `quality.gopher.word_count`)
//!
//! What it does: counts the words of a document (tokens with a letter or digit) into
//! `gopher_word_count` and sets `gopher_word_count_pass` when the count is within
//! `[min_words, max_words]`.
//!
//! Why: documents of a few words carry no training signal and very long ones are mostly
//! dumps. Defaults 50 and 100,000 are Gopher's (Rae et al. 2021), as in datatrove's
//! `GopherQualityFilter(min_doc_words=50, max_doc_words=100000)`.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Field};
use serde::{Deserialize, Serialize};

use super::non_symbol_words;
use crate::Result;
use crate::operator::{Operator, default_text_column, string_column, with_columns};
use crate::spec::OperatorSpec;

pub const COUNT_COLUMN: &str = "gopher_word_count";
pub const PASS_COLUMN: &str = "gopher_word_count_pass";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordCountParams {
    #[serde(default = "default_min")]
    pub min_words: u64,
    #[serde(default = "default_max")]
    pub max_words: u64,
    #[serde(default = "default_text_column")]
    pub text_column: String,
}

fn default_min() -> u64 {
    50
}
fn default_max() -> u64 {
    100_000
}

#[derive(Debug)]
pub struct GopherWordCount {
    params: WordCountParams,
}

impl OperatorSpec for GopherWordCount {
    const NAME: &'static str = "quality.gopher_word_count";
    const ALIASES: &'static [&'static str] = &["quality.gopher.word_count"];
    type Params = WordCountParams;

    fn with_params(params: WordCountParams) -> Result<Self> {
        if params.min_words > params.max_words {
            return Err(crate::OperatorError::params(
                Self::NAME,
                "min_words is above max_words",
            ));
        }
        Ok(Self { params })
    }

    fn typed_params(&self) -> &WordCountParams {
        &self.params
    }
}

/// Number of non-symbol words in `text`.
pub fn word_count(text: &str) -> u64 {
    non_symbol_words(text).count() as u64
}

impl Operator for GopherWordCount {
    fn output_fields(&self) -> Vec<Field> {
        vec![
            Field::new(COUNT_COLUMN, DataType::UInt64, false),
            Field::new(PASS_COLUMN, DataType::Boolean, false),
        ]
    }

    fn row_local(&self) -> bool {
        true
    }

    fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let texts = string_column(Self::NAME, &batch, &self.params.text_column)?;
        let counts: UInt64Array = texts
            .iter()
            .map(|t| Some(word_count(t.unwrap_or(""))))
            .collect();
        let range = self.params.min_words..=self.params.max_words;
        let pass: BooleanArray = counts
            .iter()
            .map(|c| c.map(|c| range.contains(&c)))
            .collect();
        let fields = self.output_fields();
        with_columns(
            Self::NAME,
            &batch,
            vec![
                (fields[0].clone(), Arc::new(counts) as ArrayRef),
                (fields[1].clone(), Arc::new(pass) as ArrayRef),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{AsArray, StringArray};
    use arrow::datatypes::Schema;

    use super::*;

    fn passes(texts: Vec<String>, params: &serde_json::Value) -> Vec<(u64, bool)> {
        let schema = Arc::new(Schema::new(vec![Field::new("text", DataType::Utf8, false)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(texts))]).unwrap();
        let out = GopherWordCount::from_json(params)
            .unwrap()
            .apply(batch)
            .unwrap();
        let counts = out.column(1).as_primitive::<arrow::datatypes::UInt64Type>();
        let pass = out.column(2).as_boolean();
        (0..out.num_rows())
            .map(|i| (counts.value(i), pass.value(i)))
            .collect()
    }

    fn words(n: usize) -> String {
        vec!["word"; n].join(" ")
    }

    #[test]
    fn edges_of_the_default_range() {
        let got = passes(
            vec![words(49), words(50), words(51), String::new()],
            &serde_json::Value::Null,
        );
        assert_eq!(got, vec![(49, false), (50, true), (51, true), (0, false)]);
    }

    #[test]
    fn symbols_are_not_words_and_other_scripts_are() {
        let text = format!("{} -- ... |", ["слово"; 3].join(" "));
        assert_eq!(word_count(&text), 3);
        let got = passes(
            vec![words(11)],
            &serde_json::json!({"min_words": 5, "max_words": 10}),
        );
        assert_eq!(got, vec![(11, false)]);
    }

    #[test]
    fn inverted_range_is_rejected() {
        assert!(
            GopherWordCount::from_json(&serde_json::json!({"min_words": 10, "max_words": 5}))
                .is_err()
        );
    }
}
