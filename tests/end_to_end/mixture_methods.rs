//! The mixture methods beyond RegMix, each as `[mixture] method` of one pipeline file on the
//! synthetic corpus (small settings), sharing one work folder so curation runs once:
//! QuaDMix (documents drawn by quality rank), multi-fidelity Bayesian optimisation, and
//! online reweighting (Aioli, DoReMi). Each writes its mixture, draws exact-budget shards by
//! it, and is reused whole when run again.

use std::path::Path;

use blend_datasets::shards::{ShardManifest, verify_shards};
use blend_mixers::Mixture;
use blend_pipeline::engine::config::{
    BayesOptConfig, MixtureConfig, MixtureMethod, OnlineConfig, PipelineConfig, QuadMixConfig,
    ShardsConfig, ValidateConfig,
};
use blend_pipeline::{NoProgress, RunOutcome, run_pipeline_blocking};
use blend_proxy_train::OnlineAlgorithm;
use blend_tests::{demo_config, synthetic_corpus};

const BUDGET: u64 = 40_000;
const PROXIES: usize = 4;
const STEPS: usize = 12;

fn small(method: MixtureMethod) -> MixtureConfig {
    MixtureConfig {
        method,
        proxies: PROXIES,
        steps: STEPS,
        sequence_length: 32,
        batch_size: 4,
        vocab_size: Some(300),
        candidates: 4000,
        top_k: 20,
        bootstrap: 2,
        ..MixtureConfig::default()
    }
}

/// Writes `config` to `path`, loads it back as a user's file would be, and runs it; the
/// error as the user reads it.
fn try_run(config: &PipelineConfig, path: &Path) -> Result<RunOutcome, String> {
    std::fs::write(path, config.to_toml()).unwrap();
    let loaded = PipelineConfig::load(path).unwrap();
    run_pipeline_blocking(&loaded, path, &NoProgress).map_err(|e| e.to_string())
}

fn run(config: &PipelineConfig, path: &Path) -> RunOutcome {
    try_run(config, path).unwrap()
}

/// The mixture is on the simplex and the final shards hold exactly its budget.
fn check_mixture_and_shards(outcome: &RunOutcome, method: &str) -> Mixture {
    let mixture = Mixture::read(&outcome.mixture_path).unwrap();
    mixture.validate().unwrap();
    assert_eq!(mixture.method, method);
    assert_eq!(mixture.total_tokens, BUDGET);
    verify_shards(&outcome.shards_dir).unwrap();
    let train = &ShardManifest::read(&outcome.shards_dir).unwrap().splits["train"];
    assert_eq!(train.budget_per_domain.values().sum::<u64>(), BUDGET);
    for domain in &mixture.domains {
        let got = train
            .tokens_per_domain
            .get(&domain.domain)
            .copied()
            .unwrap_or(0);
        assert!(
            got.abs_diff(domain.tokens) < 2_000,
            "{method} {}: {got} for {}",
            domain.domain,
            domain.tokens
        );
    }
    let report = std::fs::read_to_string(&outcome.report_path).unwrap();
    assert!(report.contains("Mixture choice") && report.contains("Proxies"));
    mixture
}

#[test]
fn quadmix_bayes_opt_and_online_reweighting_each_choose_a_mixture_from_one_pipeline_file() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = synthetic_corpus(dir.path(), 1200, 5);
    let (mut config, path) = demo_config(dir.path(), &corpus.corpus_dir, 5);
    config.shards = Some(ShardsConfig::new(BUDGET));

    // QuaDMix: proxies on documents drawn by the classifier's and language id's scores.
    config.mixture = MixtureConfig {
        quadmix: Some(QuadMixConfig {
            quality: vec!["quality_score".into(), "lang_score".into()],
            lower_is_better: Vec::new(),
            epsilon: 1e-3,
            top: 5,
        }),
        validate: Some(ValidateConfig {
            steps: 16,
            seeds: 1,
        }),
        ..small(MixtureMethod::Quadmix)
    };
    let quadmix = run(&config, &path);
    let mixture = check_mixture_and_shards(&quadmix, "quadmix");
    let sampling = mixture
        .sampling
        .as_ref()
        .expect("the sampling function is written");
    assert_eq!(sampling.quality_columns, ["quality_score", "lang_score"]);
    assert_eq!(sampling.domains.len(), mixture.domains.len());
    let choice = quadmix.summary.mixture_choice.as_ref().unwrap();
    let search = choice.search.as_ref().unwrap();
    assert_eq!(search.runs.len(), PROXIES);
    assert_eq!(search.model.domains.len(), 4 * mixture.domains.len() + 2);
    // Different parameters draw different data: the runs' effective weights differ.
    assert_ne!(search.runs[0].weights, search.runs[1].weights);
    assert_eq!(choice.validation.as_ref().unwrap().chosen.len(), 1);
    let again = run(&config, &path);
    assert!(
        again.cached.contains(&"proxy_runs".to_string()),
        "{:?}",
        again.cached
    );
    assert_eq!(
        std::fs::read(&again.mixture_path).unwrap(),
        std::fs::read(&quadmix.mixture_path).unwrap()
    );

    // Bayesian optimisation: half-length runs cost half; the budget is 4 full runs.
    config.mixture = MixtureConfig {
        bayes_opt: Some(BayesOptConfig {
            fidelities: vec![0.5, 1.0],
            initial: 2,
            candidates: 500,
        }),
        ..small(MixtureMethod::BayesOpt)
    };
    let bo = run(&config, &path);
    let mixture = check_mixture_and_shards(&bo, "bayes_opt");
    assert!(mixture.prediction.is_some());
    let runs = bo
        .summary
        .mixture_choice
        .as_ref()
        .unwrap()
        .method_runs
        .as_ref()
        .unwrap();
    assert_eq!(runs.steps.len(), runs.runs.len());
    assert_eq!(
        runs.steps[..2],
        [STEPS / 2, STEPS],
        "the design alternates fidelities"
    );
    let spent: usize = runs.steps.iter().sum();
    assert!(spent <= PROXIES * STEPS, "{:?}", runs.steps);
    assert!(
        runs.runs.len() > 2,
        "BO proposed runs after its design: {:?}",
        runs.steps
    );

    // Online reweighting: Aioli, then DoReMi with its reference proxy.
    for (algorithm, name) in [
        (OnlineAlgorithm::Aioli, "aioli"),
        (OnlineAlgorithm::DoReMi, "doremi"),
    ] {
        config.mixture = MixtureConfig {
            online: Some(OnlineConfig {
                algorithm,
                rounds: 3,
                ..OnlineConfig::default()
            }),
            ..small(MixtureMethod::Online)
        };
        let online = run(&config, &path);
        check_mixture_and_shards(&online, name);
        let runs = online
            .summary
            .mixture_choice
            .as_ref()
            .unwrap()
            .method_runs
            .as_ref()
            .unwrap();
        assert_eq!(runs.schedule.len(), 3, "{name}");
        assert_eq!(
            runs.reference.is_some(),
            algorithm == OnlineAlgorithm::DoReMi
        );
        for update in &runs.schedule {
            assert!((update.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
        let report = std::fs::read_to_string(&online.report_path).unwrap();
        assert!(report.contains("Online reweighting"), "{name}");
    }
}

/// Column `name` of `batches` as numbers.
fn numbers(batches: &[arrow::array::RecordBatch], name: &str) -> Vec<f64> {
    use arrow::array::AsArray;
    use arrow::datatypes::Float64Type;
    batches
        .iter()
        .flat_map(|b| {
            let column = b
                .column_by_name(name)
                .unwrap_or_else(|| panic!("column {name}"));
            let cast = arrow::compute::cast(column, &arrow::datatypes::DataType::Float64).unwrap();
            cast.as_primitive::<Float64Type>()
                .iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn a_quality_sampling_function_in_a_mixture_file_draws_each_domains_best_documents() {
    use blend_mixers::quadmix::{DomainSampling, QualitySampling, quality_ranks};
    use std::collections::HashMap;

    let dir = tempfile::tempdir().unwrap();
    let corpus = synthetic_corpus(dir.path(), 800, 11);
    let (mut config, path) = demo_config(dir.path(), &corpus.corpus_dir, 11);
    let mut shards = ShardsConfig::new(BUDGET);
    shards.formats = vec![blend_datasets::shards::ShardFormat::Parquet];
    config.shards = Some(shards);
    let natural = run(&config, &path);

    // The natural mixture with a steep function: the best quarter of each domain, by the
    // classifier's score, is drawn; the rest (almost) never.
    let mut mixture = Mixture::read(&natural.mixture_path).unwrap();
    mixture.sampling = Some(QualitySampling {
        quality_columns: vec!["quality_score".into()],
        lower_is_better: Vec::new(),
        merge_weights: vec![1.0],
        epsilon: 0.0,
        domains: mixture
            .domains
            .iter()
            .map(|d| DomainSampling {
                domain: d.domain.clone(),
                lambda: 200.0,
                omega: 0.25,
                eta: 1.0,
            })
            .collect(),
    });
    let file = dir.path().join("best_quarter.json");
    std::fs::write(&file, mixture.to_json()).unwrap();
    config.mixture = MixtureConfig {
        method: MixtureMethod::File,
        file: Some(file),
        ..MixtureConfig::default()
    };
    let drawn = run(&config, &path);
    verify_shards(&drawn.shards_dir).unwrap();
    let train = &ShardManifest::read(&drawn.shards_dir).unwrap().splits["train"];
    assert_eq!(train.budget_per_domain.values().sum::<u64>(), BUDGET);

    // Each kept document's rank within its domain, from the output documents.
    let stage = drawn
        .summary
        .stages
        .iter()
        .find(|s| s.name == drawn.summary.output_stage)
        .unwrap();
    let documents = blend_tests::read_parquet_dir(&stage.dir);
    let ids = blend_tests::strings(&documents, "id");
    let domains = blend_tests::strings(&documents, "domain");
    let scores = numbers(&documents, "quality_score");
    let mut by_domain: HashMap<String, Vec<usize>> = HashMap::new();
    for (row, domain) in domains.iter().enumerate() {
        by_domain
            .entry(domain.clone().unwrap())
            .or_default()
            .push(row);
    }
    let mut rank_of: HashMap<String, f64> = HashMap::new();
    for rows in by_domain.values() {
        let values: Vec<f64> = rows.iter().map(|&r| scores[r]).collect();
        for (&row, rank) in rows.iter().zip(quality_ranks(&[values], &[true], &[1.0])) {
            rank_of.insert(ids[row].clone().unwrap(), rank);
        }
    }
    let manifest = ShardManifest::read(&drawn.shards_dir).unwrap();
    let mut drawn_ids = Vec::new();
    for shard in manifest.shards.iter().filter(|s| s.split == "train") {
        let file = drawn.shards_dir.join(format!("{}.parquet", shard.name));
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(file).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap();
        let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
        drawn_ids.extend(blend_tests::strings(&batches, "id").into_iter().flatten());
    }
    let best = drawn_ids.iter().filter(|id| rank_of[*id] < 0.3).count();
    assert!(
        best as f64 >= 0.95 * drawn_ids.len() as f64,
        "{best} of {} drawn documents are in their domain's best 30%",
        drawn_ids.len()
    );
}

#[test]
fn a_quality_column_the_documents_lack_is_named_with_the_columns_they_have() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = synthetic_corpus(dir.path(), 300, 13);
    let (mut config, path) = demo_config(dir.path(), &corpus.corpus_dir, 13);
    config.shards = Some(ShardsConfig::new(BUDGET));
    config.mixture = MixtureConfig {
        quadmix: Some(QuadMixConfig {
            quality: vec!["quality_scor".into()],
            lower_is_better: Vec::new(),
            epsilon: 1e-3,
            top: 2,
        }),
        ..small(MixtureMethod::Quadmix)
    };
    let error = try_run(&config, &path).unwrap_err();
    assert!(
        error.contains("`quality_scor` is missing") && error.contains("quality_score"),
        "{error}"
    );
}
