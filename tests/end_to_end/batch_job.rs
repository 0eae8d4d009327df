//! The whole arc from one pipeline file: curation → proxy search → validation → final shards,
//! each a cached step. Editing `[shards] tokens` re-runs only the shards; adding proxies
//! trains only the new ones; editing a quality threshold re-runs from that stage on.

use std::path::Path;

use blend_datasets::shards::{ShardManifest, verify_shards};
use blend_mixers::Mixture;
use blend_pipeline::engine::config::{
    MixtureConfig, MixtureMethod, PipelineConfig, PriorConfig, ShardsConfig, TokenCount,
    ValidateConfig,
};
use blend_pipeline::{NoProgress, RunOutcome, run_pipeline_blocking};
use blend_tests::{demo_config, synthetic_corpus};

const BUDGET: u64 = 60_000;

fn small_search() -> MixtureConfig {
    MixtureConfig {
        method: MixtureMethod::Search,
        proxies: 4,
        steps: 12,
        sequence_length: 32,
        batch_size: 4,
        vocab_size: Some(300),
        candidates: 4000,
        top_k: 20,
        bootstrap: 2,
        validate: Some(ValidateConfig {
            steps: 16,
            seeds: 2,
        }),
        ..MixtureConfig::default()
    }
}

fn job_config(root: &Path) -> (PipelineConfig, std::path::PathBuf) {
    let corpus = synthetic_corpus(root, 1200, 5);
    let (mut config, path) = demo_config(root, &corpus.corpus_dir, 5);
    config.mixture = small_search();
    config.shards = Some(ShardsConfig::new(BUDGET));
    (config, path)
}

fn run(config: &PipelineConfig, path: &Path) -> RunOutcome {
    std::fs::write(path, config.to_toml()).unwrap();
    let loaded = PipelineConfig::load(path).unwrap();
    run_pipeline_blocking(&loaded, path, &NoProgress).unwrap()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

const DOCUMENT_STAGES: [&str; 12] = [
    "read",
    "normalize",
    "dedup",
    "fuzzy_dedup",
    "gopher_words",
    "gopher_word_length",
    "language",
    "quality_classifier",
    "embed",
    "cluster",
    "domain",
    "filter",
];

#[test]
fn one_pipeline_file_runs_the_whole_arc_and_reuses_exactly_what_did_not_change() {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, path) = job_config(dir.path());
    let first = run(&config, &path);
    assert!(first.cached.is_empty(), "{:?}", first.cached);
    let summary = &first.summary;
    let choice = summary
        .mixture_choice
        .as_ref()
        .expect("the run records its choice");
    let search = choice.search.as_ref().expect("a search ran");
    assert_eq!(search.runs.len(), 4);
    assert_eq!(search.trained, 4);
    let distinct: std::collections::BTreeSet<String> = search
        .runs
        .iter()
        .map(|r| format!("{:?}", r.weights))
        .collect();
    assert_eq!(distinct.len(), 4, "no two proxies share a mixture");
    assert_eq!(search.runs[0].weights.len(), choice.domains.len());
    let validation = choice.validation.as_ref().expect("validated");
    assert_eq!((validation.chosen.len(), validation.natural.len()), (2, 2));
    assert!(
        validation
            .chosen
            .iter()
            .chain(&validation.natural)
            .all(|l| l.is_finite() && *l > 0.0)
    );

    // The final shards: exactly the budget, drawn by the chosen mixture, within the epoch cap.
    let mixture = Mixture::read(&first.mixture_path).unwrap();
    assert_eq!(mixture.method, "regmix");
    assert_eq!(mixture.total_tokens, BUDGET);
    let manifest = ShardManifest::read(&first.shards_dir).unwrap();
    verify_shards(&first.shards_dir).unwrap();
    let train = &manifest.splits["train"];
    assert_eq!(train.budget_per_domain.values().sum::<u64>(), BUDGET);
    for domain in &mixture.domains {
        assert_eq!(train.budget_per_domain[&domain.domain], domain.tokens);
        let got = train
            .tokens_per_domain
            .get(&domain.domain)
            .copied()
            .unwrap_or(0);
        assert!(
            got.abs_diff(domain.tokens) < 2_000,
            "{}: {got} for {}",
            domain.domain,
            domain.tokens
        );
        assert!(train.epochs_per_domain[&domain.domain] <= 4.0 + 1e-9);
    }
    let report = std::fs::read_to_string(&first.report_path).unwrap();
    for section in [
        "Mixture choice",
        "Validation",
        "Regressor",
        "Proxies",
        "Time and memory",
    ] {
        assert!(report.contains(section), "report lacks {section}");
    }

    // Same file again: everything is reused, the same bytes come out.
    let again = run(&config, &path);
    let mut everything = names(&DOCUMENT_STAGES);
    everything.extend(names(&[
        "tokenizer",
        "domain_sizes",
        "proxy_data",
        "proxy_runs",
        "regressor",
        "search",
        "validate",
        "final_shards",
    ]));
    assert_eq!(again.cached, everything);
    assert_eq!(
        std::fs::read(&again.mixture_path).unwrap(),
        std::fs::read(&first.mixture_path).unwrap()
    );

    // A new budget re-runs only the shards.
    config.shards.as_mut().unwrap().tokens = TokenCount(BUDGET / 2);
    let rebudgeted = run(&config, &path);
    assert_eq!(
        rebudgeted.cached,
        everything[..everything.len() - 1].to_vec()
    );
    let budgets =
        &ShardManifest::read(&rebudgeted.shards_dir).unwrap().splits["train"].budget_per_domain;
    assert_eq!(budgets.values().sum::<u64>(), BUDGET / 2);

    // Two more proxies: only they are trained; the fit, search and validation follow.
    config.mixture.proxies = 6;
    let more = run(&config, &path);
    let search = more
        .summary
        .mixture_choice
        .as_ref()
        .unwrap()
        .search
        .as_ref()
        .unwrap();
    assert_eq!((search.runs.len(), search.trained), (6, 2));
    let mut expected = names(&DOCUMENT_STAGES);
    expected.extend(names(&["tokenizer", "domain_sizes", "proxy_data"]));
    assert_eq!(more.cached[..expected.len()], expected[..]);
    assert!(!more.cached.contains(&"regressor".to_string()));

    // A stricter quality rule re-runs from that stage on.
    let stage = config
        .stages
        .iter_mut()
        .find(|s| s.name == "gopher_words")
        .unwrap();
    stage.params = serde_json::json!({ "min_words": 60 });
    let stricter = run(&config, &path);
    assert_eq!(stricter.cached, names(&DOCUMENT_STAGES[..4]));
}

#[test]
fn a_mixture_file_over_other_domains_is_refused_naming_both_sets() {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, path) = job_config(dir.path());
    let file = dir.path().join("elsewhere.json");
    let other = r#"{"schema_version":1,"method":"regmix","seed":1,"total_tokens":10,"domains":[{"domain":"web","weight":0.5,"tokens":5,"available_tokens":0,"documents":0,"epochs":0.0},{"domain":"legal","weight":0.5,"tokens":5,"available_tokens":0,"documents":0,"epochs":0.0}],"inputs":{}}"#;
    std::fs::write(&file, other).unwrap();
    config.mixture = MixtureConfig {
        method: MixtureMethod::File,
        file: Some(file),
        ..MixtureConfig::default()
    };
    std::fs::write(&path, config.to_toml()).unwrap();
    let loaded = PipelineConfig::load(&path).unwrap();
    let error = run_pipeline_blocking(&loaded, &path, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("elsewhere.json") && error.contains("not in the run: legal"),
        "{error}"
    );
}

#[test]
fn bad_mixture_and_shards_settings_name_the_file_and_key_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    let cases = [
        ("[mixture]\nmethod = \"magic\"\n", "magic"),
        ("[mixture]\nmethod = \"file\"\n", "[mixture] file"),
        (
            "[mixture]\nmethod = \"search\"\nproxies = 1\n",
            "[mixture] proxies",
        ),
        ("[shards]\ntokens = \"lots\"\n", "lots"),
        (
            "[shards]\ntokens = 100\nmax_epochs = 0\n",
            "[shards] max_epochs",
        ),
    ];
    for (section, expected) in cases {
        let text = format!("[[inputs]]\npath = \"corpus\"\n{section}");
        std::fs::write(&path, &text).unwrap();
        let error = PipelineConfig::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("p.toml") && error.contains(expected),
            "{section}: {error}"
        );
    }
    // A missing tokenizer is named before any stage runs.
    std::fs::create_dir_all(dir.path().join("corpus")).unwrap();
    std::fs::write(
        &path,
        "[[inputs]]\npath = \"corpus\"\n[tokenizer]\npath = \"missing.json\"\n",
    )
    .unwrap();
    let config = PipelineConfig::load(&path).unwrap();
    let error = run_pipeline_blocking(&config, &path, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("[tokenizer] path") && error.contains("missing.json"),
        "{error}"
    );
    assert!(!dir.path().join("work").exists(), "nothing ran");
}

#[test]
fn a_known_tokenizer_centres_the_search_on_its_inferred_mixture() {
    let Some(data) = blend_tests::shared_data() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut config, path) = job_config(dir.path());
    config.mixture.prior = PriorConfig::Tokenizer {
        tokenizer: data.join("tokenizers/gpt_2_tokenizer.json"),
        merges: 1000,
    };
    let first = run(&config, &path);
    let choice = first.summary.mixture_choice.as_ref().unwrap();
    let prior = choice.prior.as_ref().unwrap();
    assert_eq!(prior.name, "BPE inference of gpt_2_tokenizer.json");
    assert_eq!(prior.weights.len(), choice.domains.len());
    assert!(
        (prior.weights.iter().sum::<f64>() - 1.0).abs() < 1e-6,
        "{:?}",
        prior.weights
    );
    assert!(prior.weights.iter().all(|w| w.is_finite() && *w >= 0.0));
    let moved = prior
        .weights
        .iter()
        .zip(&choice.natural)
        .map(|(p, n)| (p - n).abs())
        .fold(0.0, f64::max);
    assert!(
        moved > 0.01,
        "the inferred prior is not the natural shares: {:?}",
        prior.weights
    );
    let step = |outcome: &RunOutcome| {
        outcome
            .summary
            .steps
            .iter()
            .find(|s| s.name == "prior")
            .cloned()
            .unwrap()
    };
    assert!(!step(&first).reused);
    // The report shows natural, prior and chosen side by side.
    let report = std::fs::read_to_string(&first.report_path).unwrap();
    assert!(report.contains("prior: BPE inference of gpt_2_tokenizer.json"));
    let again = run(&config, &path);
    assert!(step(&again).reused, "the inference is a cached step");
    assert_eq!(again.summary.mixture_choice.unwrap().prior.unwrap(), *prior);
}
