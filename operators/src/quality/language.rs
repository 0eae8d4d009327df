//! `quality.language`: language identification with whatlang (trigram profiles of 69
//! languages, plus script detection). Adds `lang` (ISO 639-3 code, `und` when whatlang
//! finds no language, e.g. for text without letters) and `lang_score` (whatlang's
//! confidence in [0, 1]). Rows are never removed; filter on `lang` and `lang_score`.
//!
//! Why whatlang and not lingua: measured by `bench/langid/run.sh` on the shared corpora's
//! Tatoeba and UDHR documents (see bench/README.md): accuracy is close on the languages
//! both know, and whatlang is much faster and adds no model files to the build.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use whatlang::{Detector, Lang};

use super::score_histogram::ScoreHistogram;
use crate::operator::{Operator, default_text_column, f64_column, string_column, with_columns};
use crate::spec::OperatorSpec;
use crate::{OperatorError, Result};

/// The code of documents whatlang finds no language in.
pub const UNDETERMINED: &str = "und";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageParams {
    #[serde(default = "default_text_column")]
    pub text_column: String,
    /// Only the first `max_chars` characters are looked at (0 = the whole text).
    #[serde(default = "default_max_chars")]
    pub max_chars: usize,
    /// ISO 639-3 codes whatlang may answer with (empty = all 69 it knows).
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default = "default_lang_column")]
    pub lang_column: String,
    #[serde(default = "default_score_column")]
    pub score_column: String,
}

fn default_max_chars() -> usize {
    4000
}
fn default_lang_column() -> String {
    "lang".into()
}
fn default_score_column() -> String {
    "lang_score".into()
}

#[derive(Debug)]
pub struct Language {
    params: LanguageParams,
    detector: Detector,
    documents_per_language: BTreeMap<String, u64>,
    scores: ScoreHistogram,
}

impl OperatorSpec for Language {
    const NAME: &'static str = "quality.language";
    type Params = LanguageParams;

    fn with_params(params: LanguageParams) -> Result<Self> {
        let detector = if params.languages.is_empty() {
            Detector::new()
        } else {
            let mut allowed = Vec::with_capacity(params.languages.len());
            for code in &params.languages {
                let lang = Lang::from_code(code).ok_or_else(|| {
                    OperatorError::params(
                        Self::NAME,
                        format!(
                            "unknown language `{code}`; whatlang knows {}",
                            Self::known_codes().join(", ")
                        ),
                    )
                })?;
                allowed.push(lang);
            }
            Detector::with_allowlist(allowed)
        };
        Ok(Self {
            params,
            detector,
            documents_per_language: BTreeMap::new(),
            scores: ScoreHistogram::new(10),
        })
    }

    fn typed_params(&self) -> &LanguageParams {
        &self.params
    }
}

impl Language {
    /// The ISO 639-3 codes whatlang can answer with.
    pub fn known_codes() -> Vec<&'static str> {
        Lang::all().iter().map(|l| l.code()).collect()
    }

    /// The language code and confidence of one text.
    pub fn detect(&self, text: &str) -> (&'static str, f64) {
        let text = match self.params.max_chars {
            0 => text,
            max => text
                .char_indices()
                .nth(max)
                .map_or(text, |(end, _)| &text[..end]),
        };
        match self.detector.detect(text) {
            Some(info) => (info.lang().code(), info.confidence()),
            None => (UNDETERMINED, 0.0),
        }
    }
}

impl Operator for Language {
    fn output_fields(&self) -> Vec<Field> {
        vec![
            Field::new(&self.params.lang_column, DataType::Utf8, false),
            Field::new(&self.params.score_column, DataType::Float64, false),
        ]
    }

    fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let texts = string_column(Self::NAME, &batch, &self.params.text_column)?;
        let texts: Vec<&str> = texts.iter().map(|t| t.unwrap_or("")).collect();
        let detected: Vec<(&'static str, f64)> =
            texts.par_iter().map(|text| self.detect(text)).collect();
        let langs: StringArray = detected.iter().map(|(lang, _)| Some(*lang)).collect();
        let scores: Float64Array = detected.iter().map(|(_, score)| Some(*score)).collect();
        let fields = self.output_fields();
        let columns: Vec<(Field, ArrayRef)> = vec![
            (fields[0].clone(), Arc::new(langs)),
            (fields[1].clone(), Arc::new(scores)),
        ];
        let output = with_columns(Self::NAME, &batch, columns)?;
        self.count_output(&output)?;
        Ok(output)
    }

    fn row_local(&self) -> bool {
        true
    }

    fn count_output(&mut self, output: &RecordBatch) -> Result<()> {
        let langs = string_column(Self::NAME, output, &self.params.lang_column)?;
        let scores = f64_column(Self::NAME, output, &self.params.score_column)?;
        for (lang, score) in langs.iter().zip(scores.iter()) {
            *self
                .documents_per_language
                .entry(lang.unwrap_or(UNDETERMINED).to_string())
                .or_default() += 1;
            self.scores.add(score.unwrap_or(0.0));
        }
        Ok(())
    }

    fn summary(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({
            "documents_per_language": self.documents_per_language,
            "score_histogram": self.scores,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(texts: &[&str]) -> RecordBatch {
        let texts: StringArray = texts.iter().map(|t| Some(*t)).collect();
        RecordBatch::try_from_iter(vec![("text", Arc::new(texts) as ArrayRef)]).unwrap()
    }

    #[test]
    fn detects_languages_and_undetermined_text() {
        let mut operator = Language::from_json(&serde_json::Value::Null).unwrap();
        let out = operator
            .apply(batch(&[
                "The quick brown fox jumps over the lazy dog, and then it runs back home again.",
                "Der schnelle braune Fuchs springt über den faulen Hund und läuft dann nach Hause.",
                "Le renard brun rapide saute par-dessus le chien paresseux et rentre à la maison.",
                "1234 5678 !!! ---",
                "",
            ]))
            .unwrap();
        let langs = string_column("t", &out, "lang").unwrap();
        let langs: Vec<&str> = langs.iter().map(|l| l.unwrap()).collect();
        assert_eq!(langs, ["eng", "deu", "fra", "und", "und"]);
        let scores = out.column_by_name("lang_score").unwrap();
        let scores = scores.as_any().downcast_ref::<Float64Array>().unwrap();
        assert!(scores.value(0) > 0.5, "{}", scores.value(0));
        assert_eq!(scores.value(3), 0.0);
        let summary = operator.summary().unwrap();
        assert_eq!(summary["documents_per_language"]["und"], 2);
        assert_eq!(summary["score_histogram"]["total"], 5);
    }

    #[test]
    fn allowlist_restricts_answers_and_rejects_unknown_codes() {
        let operator =
            Language::from_json(&serde_json::json!({"languages": ["eng", "spa"]})).unwrap();
        let (lang, _) = operator.detect("Der schnelle braune Fuchs springt über den faulen Hund.");
        assert!(lang == "eng" || lang == "spa", "{lang}");
        let error = Language::from_json(&serde_json::json!({"languages": ["xx"]})).unwrap_err();
        assert!(
            error.to_string().contains("unknown language `xx`"),
            "{error}"
        );
        assert!(error.to_string().contains("eng"), "{error}");
    }

    #[test]
    fn max_chars_cuts_on_a_character_boundary() {
        let operator = Language::from_json(&serde_json::json!({"max_chars": 3})).unwrap();
        // Would panic when cutting inside the multi-byte characters.
        let _ = operator.detect("ééééé");
        let whole = Language::from_json(&serde_json::json!({"max_chars": 0})).unwrap();
        assert_eq!(
            whole
                .detect("Das ist ein schöner Tag und wir gehen in den Park.")
                .0,
            "deu"
        );
    }
}
