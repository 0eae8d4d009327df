//! `quality.classifier`: scores documents with a model written by `blend quality train`
//! (a fastText-style classifier, `blend_kernels::text_classifier`). Adds `quality_score`:
//! the probability of the model's positive label (`label`; by default the model's last
//! label, where `blend quality train` puts the positive one).

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch};
use arrow::datatypes::{DataType, Field};
use blend_kernels::TextClassifier;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::score_histogram::ScoreHistogram;
use crate::operator::{Operator, default_text_column, f64_column, string_column, with_columns};
use crate::spec::OperatorSpec;
use crate::{OperatorError, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierParams {
    /// The model file of `blend quality train`.
    pub model: PathBuf,
    #[serde(default = "default_text_column")]
    pub text_column: String,
    /// The label whose probability becomes the score (default: the model's last label).
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default = "default_score_column")]
    pub score_column: String,
}

fn default_score_column() -> String {
    "quality_score".into()
}

#[derive(Debug)]
pub struct Classifier {
    params: ClassifierParams,
    model: TextClassifier,
    label_index: usize,
    /// xxh3-128 of the model file, so a retrained model invalidates cached stages.
    model_digest: String,
    scores: ScoreHistogram,
}

impl OperatorSpec for Classifier {
    const NAME: &'static str = "quality.classifier";
    const PATH_PARAMS: &'static [&'static str] = &["model"];
    type Params = ClassifierParams;

    fn with_params(params: ClassifierParams) -> Result<Self> {
        let bytes = std::fs::read(&params.model).map_err(|source| OperatorError::Io {
            operator: Self::NAME.into(),
            path: params.model.clone(),
            source,
        })?;
        let model = TextClassifier::from_bytes(&bytes).map_err(|e| OperatorError::Invalid {
            operator: Self::NAME.into(),
            message: format!("{}: {e}", params.model.display()),
        })?;
        let label_index = match &params.label {
            None => model.labels().len() - 1,
            Some(label) => model.label_index(label).ok_or_else(|| {
                OperatorError::params(
                    Self::NAME,
                    format!(
                        "label `{label}` is not one of the model's labels ({})",
                        model.labels().join(", ")
                    ),
                )
            })?,
        };
        let model_digest = format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes));
        Ok(Self {
            params,
            model,
            label_index,
            model_digest,
            scores: ScoreHistogram::new(10),
        })
    }

    fn typed_params(&self) -> &ClassifierParams {
        &self.params
    }

    /// The parameters plus the model file's digest, so a retrained model is a new cache key.
    fn params_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(&self.params).expect("params serialize");
        value["model_digest"] = self.model_digest.clone().into();
        value
    }
}

impl Classifier {
    /// The label whose probability is the score.
    pub fn label(&self) -> &str {
        &self.model.labels()[self.label_index]
    }

    pub fn model(&self) -> &TextClassifier {
        &self.model
    }

    /// The probability of the scored label for one text.
    pub fn score(&self, text: &str) -> f64 {
        f64::from(self.model.probabilities(text)[self.label_index])
    }
}

impl Operator for Classifier {
    fn output_fields(&self) -> Vec<Field> {
        vec![Field::new(
            &self.params.score_column,
            DataType::Float64,
            false,
        )]
    }

    fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let texts = string_column(Self::NAME, &batch, &self.params.text_column)?;
        let texts: Vec<&str> = texts.iter().map(|t| t.unwrap_or("")).collect();
        let scores: Vec<f64> = texts.par_iter().map(|text| self.score(text)).collect();
        let field = self.output_fields().remove(0);
        let column: ArrayRef = Arc::new(Float64Array::from(scores));
        let output = with_columns(Self::NAME, &batch, vec![(field, column)])?;
        self.count_output(&output)?;
        Ok(output)
    }

    fn row_local(&self) -> bool {
        true
    }

    fn count_output(&mut self, output: &RecordBatch) -> Result<()> {
        let scores = f64_column(Self::NAME, output, &self.params.score_column)?;
        scores
            .iter()
            .for_each(|score| self.scores.add(score.unwrap_or(0.0)));
        Ok(())
    }

    fn summary(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({
            "label": self.label(),
            "score_histogram": self.scores,
            // What `blend quality train` recorded: labels, documents, held-out metrics.
            "model": serde_json::from_str::<serde_json::Value>(self.model.metadata()).unwrap_or_default(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::StringArray;
    use blend_kernels::text_classifier::{TrainConfig, train};

    use super::*;
    use crate::spec::OperatorIdentity;

    #[test]
    fn scores_with_a_saved_model_and_names_bad_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        let docs = [
            ("proof of the theorem follows", 1usize),
            ("buy cheap pills now click", 0),
            ("the lemma and its proof", 1),
            ("click here to buy now", 0),
        ];
        let config = TrainConfig {
            dim: 8,
            buckets: 1 << 12,
            epochs: 50,
            ..TrainConfig::default()
        };
        let model = train(&docs, vec!["low".into(), "high".into()], &config);
        std::fs::write(&path, model.to_bytes()).unwrap();

        let mut operator = Classifier::from_json(&serde_json::json!({"model": path})).unwrap();
        let texts: StringArray = ["a proof of the lemma", "click to buy pills"]
            .into_iter()
            .map(Some)
            .collect();
        let batch =
            RecordBatch::try_from_iter(vec![("text", Arc::new(texts) as ArrayRef)]).unwrap();
        let out = operator.apply(batch).unwrap();
        let scores = out.column_by_name("quality_score").unwrap();
        let scores = scores.as_any().downcast_ref::<Float64Array>().unwrap();
        assert!(scores.value(0) > 0.5 && scores.value(1) < 0.5, "{scores:?}");
        assert_eq!(operator.summary().unwrap()["label"], "high");
        assert_eq!(
            operator.params()["model_digest"].as_str().unwrap().len(),
            32
        );

        let low =
            Classifier::from_json(&serde_json::json!({"model": path, "label": "low"})).unwrap();
        assert!((low.score("x") + operator.score("x") - 1.0).abs() < 1e-6);
        let error = Classifier::from_json(&serde_json::json!({"model": path, "label": "mid"}))
            .unwrap_err()
            .to_string();
        assert!(error.contains("low, high"), "{error}");
        let missing = dir.path().join("absent.bin");
        let error = Classifier::from_json(&serde_json::json!({"model": missing}))
            .unwrap_err()
            .to_string();
        assert!(error.contains("absent.bin"), "{error}");
        std::fs::write(&missing, b"not a model at all").unwrap();
        let error = Classifier::from_json(&serde_json::json!({"model": missing}))
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a blend text classifier"), "{error}");
    }
}
