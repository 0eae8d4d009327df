//! `blend mix fit | predict | search | eval`: RegMix-style mixture search on recorded proxy
//! runs. `fit` stores a regressor, `predict` scores mixtures with it, `search` writes
//! `mixture.json` (and a report), `eval` measures regressors and CLIMB rounds on held-out
//! runs and writes `evaluation.json` and `report.html`.

use std::path::{Path, PathBuf};

use anyhow::bail;
use blend_mixers::evaluation::EvaluationReport;
use blend_mixers::{
    ExperimentTable, FitSettings, RegressorKind, RegressorModel, RunsLayout, SearchSettings,
};
use blend_pipeline::Progress;
use blend_pipeline::engine::mixture_search::{SamplerOptions, SearchRequest, WeightBound};
use blend_pipeline::workflows::mix::{
    EvaluateRequest, MixEvalRequest, MixSearchRequest, RunsSource, evaluate_to_files, fit_model,
    search_to_files,
};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct MixArgs {
    #[command(subcommand)]
    pub command: MixCommand,
}

#[derive(Debug, Subcommand)]
pub enum MixCommand {
    /// Fit a regressor from mixture weights to a metric on recorded runs.
    Fit(FitArgs),
    /// Predict the metric for the mixtures of a table with a fitted regressor.
    Predict(PredictArgs),
    /// Search a million candidate mixtures with a fitted regressor; write mixture.json.
    Search(SearchArgs),
    /// Held-out evaluation: ρ / R² / MAE per regressor, ρ against runs, CLIMB against random.
    Eval(EvalArgs),
}

/// The recorded runs: one table, or mixtures and metrics joined by a key.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// One table (CSV/Parquet) with `weight/<domain>` columns and metric columns.
    #[arg(long, conflicts_with_all = ["mixtures", "metrics"], required_unless_present = "mixtures")]
    pub runs: Option<PathBuf>,
    /// Mixture weights per run (every column but the key is a domain), e.g. RegMix's train_mixture_1m.csv.
    #[arg(long, requires = "metrics")]
    pub mixtures: Option<PathBuf>,
    /// Metrics per run, joined to --mixtures on --key, e.g. RegMix's train_pile_loss_1m.csv.
    #[arg(long, requires = "mixtures")]
    pub metrics: Option<PathBuf>,
    /// Key column: shared by --mixtures and --metrics (default `index`, RegMix's), or the
    /// run id of a --runs table (default `run`; row numbers when absent).
    #[arg(long)]
    pub key: Option<String>,
    /// Prefix of weight columns in a --runs table.
    #[arg(long, default_value = blend_mixers::experiment_table::WEIGHT_PREFIX)]
    pub weight_prefix: String,
}

impl RunsArgs {
    fn joined_key(&self) -> String {
        self.key.clone().unwrap_or_else(|| "index".into())
    }

    fn source(&self) -> RunsSource {
        match (&self.runs, &self.mixtures, &self.metrics) {
            (Some(path), _, _) => RunsSource::Runs {
                path: path.clone(),
                layout: RunsLayout {
                    key: self.key.clone().unwrap_or_else(|| "run".into()),
                    weight_prefix: self.weight_prefix.clone(),
                },
            },
            (None, Some(mixtures), Some(metrics)) => RunsSource::Joined {
                mixtures: mixtures.clone(),
                metrics: metrics.clone(),
                key: self.joined_key(),
            },
            _ => unreachable!("clap requires --runs or --mixtures with --metrics"),
        }
    }
}

/// LightGBM's settings (RegMix's by default).
#[derive(Debug, Args)]
pub struct LightGbmArgs {
    /// Boosting rounds (the cap, with --cv-folds).
    #[arg(long, default_value_t = 1000)]
    pub iterations: usize,
    #[arg(long, default_value_t = 0.01)]
    pub learning_rate: f64,
    #[arg(long, default_value_t = 31)]
    pub num_leaves: usize,
    /// Maximum tree depth (-1: unlimited; CLIMB uses 4).
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub max_depth: i64,
    /// Choose the rounds by k-fold early stopping on the training runs (0: fixed rounds).
    #[arg(long, default_value_t = 0)]
    pub cv_folds: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

impl LightGbmArgs {
    fn settings(&self) -> FitSettings {
        FitSettings {
            seed: self.seed,
            lightgbm: blend_mixers::regressors::LightGbmSettings {
                iterations: self.iterations,
                learning_rate: self.learning_rate,
                num_leaves: self.num_leaves,
                max_depth: self.max_depth,
                cv_folds: self.cv_folds,
            },
        }
    }
}

#[derive(Debug, Args)]
pub struct FitArgs {
    #[command(flatten)]
    pub runs: RunsArgs,
    /// Metric column to predict, e.g. `metric/the_pile_pile_cc_val_loss`.
    #[arg(long)]
    pub target: String,
    /// lightgbm, linear, log_linear or mixing_law.
    #[arg(long, default_value = "lightgbm")]
    pub regressor: RegressorKind,
    /// The metric is better when higher (accuracy); losses are minimized by default.
    #[arg(long)]
    pub maximize: bool,
    #[command(flatten)]
    pub lightgbm: LightGbmArgs,
    /// Where to write the fitted model (JSON).
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// Mixtures to score (CSV/Parquet; every column but --key is a domain weight).
    #[arg(long)]
    pub mixtures: PathBuf,
    #[arg(long, default_value = "index")]
    pub key: String,
    /// Output table (CSV/Parquet): run, weights, `predicted`.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// Where to write mixture.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Candidates to draw and predict.
    #[arg(long, default_value_t = 1_000_000)]
    pub candidates: usize,
    /// The mixture is the mean of the best top-k candidates.
    #[arg(long, default_value_t = 128)]
    pub top_k: usize,
    /// Bootstrap refits of the regressor for the prediction interval (0: none).
    #[arg(long, default_value_t = 16)]
    pub bootstrap: usize,
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Domain sizes (CSV/Parquet: domain,tokens[,documents]): prior = token share, epoch caps apply.
    #[arg(long)]
    pub domain_tokens: Option<PathBuf>,
    /// Tokens the final training run draws (default: all tokens of --domain-tokens).
    #[arg(long)]
    pub token_budget: Option<u64>,
    /// Most passes over any domain's tokens (with --domain-tokens).
    #[arg(long, default_value_t = 4.0)]
    pub max_epochs: f64,
    /// Lowest weight of a domain, DOMAIN=W (repeatable).
    #[arg(long)]
    pub min_weight: Vec<WeightBound>,
    /// Highest weight of a domain, DOMAIN=W (repeatable).
    #[arg(long)]
    pub max_weight: Vec<WeightBound>,
    /// Exponent on the prior before the Dirichlet draws (RegMix: 0.5).
    #[arg(long, default_value_t = 0.5)]
    pub temperature: f64,
    #[arg(long, default_value_t = 0.1)]
    pub min_strength: f64,
    #[arg(long, default_value_t = 5.0)]
    pub max_strength: f64,
    /// HTML report (default: report.html beside --out).
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub train: RunsArgs,
    /// Test mixtures (joined with --test-metrics on --key).
    #[arg(long)]
    pub test_mixtures: PathBuf,
    #[arg(long)]
    pub test_metrics: PathBuf,
    #[arg(long)]
    pub target: String,
    #[arg(long)]
    pub maximize: bool,
    /// Regressors to compare.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "lightgbm,linear,log_linear,mixing_law"
    )]
    pub regressors: Vec<RegressorKind>,
    /// Training-run counts of the learning curve.
    #[arg(long, value_delimiter = ',', default_value = "32,64,128,256,512")]
    pub curve: Vec<usize>,
    /// Random subsets per learning-curve point.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Query budgets of the CLIMB-against-random study (empty: skip).
    #[arg(long, value_delimiter = ',', default_value = "16,32,64,128")]
    pub climb_queries: Vec<usize>,
    #[arg(long, default_value_t = 3)]
    pub climb_rounds: usize,
    /// Regressor refitted between CLIMB rounds.
    #[arg(long, default_value = "lightgbm")]
    pub climb_regressor: RegressorKind,
    #[arg(long, default_value_t = 5)]
    pub climb_repeats: usize,
    /// Also fit LightGBM on all training runs and search this many candidates, so the
    /// report shows the chosen mixture (0: skip).
    #[arg(long, default_value_t = 1_000_000)]
    pub search_candidates: usize,
    /// Domain sizes for that search (domain,tokens[,documents]): its prior and the
    /// report's natural mixture; without them, the training runs' mean is the reference.
    #[arg(long)]
    pub domain_tokens: Option<PathBuf>,
    #[command(flatten)]
    pub lightgbm: LightGbmArgs,
    /// Folder for evaluation.json, report.html (and model.json + mixture.json with a search).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: MixArgs, progress: &dyn Progress) -> anyhow::Result<()> {
    match args.command {
        MixCommand::Fit(args) => fit(&args),
        MixCommand::Predict(args) => predict(&args),
        MixCommand::Search(args) => search(&args, progress),
        MixCommand::Eval(args) => eval(&args, progress),
    }
}

fn fit(args: &FitArgs) -> anyhow::Result<()> {
    let model = fit_model(
        &args.runs.source(),
        &args.target,
        args.regressor,
        &args.lightgbm.settings(),
        !args.maximize,
    )?;
    model.write(&args.model)?;
    let cv = model.cross_validation.as_ref().map(|cv| cv.quality);
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "model": args.model, "regressor": model.kind(), "runs": model.training.target.len(),
                "domains": model.domains, "target": model.target, "cross_validation": cv })
        );
    } else {
        println!(
            "fitted {} on {} runs × {} domains for `{}`",
            model.kind(),
            model.training.target.len(),
            model.domains.len(),
            model.target
        );
        if let Some(cv) = cv {
            println!(
                "5-fold cross-validation: Spearman ρ {:.4}, R² {:.4}, MAE {:.4}",
                cv.spearman, cv.r_squared, cv.mae
            );
        }
        println!("model: {}", args.model.display());
    }
    Ok(())
}

fn predict(args: &PredictArgs) -> anyhow::Result<()> {
    let model = RegressorModel::read(&args.model)?;
    let mut table = ExperimentTable::read_mixtures(&args.mixtures, &args.key)?;
    let rows = model.align(&table)?;
    let predictions = model.regressor()?.predict(&rows, model.domains.len());
    table.weights = rows;
    table.domains = model.domains.clone();
    table.metric_names = vec![format!("predicted/{}", model.target)];
    table.metrics = vec![predictions.clone()];
    table.write(&args.out)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "out": args.out, "rows": predictions.len(), "target": model.target })
        );
    } else {
        println!(
            "predicted `{}` for {} mixtures: {}",
            model.target,
            predictions.len(),
            args.out.display()
        );
    }
    Ok(())
}

fn search(args: &SearchArgs, progress: &dyn Progress) -> anyhow::Result<()> {
    if !(args.confidence > 0.0 && args.confidence < 1.0) {
        bail!(
            "--confidence must be between 0 and 1, got {}",
            args.confidence
        );
    }
    let request = SearchRequest {
        model: args.model.clone(),
        settings: SearchSettings {
            candidates: args.candidates,
            top_k: args.top_k,
            seed: args.seed,
            bootstrap: args.bootstrap,
            confidence: args.confidence,
            ..SearchSettings::default()
        },
        sampler: SamplerOptions {
            temperature: args.temperature,
            min_strength: args.min_strength,
            max_strength: args.max_strength,
            ..SamplerOptions::default()
        },
        domain_tokens: args.domain_tokens.clone(),
        prior: None,
        token_budget: args.token_budget,
        max_epochs: args.max_epochs,
        min_weights: args.min_weight.clone(),
        max_weights: args.max_weight.clone(),
    };
    let report = args
        .report
        .clone()
        .unwrap_or_else(|| sibling(&args.out, "report.html"));
    let result = search_to_files(
        &MixSearchRequest {
            search: request,
            mixture: args.out.clone(),
            report: report.clone(),
        },
        progress,
    )?;
    let report_path = report;
    let prediction = result
        .mixture
        .prediction
        .as_ref()
        .expect("a searched mixture has a prediction");
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "mixture": args.out, "report": report_path, "weights": result.mixture.domains.iter().map(|d| (d.domain.clone(), serde_json::Value::from(d.weight))).collect::<serde_json::Map<_, _>>(),
                "predicted": prediction.value, "interval": prediction.interval, "target": prediction.target })
        );
    } else {
        for d in &result.mixture.domains {
            println!("{:>32}  {:.4}", d.domain, d.weight);
        }
        print!("predicted {} = {:.4}", prediction.target, prediction.value);
        if let Some([low, high]) = prediction.interval {
            print!(
                " ({:.0}% interval {low:.4} – {high:.4})",
                prediction.confidence * 100.0
            );
        }
        println!();
        println!("mixture: {}", args.out.display());
        println!("report:  {}", report_path.display());
    }
    Ok(())
}

fn eval(args: &EvalArgs, progress: &dyn Progress) -> anyhow::Result<()> {
    let request = MixEvalRequest {
        evaluate: EvaluateRequest {
            train: args.train.source(),
            test: RunsSource::Joined {
                mixtures: args.test_mixtures.clone(),
                metrics: args.test_metrics.clone(),
                key: args.train.joined_key(),
            },
            target: args.target.clone(),
            minimize: !args.maximize,
            regressors: args.regressors.clone(),
            settings: args.lightgbm.settings(),
            curve_sizes: args.curve.clone(),
            curve_repeats: args.repeats,
            climb_queries: args.climb_queries.clone(),
            climb_regressor: args.climb_regressor,
            climb_rounds: args.climb_rounds,
            climb_repeats: args.climb_repeats,
        },
        search_candidates: args.search_candidates,
        domain_tokens: args.domain_tokens.clone(),
        seed: args.lightgbm.seed,
        out: args.out.clone(),
    };
    let outcome = evaluate_to_files(&request, progress)?;
    if args.json {
        let scores: serde_json::Map<String, serde_json::Value> = outcome
            .evaluation
            .scores
            .iter()
            .map(|s| {
                (
                    s.regressor.to_string(),
                    serde_json::to_value(s.quality).unwrap_or_default(),
                )
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({ "evaluation": outcome.evaluation_path, "report": outcome.report_path, "scores": scores })
        );
        return Ok(());
    }
    print_evaluation(&outcome.evaluation, args.climb_repeats);
    println!(
        "\nevaluation: {}\nreport:     {}",
        outcome.evaluation_path.display(),
        outcome.report_path.display()
    );
    Ok(())
}

/// The evaluation's tables: regressors, the learning curve, CLIMB against random.
fn print_evaluation(evaluation: &EvaluationReport, climb_repeats: usize) {
    println!(
        "{} training runs → {} test runs, target `{}`",
        evaluation.train_runs, evaluation.test_runs, evaluation.target
    );
    println!(
        "{:<12} {:>10} {:>8} {:>8} {:>8}",
        "regressor", "spearman", "R²", "MAE", "fit s"
    );
    for s in &evaluation.scores {
        println!(
            "{:<12} {:>10.4} {:>8.4} {:>8.4} {:>8.2}",
            s.regressor.to_string(),
            s.quality.spearman,
            s.quality.r_squared,
            s.quality.mae,
            s.fit_seconds
        );
    }
    if !evaluation.learning_curve.is_empty() {
        println!("\nρ against training runs (mean [min, max] over repeats):");
        for p in &evaluation.learning_curve {
            println!(
                "{:<12} {:>5} runs  {:.4} [{:.4}, {:.4}]",
                p.regressor.to_string(),
                p.training_runs,
                p.spearman_mean,
                p.spearman_low,
                p.spearman_high
            );
        }
    }
    if !evaluation.climb.is_empty() {
        println!(
            "\nStrategies on the pool of recorded runs: random, CLIMB rounds, Bayesian optimisation, RegMix one shot (mean over {} repeats):",
            climb_repeats
        );
        println!(
            "{:<10} {:>8} {:>12} {:>10}",
            "strategy", "queries", "best found", "test ρ"
        );
        for p in &evaluation.climb {
            println!(
                "{:<10} {:>8} {:>12.4} {:>10.4}",
                p.strategy.name(),
                p.queries,
                p.best_found_mean,
                p.spearman_mean
            );
        }
    }
}

fn sibling(path: &Path, name: &str) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from(name), |p| p.join(name))
}
