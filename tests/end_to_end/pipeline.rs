//! The whole pipeline on a 2,000-document synthetic corpus, checked against the ground truth.

use std::collections::{BTreeSet, HashMap};

use blend_datasets::shards::{MegatronReader, ShardManifest, verify_shards};
use blend_datasets::synthetic::{DocKind, read_ground_truth};
use blend_pipeline::engine::config::StageConfig;
use blend_pipeline::{NoProgress, RunOutcome, run_pipeline_blocking};
use blend_tests::{booleans, demo_config, read_parquet_dir, strings, synthetic_corpus};

fn stage_dir(outcome: &RunOutcome, name: &str) -> std::path::PathBuf {
    outcome
        .summary
        .stages
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("stage {name}"))
        .dir
        .clone()
}

#[test]
fn demo_pipeline_on_2000_synthetic_documents() {
    let root = tempfile::tempdir().unwrap();
    let corpus = synthetic_corpus(root.path(), 2000, 7);
    let truth = read_ground_truth(&corpus.ground_truth).unwrap();
    let (mut config, config_path) = demo_config(root.path(), &corpus.corpus_dir, 7);
    config.output.max_tokens_per_shard = 100_000;
    // Several part files and batches per stage, so the stable order must survive DataFusion.
    config.pipeline.rows_per_part = 300;
    config.pipeline.batch_rows = 128;
    let outcome = run_pipeline_blocking(&config, &config_path, &NoProgress).unwrap();
    let summary = &outcome.summary;

    // dedup.exact flags exactly the planted exact duplicates, pointing at their originals.
    let dedup = read_parquet_dir(&stage_dir(&outcome, "dedup"));
    let ids = strings(&dedup, "id");
    let flagged = booleans(&dedup, "exact_dup");
    let dup_of = strings(&dedup, "exact_dup_of");
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "stage output keeps the corpus order across parts"
    );
    let dedup_parts = std::fs::read_dir(stage_dir(&outcome, "dedup"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "parquet")
        })
        .count();
    assert!(dedup_parts >= 6, "{dedup_parts} parts");
    let flagged_ids: BTreeSet<&str> = ids
        .iter()
        .zip(&flagged)
        .filter(|(_, f)| **f)
        .map(|(id, _)| id.as_deref().unwrap())
        .collect();
    let planted: BTreeSet<&str> = truth
        .iter()
        .filter(|t| t.kind == DocKind::ExactDuplicate)
        .map(|t| t.id.as_str())
        .collect();
    assert!(
        planted.len() > 50,
        "the corpus plants exact duplicates ({})",
        planted.len()
    );
    assert_eq!(flagged_ids, planted);
    let truth_by_id: HashMap<&str, _> = truth.iter().map(|t| (t.id.as_str(), t)).collect();
    for (id, of) in ids.iter().zip(&dup_of) {
        if let Some(of) = of {
            assert_eq!(
                truth_by_id[id.as_deref().unwrap()].copy_of.as_deref(),
                Some(of.as_str())
            );
        }
    }

    // Row counts chain through the stages, and the filter's funnel adds up.
    assert_eq!(summary.stages[0].rows_out, 2000);
    for pair in summary.stages.windows(2) {
        assert_eq!(
            pair[1].rows_in, pair[0].rows_out,
            "{} -> {}",
            pair[0].name, pair[1].name
        );
    }
    let filter_stage = summary.stages.iter().find(|s| s.name == "filter").unwrap();
    let stats = filter_stage.filter.as_ref().unwrap();
    assert_eq!(stats.input_docs, stats.kept_docs + stats.removed_docs);
    assert_eq!(stats.input_bytes, stats.kept_bytes + stats.removed_bytes);
    let exact_rule = stats
        .rules
        .iter()
        .find(|r| r.name == "exact_dedup")
        .unwrap();
    assert_eq!(exact_rule.removed_docs, planted.len() as u64);
    let rule_sum: u64 = stats.rules.iter().map(|r| r.removed_docs).sum();
    assert!(rule_sum >= stats.removed_docs);
    for rule in &stats.rules {
        assert!(rule.removed_docs <= stats.removed_docs);
        assert_eq!(rule.sample_ids.len() as u64, rule.removed_docs.min(5));
    }
    let removed = read_parquet_dir(&filter_stage.dir.join("removed"));
    let removed_by = strings(&removed, "removed_by");
    assert_eq!(removed_by.len() as u64, stats.removed_docs);
    for rule in &stats.rules {
        let listed = removed_by
            .iter()
            .filter(|r| r.as_deref().unwrap().split(',').any(|n| n == rule.name))
            .count();
        assert_eq!(listed as u64, rule.removed_docs, "rule {}", rule.name);
    }
    // Junk is removed by the Gopher rules; originals mostly survive.
    let kept = read_parquet_dir(&filter_stage.dir);
    let kept_ids: BTreeSet<String> = strings(&kept, "id").into_iter().flatten().collect();
    let junk_kept = truth
        .iter()
        .filter(|t| t.kind == DocKind::Junk && kept_ids.contains(&t.id))
        .count();
    let junk = truth.iter().filter(|t| t.kind == DocKind::Junk).count();
    assert!(
        junk_kept * 4 < junk,
        "most junk is removed ({junk_kept} of {junk} kept)"
    );
    let originals = truth.iter().filter(|t| t.kind == DocKind::Original).count();
    let originals_kept = truth
        .iter()
        .filter(|t| t.kind == DocKind::Original && kept_ids.contains(&t.id))
        .count();
    assert!(
        originals_kept * 10 > originals * 9,
        "{originals_kept} of {originals} originals kept"
    );

    // Shards: manifest totals = tokens read back = the tokenizer's output on the kept docs.
    let manifest = ShardManifest::read(&outcome.shards_dir).unwrap();
    assert!(
        manifest.shards.len() > 1,
        "small shard size gives several shards"
    );
    assert_eq!(manifest.total_documents, stats.kept_docs);
    let tokenizer =
        tokenizers::Tokenizer::from_file(outcome.summary.out_dir.join("tokenizer.json")).unwrap();
    assert_eq!(
        tokenizer.token_to_id("<|endoftext|>"),
        Some(manifest.tokenizer.eos_id)
    );
    let kept_texts = strings(&kept, "text");
    let mut read_back = Vec::new();
    for shard in &manifest.shards {
        let reader = MegatronReader::open(&outcome.shards_dir.join(&shard.name)).unwrap();
        assert_eq!(reader.sequences() as u64, shard.documents);
        read_back.extend((0..reader.sequences()).map(|i| reader.sequence(i)));
    }
    assert_eq!(read_back.len(), kept_texts.len());
    let mut expected_total = 0u64;
    for (text, tokens) in kept_texts.iter().zip(&read_back) {
        let mut expected = tokenizer
            .encode(text.as_deref().unwrap(), false)
            .unwrap()
            .get_ids()
            .to_vec();
        expected.push(manifest.tokenizer.eos_id);
        assert_eq!(&expected, tokens);
        expected_total += expected.len() as u64;
    }
    assert_eq!(manifest.total_tokens, expected_total);
    assert_eq!(
        manifest.shards.iter().map(|s| s.tokens).sum::<u64>(),
        expected_total
    );
    let verified = verify_shards(&outcome.shards_dir).unwrap();
    assert_eq!(verified.tokens, expected_total);

    // The natural mixture covers the five domains with token-share weights.
    let mixture = &summary.mixture;
    let domains: Vec<&str> = mixture.domains.iter().map(|d| d.domain.as_str()).collect();
    assert_eq!(domains, ["chat", "code", "math", "prose", "web"]);
    assert!((mixture.domains.iter().map(|d| d.weight).sum::<f64>() - 1.0).abs() < 1e-9);
    assert_eq!(
        mixture.domains.iter().map(|d| d.tokens).sum::<u64>(),
        expected_total
    );
    assert_eq!(manifest.mixture_sha256, mixture.sha256());

    // The report is one self-contained file with the funnel and the mixture.
    let report = std::fs::read_to_string(&outcome.report_path).unwrap();
    for needle in [
        "Funnel",
        "exact_dedup",
        "gopher_word_count",
        "Mixture",
        "prose",
        "<svg",
    ] {
        assert!(report.contains(needle), "report lacks {needle}");
    }
    assert!(
        !report.contains("<script")
            && !report.contains("src=\"http")
            && !report.contains("href=\"http")
    );

    // The fuzzy dedup stage is scored against the planted copies, and the report shows it.
    let accuracy = &summary.dedup_accuracy["fuzzy_dedup"];
    assert!(accuracy.precision >= 0.99, "{accuracy:?}");
    assert!(accuracy.f1_up_to_15 >= 0.95, "{accuracy:?}");
    assert!(report.contains("Near duplicates: <code>fuzzy_dedup</code>"));
    assert!(report.contains("Accuracy on the planted duplicates"));

    // A second run reuses every step and writes the same bytes.
    let report_bytes = std::fs::read(&outcome.report_path).unwrap();
    // The clusters are reported beside the source domains, and tabled in domains.csv.
    let report_text = String::from_utf8_lossy(&report_bytes);
    assert!(report_text.contains("<h2>Domains: <code>cluster</code>"));
    assert!(report_text.contains("Against <code>source</code>"));
    let domains_csv =
        std::fs::read_to_string(outcome.report_path.with_file_name("domains.csv")).unwrap();
    assert!(
        domains_csv.starts_with("domain,label,docs,"),
        "{domains_csv}"
    );
    assert!(domains_csv.lines().count() >= 2, "{domains_csv}");
    let again = run_pipeline_blocking(&config, &config_path, &NoProgress).unwrap();
    let expected_cached: Vec<String> = [
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
        "tokenizer",
        "shards",
    ]
    .map(String::from)
    .into();
    assert_eq!(again.cached, expected_cached);
    assert_eq!(std::fs::read(&again.report_path).unwrap(), report_bytes);

    // A fresh work folder gives byte-identical shards and tokenizer.
    let other = tempfile::tempdir().unwrap();
    let (fresh_config, fresh_path) = demo_config(other.path(), &corpus.corpus_dir, 7);
    let mut fresh_config = fresh_config;
    fresh_config.output.max_tokens_per_shard = 100_000;
    let fresh = run_pipeline_blocking(&fresh_config, &fresh_path, &NoProgress).unwrap();
    let fresh_manifest = ShardManifest::read(&fresh.shards_dir).unwrap();
    assert!(fresh.cached.is_empty());
    assert_eq!(fresh_manifest.tokenizer.sha256, manifest.tokenizer.sha256);
    let hashes = |m: &ShardManifest| {
        m.shards
            .iter()
            .flat_map(|s| s.files.iter().map(|f| f.sha256.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(hashes(&fresh_manifest), hashes(&manifest));
}

#[test]
fn synthetic_corpus_is_byte_identical_for_a_seed() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let first = synthetic_corpus(a.path(), 300, 3);
    let second = synthetic_corpus(b.path(), 300, 3);
    assert_eq!(first.parts, second.parts, "same parts, same sha256");
    assert_eq!(
        std::fs::read(&first.ground_truth).unwrap(),
        std::fs::read(&second.ground_truth).unwrap()
    );
    let other = synthetic_corpus(tempfile::tempdir().unwrap().path(), 300, 4);
    assert_ne!(first.parts[0].sha256, other.parts[0].sha256);
}

#[test]
fn reusing_the_output_tokenizer_in_place_leaves_it_intact() {
    let root = tempfile::tempdir().unwrap();
    let corpus = synthetic_corpus(root.path(), 300, 5);
    let (mut config, path) = demo_config(root.path(), &corpus.corpus_dir, 5);
    let first = run_pipeline_blocking(&config, &path, &NoProgress).unwrap();
    let tokenizer_path = first.summary.out_dir.join("tokenizer.json");
    let bytes = std::fs::read(&tokenizer_path).unwrap();
    config.tokenizer.path = Some(tokenizer_path.clone());
    let second = run_pipeline_blocking(&config, &path, &NoProgress).unwrap();
    assert_eq!(
        std::fs::read(&tokenizer_path).unwrap(),
        bytes,
        "copying a file onto itself must not truncate it"
    );
    assert_eq!(
        second.summary.shards.total_tokens,
        first.summary.shards.total_tokens
    );
}

#[test]
fn quality_rule_stages_add_verdicts_and_a_report_section() {
    let root = tempfile::tempdir().unwrap();
    let corpus = synthetic_corpus(root.path(), 300, 3);
    let (mut config, path) = demo_config(root.path(), &corpus.corpus_dir, 3);
    let stage =
        |name: &str, operator: &str| StageConfig::new(name, operator, serde_json::Value::Null);
    config.stages = vec![
        stage("gopher", "quality.gopher"),
        stage("repetition", "quality.gopher_repetition"),
        stage("c4", "quality.c4"),
        stage("fineweb", "quality.fineweb"),
    ];
    let outcome = run_pipeline_blocking(&config, &path, &NoProgress).unwrap();
    let batches = read_parquet_dir(&stage_dir(&outcome, "fineweb"));
    let rows: usize = batches
        .iter()
        .map(arrow::array::RecordBatch::num_rows)
        .sum();
    assert_eq!(rows, 300, "rules never remove rows");
    for prefix in [
        "gopher_quality",
        "gopher_repetition",
        "c4_quality",
        "fineweb_quality",
    ] {
        let pass = booleans(&batches, &format!("{prefix}_pass"));
        let reasons = strings(&batches, &format!("{prefix}_reason"));
        assert!(
            pass.iter().zip(&reasons).all(|(p, r)| *p == r.is_none()),
            "{prefix}"
        );
    }
    // The made-up languages have no English stop words: Gopher fails them all on that check.
    let reasons = strings(&batches, "gopher_quality_reason");
    assert!(
        reasons
            .iter()
            .flatten()
            .any(|r| r == "gopher_enough_stop_words")
    );
    let report = std::fs::read_to_string(&outcome.report_path).unwrap();
    assert!(report.contains("<h2>Quality rules</h2>"));
    assert!(report.contains("gopher_enough_stop_words"));
}

#[test]
fn old_operator_names_run_and_share_the_cache_of_the_current_ones() {
    let root = tempfile::tempdir().unwrap();
    let corpus = synthetic_corpus(root.path(), 300, 4);
    let (mut config, path) = demo_config(root.path(), &corpus.corpus_dir, 4);
    let stages = |names: [&str; 3]| {
        let [normalize, words, gopher] = names;
        vec![
            StageConfig::new("normalize", normalize, serde_json::Value::Null),
            StageConfig::new("words", words, serde_json::Value::Null),
            StageConfig::new("gopher", gopher, serde_json::Value::Null),
        ]
    };
    config.stages = stages(["normalize", "quality.gopher.word_count", "quality.gopher"]);
    let old = run_pipeline_blocking(&config, &path, &NoProgress).unwrap();
    let operators: Vec<&str> = old.summary.stages[1..]
        .iter()
        .map(|s| s.operator.as_str())
        .collect();
    assert_eq!(
        operators,
        [
            "text.normalize",
            "quality.gopher_word_count",
            "quality.gopher_quality"
        ],
        "the run records each operator under its current name"
    );
    config.stages = stages([
        "text.normalize",
        "quality.gopher_word_count",
        "quality.gopher_quality",
    ]);
    let current = run_pipeline_blocking(&config, &path, &NoProgress).unwrap();
    assert_eq!(
        current.cached,
        [
            "read",
            "normalize",
            "words",
            "gopher",
            "tokenizer",
            "shards"
        ],
        "the same stages under current names are the same cached steps"
    );
    config.stages = stages(["text.normalize", "quality.gopher_word_count", "gopher"]);
    let error = run_pipeline_blocking(&config, &path, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("`gopher`") && error.contains("quality.gopher_quality"),
        "an unknown operator is named with the known ones: {error}"
    );
}
