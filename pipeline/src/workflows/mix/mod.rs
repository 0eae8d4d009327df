//! The work behind `blend mix fit | predict | search | eval`: read experiment tables, fit
//! and store regressors, and evaluate regressors and CLIMB rounds on held-out runs (the
//! search itself is the engine's [`crate::engine::mixture_search`]). The CLI only parses
//! flags and prints; everything here is testable without it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use blend_datasets::files::sha256_file;
use blend_mixers::climb::{Pool, pool_study};
use blend_mixers::evaluation::{EvaluationReport, Split, learning_curve, score_regressors};
use blend_mixers::{ExperimentTable, FitSettings, RegressorKind, RegressorModel, RunsLayout};

use blend_mixers::SearchSettings;

use super::write_output;
use crate::Result;
use crate::engine::mixture_search::{SamplerOptions, SearchRequest, SearchResult, search_mixture};
use crate::progress::Progress;
use crate::report::{MixReport, render_mix_report};

/// Where recorded runs come from: one table, or mixtures and metrics joined by a key.
#[derive(Debug, Clone)]
pub enum RunsSource {
    Runs {
        path: PathBuf,
        layout: RunsLayout,
    },
    Joined {
        mixtures: PathBuf,
        metrics: PathBuf,
        key: String,
    },
}

impl RunsSource {
    pub fn read(&self) -> Result<ExperimentTable> {
        Ok(match self {
            Self::Runs { path, layout } => ExperimentTable::read_runs(path, layout)?,
            Self::Joined {
                mixtures,
                metrics,
                key,
            } => ExperimentTable::read_joined(mixtures, metrics, key)?,
        })
    }

    fn paths(&self) -> Vec<&Path> {
        match self {
            Self::Runs { path, .. } => vec![path],
            Self::Joined {
                mixtures, metrics, ..
            } => vec![mixtures, metrics],
        }
    }

    /// sha256 of each input file, by path.
    pub fn hashes(&self) -> Result<BTreeMap<String, String>> {
        self.paths()
            .into_iter()
            .map(|p| Ok((p.display().to_string(), sha256_file(p)?)))
            .collect()
    }
}

/// Fits `kind` on `source`'s `target` (with its k-fold cross-validation).
pub fn fit_model(
    source: &RunsSource,
    target: &str,
    kind: RegressorKind,
    settings: &FitSettings,
    minimize: bool,
) -> Result<RegressorModel> {
    let table = source.read()?;
    Ok(RegressorModel::fit(
        &table,
        target,
        kind,
        settings,
        minimize,
        source.hashes()?,
    )?)
}

/// What `blend mix eval` measures.
#[derive(Debug, Clone)]
pub struct EvaluateRequest {
    pub train: RunsSource,
    pub test: RunsSource,
    pub target: String,
    pub minimize: bool,
    pub regressors: Vec<RegressorKind>,
    pub settings: FitSettings,
    pub curve_sizes: Vec<usize>,
    pub curve_repeats: usize,
    pub climb_queries: Vec<usize>,
    /// The regressor CLIMB refits between rounds (and judges both strategies with).
    pub climb_regressor: RegressorKind,
    pub climb_rounds: usize,
    pub climb_repeats: usize,
}

pub fn evaluate(request: &EvaluateRequest, progress: &dyn Progress) -> Result<EvaluationReport> {
    let train = request.train.read()?;
    let test = request.test.read()?;
    let train_y = train.target(&request.target)?;
    let test_y = test.target(&request.target)?;
    let test_weights = test.weights_for(&train.domains)?;
    let d = train.domains.len();
    let split = Split {
        domains: d,
        train_weights: &train.weights,
        train_target: &train_y,
        test_weights: &test_weights,
        test_target: &test_y,
    };
    let steps = 1
        + u64::from(!request.curve_sizes.is_empty())
        + u64::from(!request.climb_queries.is_empty());
    let bar = progress.start("evaluate", Some(steps), "steps");
    let scores = score_regressors(split, &request.regressors, &request.settings)?;
    bar.advance(1);
    let sizes: Vec<usize> = request
        .curve_sizes
        .iter()
        .copied()
        .filter(|&s| s <= train_y.len())
        .collect();
    let curve_kinds: Vec<RegressorKind> = request
        .regressors
        .iter()
        .copied()
        .filter(|k| matches!(k, RegressorKind::LightGbm | RegressorKind::Linear))
        .collect();
    let curve = if sizes.is_empty() {
        Vec::new()
    } else {
        learning_curve(
            split,
            &sizes,
            request.curve_repeats,
            &curve_kinds,
            &request.settings,
        )?
    };
    if !request.curve_sizes.is_empty() {
        bar.advance(1);
    }
    let queries: Vec<usize> = request
        .climb_queries
        .iter()
        .copied()
        .filter(|&q| q <= train_y.len())
        .collect();
    let climb = if queries.is_empty() {
        Vec::new()
    } else {
        let pool = Pool {
            domains: d,
            weights: &train.weights,
            target: &train_y,
            test_weights: &test_weights,
            test_target: &test_y,
            minimize: request.minimize,
        };
        pool_study(
            pool,
            &queries,
            request.climb_rounds,
            request.climb_repeats,
            request.climb_regressor,
            &request.settings,
        )?
    };
    if !request.climb_queries.is_empty() {
        bar.advance(1);
    }
    bar.finish("evaluated");
    Ok(EvaluationReport {
        target: request.target.clone(),
        domains: train.domains.clone(),
        train_runs: train_y.len(),
        test_runs: test_y.len(),
        settings: request.settings.clone(),
        scores,
        test_target: test_y,
        learning_curve: curve,
        climb,
    })
}

/// `blend mix search`: a search, written as `mixture.json` with its report.
#[derive(Debug, Clone)]
pub struct MixSearchRequest {
    pub search: SearchRequest,
    /// Where `mixture.json` goes.
    pub mixture: PathBuf,
    pub report: PathBuf,
}

pub fn search_to_files(
    request: &MixSearchRequest,
    progress: &dyn Progress,
) -> Result<SearchResult> {
    let result = search_mixture(&request.search, progress)?;
    write_output(&request.mixture, &result.mixture.to_json())?;
    let html = render_mix_report(&MixReport {
        title: "blend mixture search".into(),
        evaluation: None,
        model: Some(&result.model),
        mixture: Some(&result.mixture),
        reference: Some(result.reference.clone()),
    });
    write_output(&request.report, &html)?;
    Ok(result)
}

/// `blend mix eval`: the evaluation, and optionally a LightGBM fit on every training run
/// with a search, so the report shows the mixture it chooses.
#[derive(Debug, Clone)]
pub struct MixEvalRequest {
    pub evaluate: EvaluateRequest,
    /// Candidates of the search after the evaluation (0: no search).
    pub search_candidates: usize,
    /// Domain sizes for that search (its prior and the report's natural mixture).
    pub domain_tokens: Option<PathBuf>,
    pub seed: u64,
    /// Folder for `evaluation.json`, `report.html` (and `model.json`, `mixture.json`).
    pub out: PathBuf,
}

#[derive(Debug)]
pub struct MixEvalOutcome {
    pub evaluation: EvaluationReport,
    pub evaluation_path: PathBuf,
    pub report_path: PathBuf,
    pub searched: Option<SearchResult>,
}

pub fn evaluate_to_files(
    request: &MixEvalRequest,
    progress: &dyn Progress,
) -> Result<MixEvalOutcome> {
    let evaluation = evaluate(&request.evaluate, progress)?;
    let evaluation_path = request.out.join("evaluation.json");
    let json = serde_json::to_string_pretty(&evaluation).expect("evaluation serializes") + "\n";
    write_output(&evaluation_path, &json)?;
    let searched = if request.search_candidates > 0 {
        Some(search_all_runs(request, progress)?)
    } else {
        None
    };
    let report_path = request.out.join("report.html");
    let html = render_mix_report(&MixReport {
        title: "blend mixture regression: held-out evaluation".into(),
        evaluation: Some(&evaluation),
        model: searched.as_ref().map(|r| &r.model),
        mixture: searched.as_ref().map(|r| &r.mixture),
        reference: searched.as_ref().map(|r| r.reference.clone()),
    });
    write_output(&report_path, &html)?;
    Ok(MixEvalOutcome {
        evaluation,
        evaluation_path,
        report_path,
        searched,
    })
}

/// Fits LightGBM on every training run of the evaluation and searches its mixture.
fn search_all_runs(request: &MixEvalRequest, progress: &dyn Progress) -> Result<SearchResult> {
    let evaluate = &request.evaluate;
    let model_path = request.out.join("model.json");
    std::fs::create_dir_all(&request.out).map_err(|e| crate::PipelineError::io(&request.out, e))?;
    fit_model(
        &evaluate.train,
        &evaluate.target,
        RegressorKind::LightGbm,
        &evaluate.settings,
        evaluate.minimize,
    )?
    .write(&model_path)?;
    let search = SearchRequest {
        model: model_path,
        settings: SearchSettings {
            candidates: request.search_candidates,
            seed: request.seed,
            ..SearchSettings::default()
        },
        sampler: SamplerOptions::default(),
        domain_tokens: request.domain_tokens.clone(),
        prior: None,
        token_budget: None,
        max_epochs: 4.0,
        min_weights: Vec::new(),
        max_weights: Vec::new(),
    };
    let result = search_mixture(&search, progress)?;
    write_output(&request.out.join("mixture.json"), &result.mixture.to_json())?;
    Ok(result)
}
