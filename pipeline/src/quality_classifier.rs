//! `blend quality train` and `blend quality score`: a fastText-style quality classifier
//! (`blend_kernels::text_classifier`) trained on labeled documents, or DCLM's way
//! (positives = a reference corpus, negatives = random web), evaluated on a held-out split
//! or by k-fold cross-validation, saved as one small file; and scoring of any corpus with
//! it into Parquet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Schema};
use blend_datasets::METADATA_COLUMN;
use blend_datasets::files::write_atomic;
use blend_datasets::parquet_parts::PartWriter;
use blend_datasets::read::{CorpusReader, InputSpec, ReadOptions};
use blend_kernels::SeededRng;
use blend_kernels::text_classifier::{BinaryMetrics, TrainConfig, train};
use blend_operators::operator::{Operator, column_names, string_column};
use blend_operators::quality::classifier::Classifier;
use serde::{Deserialize, Serialize};

use crate::read_stage::for_each_batch;
use crate::{PipelineError, Progress, Result};

/// Labels of DCLM-style training: documents of the reference inputs against the others.
pub const REFERENCE_LABEL: &str = "reference";
pub const OTHER_LABEL: &str = "other";

/// Label values taken as the positive class when none is named.
const POSITIVE_LABEL_GUESSES: &[&str] = &["1", "true", "positive", "good", "hq", REFERENCE_LABEL];

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

#[derive(Debug)]
struct LabeledDocument {
    id: String,
    text: String,
    label: usize,
}

/// Trains, evaluates and saves a classifier.
pub fn train_classifier(request: &TrainRequest, progress: &dyn Progress) -> Result<TrainOutcome> {
    request
        .config
        .validate()
        .map_err(|e| PipelineError::Invalid(format!("classifier settings: {e}")))?;
    if !(0.0..1.0).contains(&request.test_fraction) {
        return Err(PipelineError::Invalid(format!(
            "test fraction must be in [0, 1), got {}",
            request.test_fraction
        )));
    }
    let (raw, label_names) = read_labeled(&request.data, progress)?;
    let positive_label = positive_label(&label_names, request.positive_label.as_deref())?;
    // The positive label goes last (the scoring operator's default label).
    let mut labels: Vec<String> = label_names
        .iter()
        .filter(|l| **l != positive_label)
        .cloned()
        .collect();
    labels.push(positive_label.clone());
    let mut documents: Vec<LabeledDocument> = raw
        .into_iter()
        .map(|(id, text, label)| LabeledDocument {
            id,
            text,
            label: labels
                .iter()
                .position(|l| *l == label)
                .expect("label is listed"),
        })
        .collect();
    let positive = labels.len() - 1;
    if let Some(max) = request.max_per_label {
        documents = sample_per_label(documents, labels.len(), max, request.config.seed);
    }
    let mut documents_per_label = BTreeMap::new();
    for document in &documents {
        *documents_per_label
            .entry(labels[document.label].clone())
            .or_insert(0) += 1;
    }
    if documents_per_label.len() < 2 {
        return Err(PipelineError::Invalid(format!(
            "training needs documents of at least two labels, found {documents_per_label:?}"
        )));
    }
    tracing::info!(
        "training on {} documents: {documents_per_label:?}",
        documents.len()
    );

    let split = assign_splits(&documents, labels.len(), request);
    let mut evaluations = Vec::new();
    let mut scores: Vec<Option<f64>> = vec![None; documents.len()];
    let rounds = if request.folds >= 2 {
        request.folds
    } else {
        usize::from(request.test_fraction > 0.0)
    };
    let task = if request.folds >= 2 {
        "cross-validate"
    } else {
        "train + test"
    };
    let bar = progress.start(task, Some(rounds as u64), "models");
    let mut held_out_model = None;
    for fold in 0..rounds {
        let train_set: Vec<(&str, usize)> = documents
            .iter()
            .zip(&split)
            .filter(|(_, s)| **s != fold)
            .map(|(d, _)| (d.text.as_str(), d.label))
            .collect();
        let started = Instant::now();
        let model = train(&train_set, labels.clone(), &request.config);
        let train_seconds = started.elapsed().as_secs_f64();
        let tested: Vec<usize> = (0..documents.len()).filter(|i| split[*i] == fold).collect();
        if tested.is_empty() || tested.len() == documents.len() {
            return Err(PipelineError::Invalid(format!(
                "{} of {} documents would be held out; use fewer --folds or another --test-fraction",
                tested.len(),
                documents.len()
            )));
        }
        for index in &tested {
            scores[*index] = Some(f64::from(
                model.probabilities(&documents[*index].text)[positive],
            ));
        }
        let probabilities: Vec<f64> = tested.iter().map(|i| scores[*i].expect("scored")).collect();
        let is_positive: Vec<bool> = tested
            .iter()
            .map(|i| documents[*i].label == positive)
            .collect();
        evaluations.push(Evaluation {
            train_documents: train_set.len(),
            metrics: BinaryMetrics::new(&probabilities, &is_positive),
            train_seconds,
        });
        if request.folds < 2 {
            held_out_model = Some((model, train_set.len(), train_seconds));
        }
        bar.advance(1);
    }
    bar.finish("");
    let (pooled_auc, pooled_accuracy) = pooled_metrics(&documents, &scores, positive);

    let (mut model, model_documents, model_train_seconds) = match held_out_model {
        Some(held_out) => held_out,
        None => {
            let all: Vec<(&str, usize)> = documents
                .iter()
                .map(|d| (d.text.as_str(), d.label))
                .collect();
            let started = Instant::now();
            let model = train(&all, labels.clone(), &request.config);
            (model, all.len(), started.elapsed().as_secs_f64())
        }
    };
    let mut outcome = TrainOutcome {
        model_path: request.model_path.clone(),
        labels: labels.clone(),
        positive_label,
        documents_per_label,
        config: request.config,
        evaluations,
        roc_auc: pooled_auc,
        accuracy: pooled_accuracy,
        model_documents,
        model_train_seconds,
        model_bytes: 0,
        trained_buckets: model.trained_buckets(),
    };
    let mut metadata = serde_json::to_value(&outcome).expect("outcome serializes");
    metadata["blend"] = crate::BLEND_VERSION.into();
    // Times and paths vary between runs; the file must not.
    for varying in ["model_train_seconds", "model_bytes", "model_path"] {
        metadata.as_object_mut().expect("object").remove(varying);
    }
    for evaluation in metadata["evaluations"].as_array_mut().expect("array") {
        evaluation
            .as_object_mut()
            .expect("object")
            .remove("train_seconds");
    }
    model.set_metadata(metadata.to_string());
    let bytes = model.to_bytes();
    if let Some(parent) = request.model_path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| PipelineError::io(parent, e))?;
    }
    write_atomic(&request.model_path, &bytes)?;
    outcome.model_bytes = bytes.len() as u64;
    if let Some(path) = &request.predictions_path {
        write_predictions(
            path,
            &documents,
            &labels,
            &split,
            &scores,
            request.folds >= 2,
        )?;
    }
    Ok(outcome)
}

/// The positive label: the one asked for, or the first guess present.
fn positive_label(labels: &[String], asked: Option<&str>) -> Result<String> {
    if let Some(asked) = asked {
        return labels.iter().find(|l| *l == asked).cloned().ok_or_else(|| {
            PipelineError::Invalid(format!(
                "positive label `{asked}` is not among the labels found ({})",
                labels.join(", ")
            ))
        });
    }
    POSITIVE_LABEL_GUESSES
        .iter()
        .find_map(|guess| labels.iter().find(|l| l.eq_ignore_ascii_case(guess)).cloned())
        .ok_or_else(|| {
            PipelineError::Invalid(format!(
                "say which label is the positive (high-quality) one with --positive-label; the labels are {}",
                labels.join(", ")
            ))
        })
}

/// (id, text, label) of a document as read.
type ReadDocument = (String, String, String);

/// Reads (id, text, label) of every document, and the sorted label names.
fn read_labeled(
    data: &TrainingData,
    progress: &dyn Progress,
) -> Result<(Vec<ReadDocument>, Vec<String>)> {
    let mut documents = Vec::new();
    match data {
        TrainingData::Labeled {
            inputs,
            label_column,
        } => read_documents(
            inputs,
            LabelSource::Column(label_column),
            progress,
            &mut documents,
        )?,
        TrainingData::Reference { reference, other } => {
            for (inputs, label) in [(reference, REFERENCE_LABEL), (other, OTHER_LABEL)] {
                read_documents(inputs, LabelSource::Fixed(label), progress, &mut documents)?;
            }
        }
    }
    let mut labels: Vec<String> = documents.iter().map(|d| d.2.clone()).collect();
    labels.sort();
    labels.dedup();
    Ok((documents, labels))
}

/// Where the documents of some inputs get their label.
#[derive(Debug, Clone, Copy)]
enum LabelSource<'a> {
    /// A column (or `metadata` key) of the inputs; see [`label_values`].
    Column(&'a str),
    /// One label for every document.
    Fixed(&'static str),
}

/// Appends (id, text, label) of every document of `inputs` to `documents`; labels are read
/// once per batch.
fn read_documents(
    inputs: &[InputSpec],
    source: LabelSource,
    progress: &dyn Progress,
    documents: &mut Vec<ReadDocument>,
) -> Result<()> {
    let reader = CorpusReader::open(inputs, ReadOptions::default())?;
    let bar = progress.start("read", None, "docs");
    for_each_batch(&reader, &mut |batch| {
        let ids = string_column("quality", batch, "id")
            .map_err(|e| PipelineError::operator("quality", e))?;
        let texts = string_column("quality", batch, "text")
            .map_err(|e| PipelineError::operator("quality", e))?;
        let labels: Vec<String> = match source {
            LabelSource::Column(name) => label_values(batch, name)?
                .into_iter()
                .enumerate()
                .map(|(row, label)| {
                    label.ok_or_else(|| {
                        PipelineError::Invalid(format!(
                            "document `{}` has no value in the label column `{name}`",
                            ids.value(row)
                        ))
                    })
                })
                .collect::<Result<_>>()?,
            LabelSource::Fixed(label) => vec![label.to_string(); batch.num_rows()],
        };
        for (row, label) in labels.into_iter().enumerate() {
            let text = if texts.is_null(row) {
                ""
            } else {
                texts.value(row)
            };
            documents.push((ids.value(row).to_string(), text.to_string(), label));
        }
        bar.advance(batch.num_rows() as u64);
        Ok(())
    })?;
    bar.finish("");
    Ok(())
}

/// At most `max` documents of each label: a seeded sample, kept in input order.
fn sample_per_label(
    documents: Vec<LabeledDocument>,
    labels: usize,
    max: usize,
    seed: u64,
) -> Vec<LabeledDocument> {
    let mut keep = vec![false; documents.len()];
    let mut rng = SeededRng::for_stream(seed, "quality/sample");
    for label in 0..labels {
        let mut members: Vec<usize> = (0..documents.len())
            .filter(|i| documents[*i].label == label)
            .collect();
        rng.shuffle(&mut members);
        members.into_iter().take(max).for_each(|i| keep[i] = true);
    }
    documents
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(d, _)| d)
        .collect()
}

/// Each document's fold (k-fold), or 0 = test / 1 = train for a held-out split; stratified
/// by label and seeded.
fn assign_splits(
    documents: &[LabeledDocument],
    labels: usize,
    request: &TrainRequest,
) -> Vec<usize> {
    let mut split = vec![1usize; documents.len()];
    let mut rng = SeededRng::for_stream(request.config.seed, "quality/split");
    for label in 0..labels {
        let mut members: Vec<usize> = (0..documents.len())
            .filter(|i| documents[*i].label == label)
            .collect();
        rng.shuffle(&mut members);
        if request.folds >= 2 {
            for (position, index) in members.iter().enumerate() {
                split[*index] = position % request.folds;
            }
        } else {
            let test = (members.len() as f64 * request.test_fraction).round() as usize;
            members.iter().take(test).for_each(|i| split[*i] = 0);
        }
    }
    split
}

/// ROC-AUC and accuracy over every scored document.
fn pooled_metrics(
    documents: &[LabeledDocument],
    scores: &[Option<f64>],
    positive: usize,
) -> (Option<f64>, Option<f64>) {
    let (probabilities, is_positive): (Vec<f64>, Vec<bool>) = documents
        .iter()
        .zip(scores)
        .filter_map(|(d, s)| s.map(|s| (s, d.label == positive)))
        .unzip();
    if probabilities.is_empty() {
        return (None, None);
    }
    let metrics = BinaryMetrics::new(&probabilities, &is_positive);
    (metrics.roc_auc, Some(metrics.accuracy))
}

fn write_predictions(
    path: &Path,
    documents: &[LabeledDocument],
    labels: &[String],
    split: &[usize],
    scores: &[Option<f64>],
    folds: bool,
) -> Result<()> {
    let mut out = String::new();
    for ((document, split), score) in documents.iter().zip(split).zip(scores) {
        let split = if folds {
            serde_json::json!(split)
        } else if *split == 0 {
            "test".into()
        } else {
            "train".into()
        };
        let line = serde_json::json!({
            "id": document.id,
            "label": labels[document.label],
            "split": split,
            "score": score,
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    write_atomic(path, out.as_bytes())?;
    Ok(())
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

/// Scores every document of the inputs into Parquet parts under `out_dir` (the input
/// columns plus the score).
pub fn score_documents(request: &ScoreRequest, progress: &dyn Progress) -> Result<ScoreOutcome> {
    let mut classifier = Classifier::new(&request.classifier)
        .map_err(|e| PipelineError::operator(Classifier::NAME, e))?;
    let reader = CorpusReader::open(&request.inputs, ReadOptions::default())?;
    let mut fields: Vec<_> = reader.schema().fields().iter().cloned().collect();
    let new_fields = classifier.output_fields();
    fields.retain(|f| new_fields.iter().all(|n| n.name() != f.name()));
    fields.extend(new_fields.iter().cloned().map(Arc::new));
    std::fs::create_dir_all(&request.out_dir)
        .map_err(|e| PipelineError::io(&request.out_dir, e))?;
    let mut parts = PartWriter::new(
        &request.out_dir,
        "part",
        Arc::new(Schema::new(fields)),
        100_000,
    );
    let bar = progress.start("score", None, "docs");
    let score_column = new_fields[0].name().clone();
    let mut evaluated: (Vec<f64>, Vec<bool>) = (Vec::new(), Vec::new());
    let mut documents = 0u64;
    let label = classifier.label().to_string();
    let evaluate = request
        .evaluate
        .as_ref()
        .map(|(column, positive)| (column, positive.as_deref().unwrap_or(&label)));
    for_each_batch(&reader, &mut |batch| {
        let scored = classifier
            .apply(batch.clone())
            .map_err(|e| PipelineError::operator(Classifier::NAME, e))?;
        if let Some((column, positive)) = evaluate {
            collect_labels(&scored, &score_column, column, positive, &mut evaluated)?;
        }
        parts.write(&scored)?;
        documents += scored.num_rows() as u64;
        bar.advance(batch.num_rows() as u64);
        Ok(())
    })?;
    bar.finish("");
    let parts = parts.finish()?.into_iter().map(|p| p.name).collect();
    let metrics = request
        .evaluate
        .as_ref()
        .map(|_| BinaryMetrics::new(&evaluated.0, &evaluated.1));
    Ok(ScoreOutcome {
        label,
        documents,
        parts,
        score_summary: classifier.summary().unwrap_or_default(),
        metrics,
    })
}

fn collect_labels(
    batch: &RecordBatch,
    score_column: &str,
    label_column: &str,
    positive: &str,
    out: &mut (Vec<f64>, Vec<bool>),
) -> Result<()> {
    let labels = label_values(batch, label_column)?;
    let scores = batch
        .column_by_name(score_column)
        .and_then(|c| {
            c.as_any()
                .downcast_ref::<arrow::array::Float64Array>()
                .cloned()
        })
        .expect("the classifier adds its score column");
    for (row, label) in labels.iter().enumerate() {
        if let Some(label) = label {
            out.0.push(scores.value(row));
            out.1.push(label == positive);
        }
    }
    Ok(())
}

/// Each row's label as text: from the column `name`, or else from the key `name` of the
/// JSON `metadata` column (where JSONL readers keep fields other than id/text/source).
/// JSON numbers and booleans become their JSON text (`1`, `true`).
fn label_values(batch: &RecordBatch, name: &str) -> Result<Vec<Option<String>>> {
    if let Some(column) = batch.column_by_name(name) {
        let column = cast(column, &DataType::Utf8)
            .map_err(|e| PipelineError::Invalid(format!("label column `{name}`: {e}")))?;
        let column = column
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8");
        return Ok(column.iter().map(|v| v.map(str::to_string)).collect());
    }
    let Some(metadata) = batch.column_by_name(METADATA_COLUMN) else {
        return Err(PipelineError::Invalid(format!(
            "the label column `{name}` is missing; the inputs have {}",
            column_names(batch)
        )));
    };
    let metadata = cast(metadata, &DataType::Utf8)
        .map_err(|e| PipelineError::Invalid(format!("column `{METADATA_COLUMN}`: {e}")))?;
    let metadata = metadata
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8");
    metadata
        .iter()
        .map(|json| {
            let Some(json) = json else { return Ok(None) };
            let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
                PipelineError::Invalid(format!(
                    "column `{METADATA_COLUMN}` holds invalid JSON: {e}"
                ))
            })?;
            Ok(match value.get(name) {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(text)) => Some(text.clone()),
                Some(other) => Some(other.to_string()),
            })
        })
        .collect()
}
