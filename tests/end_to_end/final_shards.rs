//! `blend shards`: exact budgets per domain, epochs, the epoch-cap error, the valid split,
//! packing, every format, determinism, and an independent numpy reader (when available).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use blend_datasets::shards::{ShardFormat, ShardManifest, read_shard, verify_shards};
use blend_pipeline::engine::config::TokenCount;
use blend_pipeline::workflows::shards::{FinalShardsRequest, ShardsConfig, build_final_shards};
use blend_pipeline::{NoProgress, RunOutcome, run_pipeline_blocking};
use blend_tests::{demo_config, synthetic_corpus};

fn finished_run(root: &Path) -> RunOutcome {
    let corpus = synthetic_corpus(root, 1500, 11);
    let (config, path) = demo_config(root, &corpus.corpus_dir, 11);
    run_pipeline_blocking(&config, &path, &NoProgress).unwrap()
}

fn request(run: &RunOutcome, out: PathBuf, tokens: u64) -> FinalShardsRequest {
    let mut settings = ShardsConfig::new(tokens);
    settings.formats = ShardFormat::ALL.to_vec();
    settings.valid_fraction = 0.02;
    settings.shard_tokens = TokenCount(150_000);
    FinalShardsRequest {
        mixture: run.mixture_path.clone(),
        run: run.summary.out_dir.clone(),
        out,
        tokenizer: None,
        settings,
    }
}

fn build(request: &FinalShardsRequest) -> Result<ShardManifest, String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(build_final_shards(request, &NoProgress))
        .map_err(|e| e.to_string())
}

/// Document ids of a split, in order, with repeats (Parquet keeps them).
fn ids_of(dir: &Path, manifest: &ShardManifest, split: &str) -> Vec<String> {
    use arrow::array::AsArray;
    let mut ids = Vec::new();
    for shard in manifest.shards.iter().filter(|s| s.split == split) {
        let file = std::fs::File::open(dir.join(format!("{}.parquet", shard.name))).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let column = batch.column_by_name("id").unwrap().as_string::<i32>();
            ids.extend(column.iter().map(|v| v.unwrap().to_string()));
        }
    }
    ids
}

#[test]
fn exact_budgets_epochs_valid_split_and_every_format() {
    let root = tempfile::tempdir().unwrap();
    let run = finished_run(root.path());
    let available = run.summary.shards.total_tokens;
    let target = available * 3 / 2;
    let out = root.path().join("final");
    let manifest = build(&request(&run, out.clone(), target)).unwrap();
    verify_shards(&out).unwrap();

    let train = &manifest.splits["train"];
    assert_eq!(
        train.budget_per_domain.values().sum::<u64>(),
        target,
        "budgets add up to --tokens"
    );
    let mixture = &run.summary.mixture;
    for domain in &mixture.domains {
        let budget = train.budget_per_domain[&domain.domain];
        let expected = (domain.weight * target as f64).round() as i64;
        assert!(
            (budget as i64 - expected).abs() <= 1,
            "{}: budget {budget} vs {expected}",
            domain.domain
        );
        let got = train.tokens_per_domain[&domain.domain];
        assert!(
            got.abs_diff(budget) < 5_000,
            "{}: {got} tokens for a budget of {budget}",
            domain.domain
        );
        let epochs = train.epochs_per_domain[&domain.domain];
        assert!(
            (1.4..1.65).contains(&epochs),
            "{}: {epochs} epochs",
            domain.domain
        );
    }

    // Train repeats documents by whole epochs; valid documents never appear in train.
    let train_ids = ids_of(&out, &manifest, "train");
    let valid_ids = ids_of(&out, &manifest, "valid");
    assert!(!valid_ids.is_empty());
    let valid_set: HashSet<&String> = valid_ids.iter().collect();
    assert_eq!(
        valid_set.len(),
        valid_ids.len(),
        "valid documents appear once"
    );
    assert!(train_ids.iter().all(|id| !valid_set.contains(id)));
    let mut repeats: BTreeMap<&String, u32> = BTreeMap::new();
    for id in &train_ids {
        *repeats.entry(id).or_default() += 1;
    }
    assert!(
        repeats.values().all(|&n| (1..=2).contains(&n)),
        "1.5 epochs: every document once or twice"
    );
    assert!(repeats.values().filter(|&&n| n == 2).count() > repeats.len() / 4);
    // Shuffled: domains interleave rather than coming in blocks.
    let first_shard = read_shard(&out, "train_00000", ShardFormat::Parquet).unwrap();
    assert_eq!(first_shard.len() as u64, manifest.shards[0].sequences);
    assert!(
        manifest.shards[0].tokens_per_domain.len() == mixture.domains.len(),
        "every domain in the first shard"
    );

    // Same request, same bytes.
    let again_dir = root.path().join("again");
    let again = build(&request(&run, again_dir, target)).unwrap();
    let hashes = |m: &ShardManifest| {
        m.shards
            .iter()
            .flat_map(|s| s.files.iter().map(|f| f.sha256.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(hashes(&again), hashes(&manifest));

    // The same tokens, read by a reader written from the documented layout with numpy.
    check_with_numpy(&out, &manifest);
}

#[test]
fn epoch_cap_is_an_error_naming_the_domain_and_writes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let run = finished_run(root.path());
    let out = root.path().join("final");
    let too_many = run.summary.shards.total_tokens * 5;
    let error = build(&request(&run, out.clone(), too_many)).unwrap_err();
    assert!(
        error.contains("more than the cap of 4 epochs") && error.contains("domain `"),
        "{error}"
    );
    assert!(
        error.contains("has ") && error.contains("needs "),
        "{error}"
    );
    assert!(!out.exists(), "no partial output");
    let leftovers: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn packing_writes_fixed_length_sequences() {
    let root = tempfile::tempdir().unwrap();
    let run = finished_run(root.path());
    let out = root.path().join("packed");
    let mut packed = request(&run, out.clone(), 200_000);
    packed.settings.sequence_length = Some(128);
    packed.settings.valid_fraction = 0.0;
    packed.settings.formats = vec![ShardFormat::Megatron, ShardFormat::Llmc];
    let manifest = build(&packed).unwrap();
    verify_shards(&out).unwrap();
    let train = &manifest.splits["train"];
    assert_eq!(train.tokens % 128, 0);
    assert!(train.dropped_tail_tokens < 128);
    assert_eq!(
        train.tokens + train.dropped_tail_tokens,
        train.tokens_per_domain.values().sum::<u64>() + train.dropped_tail_tokens
    );
    for shard in &manifest.shards {
        let sequences = read_shard(&out, &shard.name, ShardFormat::Megatron).unwrap();
        assert!(sequences.iter().all(|s| s.len() == 128));
    }
    assert!(!manifest.splits.contains_key("valid"));
}

fn python_with_numpy() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("BLEND_PYTHON").map(PathBuf::from),
        Some(PathBuf::from("python3")),
    ];
    candidates.into_iter().flatten().find(|python| {
        std::process::Command::new(python)
            .args(["-c", "import numpy"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn check_with_numpy(dir: &Path, manifest: &ShardManifest) {
    let Some(python) = python_with_numpy() else {
        eprintln!(
            "skipping the numpy shard reader: no python with numpy (make test sets BLEND_PYTHON)"
        );
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("external/read_shards.py");
    let output = std::process::Command::new(&python)
        .arg(&script)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for shard in &manifest.shards {
        let tokens = read_shard(dir, &shard.name, ShardFormat::Megatron)
            .unwrap()
            .concat();
        let bytes: Vec<u8> = tokens.iter().flat_map(|t| t.to_le_bytes()).collect();
        let sha = blend_datasets::files::sha256_bytes(&bytes);
        for format in ["megatron", "nanogpt", "llmc"] {
            let entry = &report[&shard.name][format];
            assert_eq!(entry["tokens"], shard.tokens, "{} {format}", shard.name);
            assert_eq!(entry["sha256"], sha.as_str(), "{} {format}", shard.name);
        }
        assert_eq!(
            report[&shard.name]["megatron"]["sequences"],
            shard.sequences
        );
    }
}
