//! `blend quality train | score`: the fastText-style quality classifier. `train` reads
//! labeled documents (`--labels FILE --label-column label`) or a reference corpus against
//! other documents (`--reference … --other …`, DCLM's recipe), evaluates on a held-out
//! split or by k-fold cross-validation and saves the model; `score` adds `quality_score`
//! to any corpus and writes Parquet.

use std::path::PathBuf;

use anyhow::{Context, bail};
use blend_datasets::read::InputSpec;
use blend_kernels::text_classifier::{BinaryMetrics, TrainConfig};
use blend_pipeline::Progress;
use blend_pipeline::workflows::quality::{
    ScoreRequest, TrainOutcome, TrainRequest, TrainingData, score_documents, train_classifier,
};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct QualityArgs {
    #[command(subcommand)]
    pub command: QualityCommand,
}

#[derive(Debug, Subcommand)]
pub enum QualityCommand {
    /// Train (and evaluate) a classifier; writes the model file.
    Train(TrainArgs),
    /// Score documents with a trained classifier; writes Parquet with `quality_score`.
    Score(ScoreArgs),
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Labeled inputs (.parquet, .jsonl[.gz|.zst]); repeatable.
    #[arg(long, num_args = 1.., required_unless_present = "reference", conflicts_with_all = ["reference", "other"])]
    pub labels: Vec<PathBuf>,
    /// The column of --labels holding each document's label (any type; compared as text).
    #[arg(long, default_value = "label")]
    pub label_column: String,
    /// DCLM's recipe: documents of these inputs are positives (label `reference`)...
    #[arg(long, num_args = 1.., requires = "other")]
    pub reference: Vec<PathBuf>,
    /// ...and documents of these (e.g. random web) negatives (label `other`).
    #[arg(long, num_args = 1..)]
    pub other: Vec<PathBuf>,
    /// The high-quality label, whose probability becomes `quality_score` (default: one of
    /// 1, true, positive, good, hq, reference).
    #[arg(long)]
    pub positive_label: Option<String>,
    /// Keep at most N documents per label (seeded sample), e.g. to balance the classes.
    #[arg(long)]
    pub max_per_label: Option<usize>,
    /// k-fold cross-validation (k ≥ 2); the saved model is then trained on all documents.
    #[arg(long, default_value_t = 0)]
    pub folds: usize,
    /// Share of each label held out for testing when --folds is not given (0 = none).
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Where to write the model.
    #[arg(long)]
    pub model: PathBuf,
    /// Also write every document's split and held-out score (JSONL).
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    /// Embedding size.
    #[arg(long, default_value_t = TrainConfig::default().dim)]
    pub dim: usize,
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    pub epochs: usize,
    /// Starting learning rate (decays linearly to 0).
    #[arg(long, default_value_t = TrainConfig::default().learning_rate)]
    pub lr: f32,
    /// Longest word n-gram used as a feature.
    #[arg(long, default_value_t = TrainConfig::default().word_ngrams)]
    pub word_ngrams: usize,
    /// Hash buckets of the features.
    #[arg(long, default_value_t = TrainConfig::default().buckets)]
    pub buckets: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value = "text")]
    pub text_column: String,
    #[arg(long, default_value = "id")]
    pub id_column: String,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// The model of `blend quality train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Inputs to score (.parquet, .jsonl[.gz|.zst], folders of .txt); repeatable.
    #[arg(long, required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// Output folder for the Parquet parts (input columns + the score).
    #[arg(long)]
    pub out: PathBuf,
    /// The label whose probability is the score (default: the model's positive label).
    #[arg(long)]
    pub label: Option<String>,
    #[arg(long, default_value = "quality_score")]
    pub score_column: String,
    /// A label column of the inputs to measure accuracy and ROC-AUC against.
    #[arg(long)]
    pub label_column: Option<String>,
    /// The positive value of --label-column (default: the scored label).
    #[arg(long)]
    pub positive_label: Option<String>,
    #[arg(long, default_value = "text")]
    pub text_column: String,
    #[arg(long, default_value = "id")]
    pub id_column: String,
    #[arg(long)]
    pub json: bool,
}

fn specs(paths: &[PathBuf], text_column: &str, id_column: &str) -> Vec<InputSpec> {
    paths
        .iter()
        .map(|path| {
            let mut spec = InputSpec::new(path);
            spec.text_column = text_column.to_string();
            spec.id_column = id_column.to_string();
            spec
        })
        .collect()
}

pub fn run(args: QualityArgs, progress: &dyn Progress) -> anyhow::Result<()> {
    match args.command {
        QualityCommand::Train(args) => train(&args, progress),
        QualityCommand::Score(args) => score(&args, progress),
    }
}

fn train(args: &TrainArgs, progress: &dyn Progress) -> anyhow::Result<()> {
    let data = if args.reference.is_empty() {
        TrainingData::Labeled {
            inputs: specs(&args.labels, &args.text_column, &args.id_column),
            label_column: args.label_column.clone(),
        }
    } else {
        TrainingData::Reference {
            reference: specs(&args.reference, &args.text_column, &args.id_column),
            other: specs(&args.other, &args.text_column, &args.id_column),
        }
    };
    if args.folds == 1 {
        bail!("--folds must be at least 2 (or leave it out for one held-out split)");
    }
    let request = TrainRequest {
        data,
        positive_label: args.positive_label.clone(),
        max_per_label: args.max_per_label,
        folds: args.folds,
        test_fraction: args.test_fraction,
        config: TrainConfig {
            dim: args.dim,
            epochs: args.epochs,
            learning_rate: args.lr,
            word_ngrams: args.word_ngrams,
            buckets: args.buckets,
            seed: args.seed,
        },
        model_path: args.model.clone(),
        predictions_path: args.predictions.clone(),
    };
    let outcome = train_classifier(&request, progress).context("quality train")?;
    if args.json {
        println!("{}", serde_json::to_string(&outcome)?);
    } else {
        print_train(&outcome);
    }
    Ok(())
}

fn print_train(outcome: &TrainOutcome) {
    let counts: Vec<String> = outcome
        .documents_per_label
        .iter()
        .map(|(label, count)| format!("{label}: {count}"))
        .collect();
    println!("documents  {}", counts.join(", "));
    for (index, evaluation) in outcome.evaluations.iter().enumerate() {
        let name = if outcome.evaluations.len() > 1 {
            format!("fold {index}")
        } else {
            "held out".to_string()
        };
        println!(
            "{name:<10} {} test docs  {}  (trained on {} in {:.2} s)",
            evaluation.metrics.documents,
            metrics_text(&evaluation.metrics),
            evaluation.train_documents,
            evaluation.train_seconds
        );
    }
    if outcome.evaluations.len() > 1
        && let (Some(auc), Some(accuracy)) = (outcome.roc_auc, outcome.accuracy)
    {
        println!("pooled     ROC-AUC {auc:.4}  accuracy {accuracy:.4}");
    }
    println!(
        "model      {} ({} bytes, {} trained buckets, positive label `{}`; trained on {} docs in {:.2} s)",
        outcome.model_path.display(),
        outcome.model_bytes,
        outcome.trained_buckets,
        outcome.positive_label,
        outcome.model_documents,
        outcome.model_train_seconds
    );
}

fn metrics_text(metrics: &BinaryMetrics) -> String {
    let auc = metrics
        .roc_auc
        .map_or("n/a (one class)".to_string(), |a| format!("{a:.4}"));
    format!("ROC-AUC {auc}  accuracy {:.4}", metrics.accuracy)
}

fn score(args: &ScoreArgs, progress: &dyn Progress) -> anyhow::Result<()> {
    let mut classifier = serde_json::json!({
        "model": args.model,
        "text_column": "text",
        "score_column": args.score_column,
    });
    if let Some(label) = &args.label {
        classifier["label"] = label.clone().into();
    }
    let request = ScoreRequest {
        inputs: specs(&args.input, &args.text_column, &args.id_column),
        classifier,
        out_dir: args.out.clone(),
        evaluate: args
            .label_column
            .clone()
            .map(|column| (column, args.positive_label.clone())),
    };
    let outcome = score_documents(&request, progress).context("quality score")?;
    if args.json {
        println!("{}", serde_json::to_string(&outcome)?);
        return Ok(());
    }
    let mean = outcome.score_summary["score_histogram"]["sum"]
        .as_f64()
        .unwrap_or(0.0)
        / outcome.documents.max(1) as f64;
    println!(
        "scored {} documents (mean P({}) {mean:.4}) into {} part(s) in {}",
        outcome.documents,
        outcome.label,
        outcome.parts.len(),
        args.out.display()
    );
    if let Some(metrics) = &outcome.metrics {
        println!(
            "{} labeled docs  {}",
            metrics.documents,
            metrics_text(metrics)
        );
    }
    Ok(())
}
