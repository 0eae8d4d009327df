//! Mixture search end to end: RegMix's published 1M-proxy runs (512 train, 256 test; skipped,
//! saying so, when ../shared/data is absent) must give the paper's rank correlations, and a
//! planted law on a synthetic runs table must lead `fit` → `search` to the mixture it
//! rewards, within the epoch caps, into a `mixture.json` that reads back.

use std::path::{Path, PathBuf};

use blend_mixers::climb::Strategy;
use blend_mixers::experiment_table::WEIGHT_PREFIX;
use blend_mixers::regressors::MixingLaw;
use blend_mixers::{
    ExperimentTable, FitSettings, Mixture, RegressorKind, RegressorModel, RunsLayout,
    SamplerConfig, SearchSettings,
};
use blend_pipeline::NoProgress;
use blend_pipeline::engine::mixture_search::{
    SamplerOptions, SearchRequest, WeightBound, search_mixture,
};
use blend_pipeline::workflows::mix::{EvaluateRequest, RunsSource, evaluate, fit_model};

use blend_tests::shared_data;

const PILE_CC_LOSS: &str = "metric/the_pile_pile_cc_val_loss";

fn regmix(data: &Path, split: &str) -> RunsSource {
    RunsSource::Joined {
        mixtures: data.join(format!("regmix/{split}_mixture_1m.csv")),
        metrics: data.join(format!("regmix/{split}_pile_loss_1m.csv")),
        key: "index".into(),
    }
}

#[test]
fn regmix_runs_reach_the_papers_rank_correlation() {
    let Some(data) = shared_data() else { return };
    let request = EvaluateRequest {
        train: regmix(&data, "train"),
        test: regmix(&data, "test"),
        target: PILE_CC_LOSS.into(),
        minimize: true,
        regressors: vec![RegressorKind::LightGbm, RegressorKind::Linear],
        settings: FitSettings::default(),
        curve_sizes: vec![128],
        curve_repeats: 5,
        climb_queries: vec![],
        climb_regressor: RegressorKind::LightGbm,
        climb_rounds: 3,
        climb_repeats: 0,
    };
    let evaluation = evaluate(&request, &NoProgress).unwrap();
    assert_eq!((evaluation.train_runs, evaluation.test_runs), (512, 256));
    assert_eq!(evaluation.domains.len(), 17);
    assert_eq!(
        evaluation.domains[0], "arxiv",
        "the `train_the_pile_` prefix is dropped"
    );
    let lightgbm = evaluation.score(RegressorKind::LightGbm).unwrap().quality;
    let linear = evaluation.score(RegressorKind::Linear).unwrap().quality;
    eprintln!("RegMix 1M, Pile-CC loss: lightgbm {lightgbm:?}, linear {linear:?}");
    assert!(
        lightgbm.spearman >= 0.99,
        "LightGBM ρ {} < 0.99 (RegMix: 0.990)",
        lightgbm.spearman
    );
    assert!(
        linear.spearman >= 0.90,
        "linear ρ {} < 0.90 (RegMix: 0.902)",
        linear.spearman
    );
    let from_128 = evaluation
        .learning_curve
        .iter()
        .find(|p| p.regressor == RegressorKind::LightGbm && p.training_runs == 128)
        .unwrap();
    eprintln!("LightGBM from 128 runs: {from_128:?}");
    assert!(
        from_128.spearman_mean >= 0.97,
        "ρ from 128 runs {} < 0.97",
        from_128.spearman_mean
    );
}

#[test]
fn climb_rounds_find_better_runs_than_random_picks_on_regmix() {
    let Some(data) = shared_data() else { return };
    let request = EvaluateRequest {
        train: regmix(&data, "train"),
        test: regmix(&data, "test"),
        target: PILE_CC_LOSS.into(),
        minimize: true,
        regressors: vec![RegressorKind::Linear],
        settings: FitSettings::default(),
        curve_sizes: vec![],
        curve_repeats: 1,
        climb_queries: vec![64],
        climb_regressor: RegressorKind::LightGbm,
        climb_rounds: 3,
        climb_repeats: 3,
    };
    let evaluation = evaluate(&request, &NoProgress).unwrap();
    let random = evaluation
        .climb
        .iter()
        .find(|p| p.strategy == Strategy::Random)
        .unwrap();
    let climb = evaluation
        .climb
        .iter()
        .find(|p| p.strategy == Strategy::Climb)
        .unwrap();
    eprintln!("random {random:?}\nclimb {climb:?}");
    assert!(
        climb.best_found_mean < random.best_found_mean,
        "CLIMB's best run {} is not below random's {}",
        climb.best_found_mean,
        random.best_found_mean
    );
    assert!(random.spearman_mean > 0.8 && climb.spearman_mean.is_finite());
}

#[test]
fn search_on_regmix_writes_a_valid_mixture() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = fit_model(
        &regmix(&data, "train"),
        PILE_CC_LOSS,
        RegressorKind::LightGbm,
        &FitSettings::default(),
        true,
    )
    .unwrap();
    let cv = model.cross_validation.as_ref().unwrap();
    assert!(
        cv.quality.spearman > 0.97,
        "5-fold ρ {}",
        cv.quality.spearman
    );
    let model_path = dir.path().join("model.json");
    model.write(&model_path).unwrap();
    let request = SearchRequest {
        model: model_path,
        settings: SearchSettings {
            candidates: 100_000,
            bootstrap: 4,
            ..SearchSettings::default()
        },
        sampler: SamplerOptions::default(),
        domain_tokens: None,
        prior: None,
        token_budget: Some(25_000_000_000),
        max_epochs: 4.0,
        min_weights: vec![],
        max_weights: vec![],
    };
    let result = search_mixture(&request, &NoProgress).unwrap();
    let out = dir.path().join("mixture.json");
    std::fs::write(&out, result.mixture.to_json()).unwrap();
    let read = Mixture::read(&out).unwrap();
    assert_eq!(read, result.mixture);
    assert_eq!(
        read.domains.iter().map(|d| d.tokens).sum::<u64>(),
        25_000_000_000
    );
    let prediction = read.prediction.unwrap();
    let [low, high] = prediction.interval.unwrap();
    assert!(low <= high);
    // RegMix's finding on the 1M runs: Pile-CC loss is lowest with much Pile-CC in the mix,
    // and the searched mixture beats every training run's measured loss at its own prediction.
    let weight = |name: &str| {
        read.domains
            .iter()
            .find(|d| d.domain == name)
            .unwrap()
            .weight
    };
    assert!(
        weight("pile_cc") > 0.3,
        "pile_cc weight {}",
        weight("pile_cc")
    );
    let best_run = model
        .training
        .target
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    assert!(
        prediction.value < best_run + 0.05,
        "predicted {} vs best run {best_run}",
        prediction.value
    );
}

/// 300 runs over four domains of a planted data-mixing law, rounded like proxy results.
fn planted_runs(dir: &Path, name: &str) -> (PathBuf, MixingLaw) {
    let law = MixingLaw {
        floor: 2.0,
        log_scale: 0.8,
        exponents: vec![-2.5, -0.5, 0.4, 0.0],
    };
    let domains: Vec<String> = ["books", "code", "spam", "web"].map(String::from).to_vec();
    let mut sampler = SamplerConfig::regmix(vec![0.25; 4]);
    sampler.temperature = 1.0;
    let weights = sampler.sample(300, 3).unwrap();
    let loss: Vec<f64> = weights
        .chunks(4)
        .map(|w| (law.predict_row(w) * 1e4).round() / 1e4)
        .collect();
    let table = ExperimentTable {
        run_ids: (1..=300).map(|i| format!("run-{i:03}")).collect(),
        domains,
        weights,
        metric_names: vec!["loss/web".into(), "loss/unused".into()],
        metrics: vec![loss, vec![f64::NAN; 300]],
        origin: String::new(),
    };
    let path = dir.join(name);
    table.write(&path).unwrap();
    (path, law)
}

#[test]
fn fit_and_search_follow_a_planted_law_within_epoch_caps() {
    let dir = tempfile::tempdir().unwrap();
    for (name, kind) in [
        ("runs.csv", RegressorKind::MixingLaw),
        ("runs.parquet", RegressorKind::LightGbm),
    ] {
        let (runs, law) = planted_runs(dir.path(), name);
        let source = RunsSource::Runs {
            path: runs,
            layout: RunsLayout::default(),
        };
        let model = fit_model(&source, "loss/web", kind, &FitSettings::default(), true).unwrap();
        assert!(
            model.cross_validation.as_ref().unwrap().quality.spearman > 0.95,
            "{kind}"
        );
        let error = fit_model(&source, "loss/unused", kind, &FitSettings::default(), true)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("run-001") && error.contains("loss/unused"),
            "{error}"
        );
        let model_path = dir.path().join(format!("{name}.model.json"));
        model.write(&model_path).unwrap();
        assert_eq!(RegressorModel::read(&model_path).unwrap(), model);

        // books is the domain the law rewards; it holds only 1000 tokens, so 4 epochs of a
        // 10000-token budget cap it at 0.4. spam is capped by hand at 0.01.
        let sizes = dir.path().join("domains.csv");
        std::fs::write(
            &sizes,
            "domain,tokens,documents\nbooks,1000,10\ncode,5000,50\nspam,20000,200\nweb,30000,300\n",
        )
        .unwrap();
        let request = SearchRequest {
            model: model_path.clone(),
            settings: SearchSettings {
                candidates: 50_000,
                bootstrap: 3,
                ..SearchSettings::default()
            },
            sampler: SamplerOptions::default(),
            domain_tokens: Some(sizes),
            prior: None,
            token_budget: Some(10_000),
            max_epochs: 4.0,
            min_weights: vec![],
            max_weights: vec![WeightBound {
                domain: "spam".into(),
                value: 0.01,
            }],
        };
        let result = search_mixture(&request, &NoProgress).unwrap();
        let mixture = &result.mixture;
        mixture.validate().unwrap();
        let books = &mixture.domains[0];
        assert_eq!(books.domain, "books");
        assert!(
            books.weight <= 0.4 + 1e-9 && books.weight > 0.3,
            "{kind}: books {}",
            books.weight
        );
        assert!(
            books.epochs <= 4.0 + 1e-3 && books.available_tokens == 1000 && books.documents == 10
        );
        assert!(
            mixture.domains[2].weight <= 0.01 + 1e-9,
            "{kind}: spam {}",
            mixture.domains[2].weight
        );
        assert_eq!(mixture.total_tokens, 10_000);
        let weights: Vec<f64> = mixture.domains.iter().map(|d| d.weight).collect();
        let truth = law.predict_row(&weights);
        let prediction = mixture.prediction.as_ref().unwrap();
        assert!(
            (prediction.value - truth).abs() < 0.05,
            "{kind}: predicted {} vs true {truth}",
            prediction.value
        );
        assert!(
            mixture.inputs.keys().any(|k| k.starts_with("model:")) && mixture.inputs.len() == 3,
            "{:?}",
            mixture.inputs
        );
        let again = search_mixture(&request, &NoProgress).unwrap();
        assert_eq!(
            again.mixture.to_json(),
            mixture.to_json(),
            "{kind}: same inputs, same bytes"
        );
    }
}

#[test]
fn a_runs_table_with_other_columns_reads_by_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.csv");
    std::fs::write(&path, format!("run,{WEIGHT_PREFIX}a,{WEIGHT_PREFIX}b,steps,loss\nx,0.5,0.5,100,3.5\ny,0.2,0.8,100,3.0\n")).unwrap();
    let table = ExperimentTable::read_runs(&path, &RunsLayout::default()).unwrap();
    assert_eq!(table.domains, ["a", "b"]);
    assert_eq!(table.metric_names, ["steps", "loss"]);
    let inputs = RunsSource::Runs {
        path,
        layout: RunsLayout::default(),
    }
    .hashes()
    .unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!(
        inputs.values().next().unwrap().len(),
        64,
        "a sha256 per input file"
    );
}
