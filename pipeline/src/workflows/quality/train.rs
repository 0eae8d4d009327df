//! `blend quality train`: read labeled documents (a label column, or DCLM's reference
//! against other), hold out a stratified split or k folds, train fastText-style classifiers
//! (`blend_kernels::text_classifier`) and score the held-out documents, then save one model
//! whose file depends only on its inputs and settings.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use blend_datasets::files::write_atomic;
use blend_kernels::SeededRng;
use blend_kernels::text_classifier::{BinaryMetrics, TextClassifier, train};

use super::labels::read_labeled;
use super::{Evaluation, TrainOutcome, TrainRequest};
use crate::{PipelineError, Progress, Result};

/// Label values taken as the positive class when none is named.
const POSITIVE_LABEL_GUESSES: &[&str] = &[
    "1",
    "true",
    "positive",
    "good",
    "hq",
    super::REFERENCE_LABEL,
];

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
        .map_err(|e| PipelineError::argument("classifier settings:", e))?;
    if !(0.0..1.0).contains(&request.test_fraction) {
        return Err(PipelineError::argument(
            "--test-fraction",
            format!("must be in [0, 1), got {}", request.test_fraction),
        ));
    }
    let set = labeled_set(request, progress)?;
    tracing::info!(
        "training on {} documents: {:?}",
        set.documents.len(),
        set.documents_per_label
    );
    let split = assign_splits(&set.documents, set.labels.len(), request);
    let held_out = evaluate(request, &set, &split, progress)?;
    let (pooled_auc, pooled_accuracy) =
        pooled_metrics(&set.documents, &held_out.scores, set.positive);
    let (mut model, model_documents, model_train_seconds) = match held_out.model {
        Some(held_out) => held_out,
        None => train_timed(request, &set, |_| true),
    };
    let mut outcome = TrainOutcome {
        model_path: request.model_path.clone(),
        labels: set.labels.clone(),
        positive_label: set.labels[set.positive].clone(),
        documents_per_label: set.documents_per_label.clone(),
        config: request.config,
        evaluations: held_out.evaluations,
        roc_auc: pooled_auc,
        accuracy: pooled_accuracy,
        model_documents,
        model_train_seconds,
        model_bytes: 0,
        trained_buckets: model.trained_buckets(),
    };
    outcome.model_bytes = save_model(&mut model, &outcome, &request.model_path)?;
    if let Some(path) = &request.predictions_path {
        write_predictions(
            path,
            &set.documents,
            &set.labels,
            &split,
            &held_out.scores,
            request.folds >= 2,
        )?;
    }
    Ok(outcome)
}

/// The labeled documents of a request, with the positive label last (the scoring
/// operator's default label) and at most `max_per_label` of each.
struct LabeledSet {
    documents: Vec<LabeledDocument>,
    labels: Vec<String>,
    positive: usize,
    documents_per_label: BTreeMap<String, usize>,
}

fn labeled_set(request: &TrainRequest, progress: &dyn Progress) -> Result<LabeledSet> {
    let (raw, label_names) = read_labeled(&request.data, progress)?;
    let positive_label = positive_label(&label_names, request.positive_label.as_deref())?;
    let mut labels: Vec<String> = label_names
        .iter()
        .filter(|l| **l != positive_label)
        .cloned()
        .collect();
    labels.push(positive_label);
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
        return Err(PipelineError::TooFewLabels {
            found: documents_per_label,
        });
    }
    Ok(LabeledSet {
        documents,
        positive: labels.len() - 1,
        labels,
        documents_per_label,
    })
}

/// A model, the documents it was trained on and the seconds it took.
type TimedModel = (TextClassifier, usize, f64);

/// Trains on the documents `keep` accepts (by index).
fn train_timed(
    request: &TrainRequest,
    set: &LabeledSet,
    keep: impl Fn(usize) -> bool,
) -> TimedModel {
    let train_set: Vec<(&str, usize)> = set
        .documents
        .iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(_, d)| (d.text.as_str(), d.label))
        .collect();
    let started = Instant::now();
    let model = train(&train_set, set.labels.clone(), &request.config);
    (model, train_set.len(), started.elapsed().as_secs_f64())
}

/// What the held-out rounds found: each round's metrics, every held-out document's score,
/// and for a single held-out split its model (which is then the one saved).
struct HeldOut {
    evaluations: Vec<Evaluation>,
    scores: Vec<Option<f64>>,
    model: Option<TimedModel>,
}

/// Trains on all but one fold (or the held-out split) per round and scores the rest.
fn evaluate(
    request: &TrainRequest,
    set: &LabeledSet,
    split: &[usize],
    progress: &dyn Progress,
) -> Result<HeldOut> {
    let documents = &set.documents;
    let mut held_out = HeldOut {
        evaluations: Vec::new(),
        scores: vec![None; documents.len()],
        model: None,
    };
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
    for fold in 0..rounds {
        let (model, train_documents, train_seconds) =
            train_timed(request, set, |i| split[i] != fold);
        let tested: Vec<usize> = (0..documents.len()).filter(|i| split[*i] == fold).collect();
        if tested.is_empty() || tested.len() == documents.len() {
            return Err(PipelineError::argument(
                "--folds / --test-fraction",
                format!(
                    "would hold out {} of {} documents; use fewer --folds or another --test-fraction",
                    tested.len(),
                    documents.len()
                ),
            ));
        }
        for index in &tested {
            held_out.scores[*index] = Some(f64::from(
                model.probabilities(&documents[*index].text)[set.positive],
            ));
        }
        let probabilities: Vec<f64> = tested
            .iter()
            .map(|i| held_out.scores[*i].expect("scored"))
            .collect();
        let is_positive: Vec<bool> = tested
            .iter()
            .map(|i| documents[*i].label == set.positive)
            .collect();
        held_out.evaluations.push(Evaluation {
            train_documents,
            metrics: BinaryMetrics::new(&probabilities, &is_positive),
            train_seconds,
        });
        if request.folds < 2 {
            held_out.model = Some((model, train_documents, train_seconds));
        }
        bar.advance(1);
    }
    bar.finish("");
    Ok(held_out)
}

/// Writes `model` with `outcome` as its metadata (minus what varies between runs, so the
/// same inputs give the same bytes) and returns the file's size.
fn save_model(model: &mut TextClassifier, outcome: &TrainOutcome, path: &Path) -> Result<u64> {
    let mut metadata = serde_json::to_value(outcome).expect("outcome serializes");
    metadata["blend"] = crate::BLEND_VERSION.into();
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
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| PipelineError::io(parent, e))?;
    }
    write_atomic(path, &bytes)?;
    Ok(bytes.len() as u64)
}

/// The positive label: the one asked for, or the first guess present.
fn positive_label(labels: &[String], asked: Option<&str>) -> Result<String> {
    if let Some(asked) = asked {
        return labels.iter().find(|l| *l == asked).cloned().ok_or_else(|| {
            PipelineError::UnknownLabel {
                label: asked.to_string(),
                labels: labels.to_vec(),
            }
        });
    }
    POSITIVE_LABEL_GUESSES
        .iter()
        .find_map(|guess| {
            labels
                .iter()
                .find(|l| l.eq_ignore_ascii_case(guess))
                .cloned()
        })
        .ok_or_else(|| PipelineError::PositiveLabelNeeded {
            labels: labels.to_vec(),
        })
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
