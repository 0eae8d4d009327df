//! `blend quality train` and `blend quality score`: a fastText-style quality classifier
//! (`blend_kernels::text_classifier`) trained on labeled documents, or DCLM's way
//! (positives = a reference corpus, negatives = random web), evaluated on a held-out split
//! or by k-fold cross-validation, saved as one small file; and scoring of any corpus with
//! it into Parquet.

mod labels;
mod score;
mod train;

use std::collections::BTreeMap;
use std::path::PathBuf;

use blend_datasets::read::InputSpec;
use blend_kernels::text_classifier::{BinaryMetrics, TrainConfig};
use serde::{Deserialize, Serialize};

pub use score::score_documents;
pub use train::train_classifier;

/// Labels of DCLM-style training: documents of the reference inputs against the others.
pub const REFERENCE_LABEL: &str = "reference";
pub const OTHER_LABEL: &str = "other";

/// Where the labels come from.
#[derive(Debug, Clone)]
pub enum TrainingData {
    /// Inputs with a label column.
    Labeled {
        inputs: Vec<InputSpec>,
        label_column: String,
    },
    /// DCLM's recipe: `reference` documents are positives, `other` (e.g. random web) negatives.
    Reference {
        reference: Vec<InputSpec>,
        other: Vec<InputSpec>,
    },
}

#[derive(Debug, Clone)]
pub struct TrainRequest {
    pub data: TrainingData,
    /// The label whose probability is the quality score (default: a guess among 1, true,
    /// positive, good, hq, reference; required when none matches).
    pub positive_label: Option<String>,
    /// Keep at most this many documents per label (a seeded sample), e.g. to balance classes.
    pub max_per_label: Option<usize>,
    /// ≥ 2: k-fold cross-validation (stratified), then the saved model is trained on all
    /// documents. Otherwise one held-out split of `test_fraction`.
    pub folds: usize,
    /// Share of each label held out for testing when `folds` < 2 (0 = train on everything).
    pub test_fraction: f64,
    pub config: TrainConfig,
    pub model_path: PathBuf,
    /// JSONL with every document's id, label, split (fold number or train/test) and, for
    /// evaluated documents, the positive-label probability.
    pub predictions_path: Option<PathBuf>,
}

/// One evaluation: a fold, or the held-out split.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluation {
    pub train_documents: usize,
    pub metrics: BinaryMetrics,
    /// Seconds to hash the features and run SGD (reading excluded).
    pub train_seconds: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOutcome {
    pub model_path: PathBuf,
    pub labels: Vec<String>,
    pub positive_label: String,
    pub documents_per_label: BTreeMap<String, usize>,
    pub config: TrainConfig,
    /// The held-out split, or each fold.
    pub evaluations: Vec<Evaluation>,
    /// ROC-AUC over every held-out score (the out-of-fold scores pooled, for k-fold).
    pub roc_auc: Option<f64>,
    pub accuracy: Option<f64>,
    /// Documents the saved model was trained on.
    pub model_documents: usize,
    pub model_train_seconds: f64,
    pub model_bytes: u64,
    pub trained_buckets: usize,
}

/// What `blend quality score` does.
#[derive(Debug, Clone)]
pub struct ScoreRequest {
    pub inputs: Vec<InputSpec>,
    /// Parameters of the `quality.classifier` operator (`model`, `label`, `score_column`).
    pub classifier: serde_json::Value,
    pub out_dir: PathBuf,
    /// A label column to evaluate the scores against, and its positive value (default: the
    /// scored label).
    pub evaluate: Option<(String, Option<String>)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScoreOutcome {
    /// The label whose probability is the score.
    pub label: String,
    pub documents: u64,
    pub parts: Vec<String>,
    pub score_summary: serde_json::Value,
    pub metrics: Option<BinaryMetrics>,
}
