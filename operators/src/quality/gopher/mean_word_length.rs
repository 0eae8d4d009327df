//! `quality.gopher_mean_word_length` (formerly `quality.gopher.mean_word_length`)
//!
//! What it does: the mean length in characters of a document's words (tokens with a letter
//! or digit, edge punctuation stripped) into `gopher_mean_word_length`, and
//! `gopher_mean_word_length_pass` when it lies within `[min_length, max_length]`. A document
//! without words has mean 0 and fails.
//!
//! Why: natural language averages 3–10 characters per word; far outside that is symbol
//! dumps, base64, or lists of initials. Defaults 3 and 10 are Gopher's (Rae et al. 2021),
//! as datatrove's `GopherQualityFilter(min_avg_word_length=3, max_avg_word_length=10)`.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, RecordBatch};
use arrow::datatypes::{DataType, Field};
use serde::{Deserialize, Serialize};

use super::non_symbol_words;
use crate::Result;
use crate::operator::{Operator, default_text_column, string_column, with_columns};
use crate::spec::OperatorSpec;

pub const LENGTH_COLUMN: &str = "gopher_mean_word_length";
pub const PASS_COLUMN: &str = "gopher_mean_word_length_pass";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeanWordLengthParams {
    #[serde(default = "default_min")]
    pub min_length: f64,
    #[serde(default = "default_max")]
    pub max_length: f64,
    #[serde(default = "default_text_column")]
    pub text_column: String,
}

fn default_min() -> f64 {
    3.0
}
fn default_max() -> f64 {
    10.0
}

#[derive(Debug)]
pub struct GopherMeanWordLength {
    params: MeanWordLengthParams,
}

impl OperatorSpec for GopherMeanWordLength {
    const NAME: &'static str = "quality.gopher_mean_word_length";
    const ALIASES: &'static [&'static str] = &["quality.gopher.mean_word_length"];
    type Params = MeanWordLengthParams;

    fn with_params(params: MeanWordLengthParams) -> Result<Self> {
        if params.min_length > params.max_length {
            return Err(crate::OperatorError::params(
                Self::NAME,
                "min_length is above max_length",
            ));
        }
        Ok(Self { params })
    }

    fn typed_params(&self) -> &MeanWordLengthParams {
        &self.params
    }
}

/// Mean characters per non-symbol word; 0 when there are none.
pub fn mean_word_length(text: &str) -> f64 {
    let (words, chars) = non_symbol_words(text).fold((0u64, 0u64), |(n, c), w| {
        (n + 1, c + w.chars().count() as u64)
    });
    if words == 0 {
        0.0
    } else {
        chars as f64 / words as f64
    }
}

impl Operator for GopherMeanWordLength {
    fn output_fields(&self) -> Vec<Field> {
        vec![
            Field::new(LENGTH_COLUMN, DataType::Float64, false),
            Field::new(PASS_COLUMN, DataType::Boolean, false),
        ]
    }

    fn row_local(&self) -> bool {
        true
    }

    fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let texts = string_column(Self::NAME, &batch, &self.params.text_column)?;
        let lengths: Float64Array = texts
            .iter()
            .map(|t| Some(mean_word_length(t.unwrap_or(""))))
            .collect();
        let (min, max) = (self.params.min_length, self.params.max_length);
        let pass: BooleanArray = lengths
            .iter()
            .map(|l| l.map(|l| l >= min && l <= max))
            .collect();
        let fields = self.output_fields();
        with_columns(
            Self::NAME,
            &batch,
            vec![
                (fields[0].clone(), Arc::new(lengths) as ArrayRef),
                (fields[1].clone(), Arc::new(pass) as ArrayRef),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_over_words_only() {
        assert_eq!(mean_word_length("abc, defgh!"), 4.0);
        assert_eq!(mean_word_length("-- ... abc"), 3.0);
        assert_eq!(mean_word_length(""), 0.0);
        assert_eq!(mean_word_length("дом кот"), 3.0, "characters, not bytes");
    }

    #[test]
    fn edges_of_the_default_range() {
        let op = GopherMeanWordLength::from_json(&serde_json::Value::Null).unwrap();
        let pass = |text: &str| {
            let l = mean_word_length(text);
            l >= op.params.min_length && l <= op.params.max_length
        };
        assert!(pass("abc abc"));
        assert!(!pass("ab ab"));
        assert!(pass(&"a".repeat(10)));
        assert!(!pass(&"a".repeat(11)));
        assert!(!pass("%%% ###"));
    }
}
