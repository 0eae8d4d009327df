//! `report.json`: the report's figures as one JSON object, for dashboards: the funnel with
//! each stage's cost and rates, the later steps, natural / prior / chosen weights with the
//! prediction, the validation, the regressor's out-of-fold fit, the proxy runs, and the
//! shards. The HTML report's "Time and memory" section reads the same rows.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::engine::mixture_summary::ValidationSummary;
use crate::engine::step_cost::StepCost;
use crate::engine::summary::{RunSummary, StageSummary};

pub const FIGURES_FILE: &str = "report.json";

#[derive(Debug, Serialize)]
pub struct ReportFigures {
    pub pipeline: String,
    pub blend_version: String,
    pub seed: u64,
    pub funnel: Vec<StageFigures>,
    pub steps: Vec<StepFigures>,
    pub mixture: MixtureFigures,
    pub validation: Option<ValidationFigures>,
    pub regressor: Option<RegressorFigures>,
    pub proxy_runs: Vec<RunFigures>,
    pub shards: BTreeMap<String, SplitFigures>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct StageFigures {
    pub stage: String,
    pub operator: String,
    pub rows_in: u64,
    pub rows_out: u64,
    pub text_bytes_in: u64,
    pub text_bytes_out: u64,
    /// Documents removed by each filter rule.
    pub removed_by_rule: BTreeMap<String, u64>,
    pub seconds: Option<f64>,
    pub rows_per_second: Option<f64>,
    /// Megabytes (10⁶ bytes) of input text per second.
    pub mb_per_second: Option<f64>,
    pub peak_rss_mb: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct StepFigures {
    pub step: String,
    pub reused_in_this_run: bool,
    pub seconds: Option<f64>,
    pub peak_rss_mb: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct DomainFigures {
    pub domain: String,
    pub natural: Option<f64>,
    pub prior: Option<f64>,
    pub chosen: f64,
    pub tokens_drawn: Option<u64>,
    pub epochs: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct MixtureFigures {
    pub method: String,
    pub prior: Option<String>,
    pub domains: Vec<DomainFigures>,
    pub predicted_target: Option<String>,
    pub predicted: Option<f64>,
    pub predicted_interval: Option<[f64; 2]>,
    /// The regressor's prediction for the natural mixture, when a search ran.
    pub natural_predicted: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ValidationFigures {
    pub target: String,
    pub steps: usize,
    pub seeds: Vec<u64>,
    pub chosen: Vec<f64>,
    pub natural: Vec<f64>,
    pub chosen_mean: f64,
    pub chosen_sd: f64,
    pub natural_mean: f64,
    pub natural_sd: f64,
}

#[derive(Debug, Serialize)]
pub struct RegressorFigures {
    pub kind: String,
    pub target: String,
    pub runs: usize,
    pub spearman: Option<f64>,
    pub r_squared: Option<f64>,
    pub mae: Option<f64>,
    /// (measured, predicted out of fold) per training run.
    pub out_of_fold: Vec<(f64, f64)>,
}

#[derive(Debug, Serialize)]
pub struct RunFigures {
    pub run: usize,
    pub weights: Vec<f64>,
    pub target: f64,
}

#[derive(Debug, Serialize)]
pub struct SplitFigures {
    pub documents: u64,
    pub tokens: u64,
    pub tokens_per_domain: BTreeMap<String, u64>,
    pub epochs_per_domain: BTreeMap<String, f64>,
}

fn megabytes(bytes: Option<u64>) -> Option<f64> {
    bytes.map(|b| b as f64 / 1e6)
}

impl StageFigures {
    pub fn of(stage: &StageSummary) -> Self {
        let seconds = stage.cost.map(|c| c.seconds);
        let per_second = |amount: u64| seconds.filter(|s| *s > 0.0).map(|s| amount as f64 / s);
        Self {
            stage: stage.name.clone(),
            operator: stage.operator.clone(),
            rows_in: stage.rows_in,
            rows_out: stage.rows_out,
            text_bytes_in: stage.text_bytes_in,
            text_bytes_out: stage.text_bytes_out,
            removed_by_rule: stage
                .filter
                .iter()
                .flat_map(|f| f.rules.iter().map(|r| (r.name.clone(), r.removed_docs)))
                .collect(),
            seconds,
            rows_per_second: per_second(stage.rows_in),
            mb_per_second: per_second(stage.text_bytes_in).map(|b| b / 1e6),
            peak_rss_mb: megabytes(stage.cost.and_then(|c| c.peak_rss_bytes)),
        }
    }
}

impl StepFigures {
    fn of(name: &str, reused: bool, cost: Option<StepCost>) -> Self {
        Self {
            step: name.to_string(),
            reused_in_this_run: reused,
            seconds: cost.map(|c| c.seconds),
            peak_rss_mb: megabytes(cost.and_then(|c| c.peak_rss_bytes)),
        }
    }
}

/// Each run's mixture and value of `target`.
fn run_figures(
    runs: &[crate::engine::mixture_summary::RecordedRun],
    target: &str,
) -> Vec<RunFigures> {
    runs.iter()
        .map(|r| RunFigures {
            run: r.run,
            weights: r.weights.clone(),
            target: r.target(target),
        })
        .collect()
}

impl ReportFigures {
    pub fn of(summary: &RunSummary) -> Self {
        let choice = summary.mixture_choice.as_ref();
        let search = choice.and_then(|c| c.search.as_ref());
        Self {
            pipeline: summary.pipeline.clone(),
            blend_version: summary.blend_version.clone(),
            seed: summary.seed,
            funnel: summary.stages.iter().map(StageFigures::of).collect(),
            steps: summary
                .steps
                .iter()
                .map(|s| StepFigures::of(&s.name, s.reused, s.cost))
                .collect(),
            mixture: mixture_figures(summary),
            validation: choice
                .and_then(|c| c.validation.as_ref())
                .map(validation_figures),
            regressor: search.map(|s| {
                let model = &s.model;
                let cv = model.cross_validation.as_ref();
                RegressorFigures {
                    kind: model.kind().to_string(),
                    target: model.target.clone(),
                    runs: model.training.target.len(),
                    spearman: cv.map(|c| c.quality.spearman),
                    r_squared: cv.map(|c| c.quality.r_squared),
                    mae: cv.map(|c| c.quality.mae),
                    out_of_fold: cv.map_or_else(Vec::new, |c| {
                        model
                            .training
                            .target
                            .iter()
                            .copied()
                            .zip(c.predictions.iter().copied())
                            .collect()
                    }),
                }
            }),
            proxy_runs: match (search, choice.and_then(|c| c.method_runs.as_ref())) {
                (Some(s), _) => run_figures(&s.runs, &s.model.target),
                (None, Some(m)) => run_figures(&m.runs, &m.target),
                (None, None) => Vec::new(),
            },
            shards: summary
                .shards
                .splits
                .iter()
                .map(|(name, split)| {
                    let figures = SplitFigures {
                        documents: split.documents,
                        tokens: split.tokens,
                        tokens_per_domain: split.tokens_per_domain.clone(),
                        epochs_per_domain: split.epochs_per_domain.clone(),
                    };
                    (name.clone(), figures)
                })
                .collect(),
            warnings: summary.warnings.clone(),
        }
    }

    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("figures serialize");
        json.push('\n');
        json
    }
}

fn mixture_figures(summary: &RunSummary) -> MixtureFigures {
    let choice = summary.mixture_choice.as_ref();
    let train = summary.shards.splits.get("train");
    let position = |domain: &str| choice.and_then(|c| c.domains.iter().position(|d| d == domain));
    let prediction = summary.mixture.prediction.as_ref();
    MixtureFigures {
        method: summary.mixture.method.clone(),
        prior: choice
            .and_then(|c| c.prior.as_ref())
            .map(|p| p.name.clone()),
        domains: summary
            .mixture
            .domains
            .iter()
            .map(|d| {
                let at = position(&d.domain);
                DomainFigures {
                    domain: d.domain.clone(),
                    natural: at.map(|i| choice.expect("position implies a choice").natural[i]),
                    prior: at
                        .and_then(|i| choice.and_then(|c| c.prior.as_ref()).map(|p| p.weights[i])),
                    chosen: d.weight,
                    tokens_drawn: train
                        .and_then(|t| t.tokens_per_domain.get(&d.domain))
                        .copied(),
                    epochs: train
                        .and_then(|t| t.epochs_per_domain.get(&d.domain))
                        .copied(),
                }
            })
            .collect(),
        predicted_target: prediction.map(|p| p.target.clone()),
        predicted: prediction.map(|p| p.value),
        predicted_interval: prediction.and_then(|p| p.interval),
        natural_predicted: choice
            .and_then(|c| c.search.as_ref())
            .map(|s| s.natural_predicted),
    }
}

fn validation_figures(validation: &ValidationSummary) -> ValidationFigures {
    let (chosen_mean, chosen_sd) = ValidationSummary::mean_sd(&validation.chosen);
    let (natural_mean, natural_sd) = ValidationSummary::mean_sd(&validation.natural);
    ValidationFigures {
        target: validation.target.clone(),
        steps: validation.steps,
        seeds: validation.seeds.clone(),
        chosen: validation.chosen.clone(),
        natural: validation.natural.clone(),
        chosen_mean,
        chosen_sd,
        natural_mean,
        natural_sd,
    }
}
