//! The pipeline on real data from `../shared/data` (skipped, saying so, when absent).

use blend_datasets::read::InputSpec;
use blend_pipeline::{NoProgress, run_pipeline_blocking};
use blend_tests::{booleans, demo_config, read_parquet_dir, shared_data, strings};

#[test]
fn gutenberg_exact_duplicate_is_found_and_a_real_tokenizer_loads() {
    let Some(data) = shared_data() else { return };
    let root = tempfile::tempdir().unwrap();
    let books = data.join("corpora/books_gutenberg.jsonl");
    let web = data.join("corpora/web_dolma_cc.jsonl");
    let (mut config, path) = demo_config(root.path(), &books, 3);
    config.inputs.push(InputSpec::new(&web));
    config.tokenizer.path = Some(data.join("tokenizers/gpt_2_tokenizer.json"));
    let outcome = run_pipeline_blocking(&config, &path, &NoProgress).unwrap();
    let dedup_dir = &outcome
        .summary
        .stages
        .iter()
        .find(|s| s.name == "dedup")
        .unwrap()
        .dir;
    let dedup = read_parquet_dir(dedup_dir);
    let ids = strings(&dedup, "id");
    let flagged: Vec<&str> = ids
        .iter()
        .zip(booleans(&dedup, "exact_dup"))
        .filter(|(_, f)| *f)
        .map(|(id, _)| id.as_deref().unwrap())
        .collect();
    // The manifest documents gutenberg-106 as an exact copy of gutenberg-105.
    assert_eq!(flagged, ["gutenberg-106"]);
    assert_eq!(
        strings(&dedup, "exact_dup_of")
            .into_iter()
            .flatten()
            .collect::<Vec<_>>(),
        ["gutenberg-105"]
    );
    let shards = &outcome.summary.shards;
    assert_eq!(shards.tokenizer.vocab_size, 50257);
    assert_eq!(shards.tokenizer.eos_id, 50256);
    assert_eq!(format!("{:?}", shards.dtype), "Uint16");
    assert_eq!(
        shards.total_documents,
        outcome.summary.stages.last().unwrap().rows_out
    );
    let domains: Vec<&str> = outcome
        .summary
        .mixture
        .domains
        .iter()
        .map(|d| d.domain.as_str())
        .collect();
    assert!(domains.len() >= 2, "{domains:?}");
}
