//! `examples/web_english/pipeline.toml` on real text: the shared corpora converted to
//! Parquet (skipped cleanly without them). Funnel counts add up, the shards verify, every
//! domain's epochs respect the cap, and the chosen mixture's predicted target is no worse
//! than the natural mixture's.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use blend_datasets::read::InputSpec;
use blend_datasets::shards::verify_shards;
use blend_kernels::text_classifier::TrainConfig;
use blend_pipeline::workflows::quality::{TrainRequest, TrainingData, train_classifier};
use blend_pipeline::{NoProgress, PipelineConfig, run_pipeline_blocking};
use blend_tests::shared_data;

/// Corpora written as Parquet, each with at most this many documents.
const DOCUMENTS_PER_FILE: usize = 150;
const CORPORA: [&str; 9] = [
    "web_dclm_quality",
    "web_dolma_cc",
    "wiki_wt103",
    "books_gutenberg",
    "code_python_ruff",
    "math_gsm8k",
    "chat_alpaca_eval",
    "qa_llm_foundry",
    "multilingual_udhr",
];

fn jsonl_to_parquet(jsonl: &Path, parquet: &Path) {
    let text = std::fs::read_to_string(jsonl).unwrap();
    let (mut ids, mut texts) = (Vec::new(), Vec::new());
    for line in text.lines().take(DOCUMENTS_PER_FILE) {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        ids.push(value["id"].as_str().unwrap().to_string());
        texts.push(value["text"].as_str().unwrap().to_string());
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(StringArray::from(texts)),
        ],
    )
    .unwrap();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(parquet).unwrap(), schema, None)
            .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

#[test]
fn the_web_example_runs_on_real_text_end_to_end() {
    let Some(data) = shared_data() else { return };
    let root = tempfile::tempdir().unwrap();
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/web_english/pipeline.toml");
    let path = root.path().join("pipeline.toml");
    std::fs::copy(&example, &path).unwrap();
    std::fs::create_dir_all(root.path().join("data")).unwrap();
    for corpus in CORPORA {
        jsonl_to_parquet(
            &data.join(format!("corpora/{corpus}.jsonl")),
            &root.path().join(format!("data/{corpus}.parquet")),
        );
    }
    let request = TrainRequest {
        data: TrainingData::Labeled {
            inputs: vec![InputSpec::new(data.join("corpora/web_dclm_quality.jsonl"))],
            label_column: "label".into(),
        },
        positive_label: None,
        max_per_label: None,
        folds: 0,
        test_fraction: 0.0,
        config: TrainConfig {
            seed: 7,
            ..TrainConfig::default()
        },
        model_path: root.path().join("quality_model.bin"),
        predictions_path: None,
    };
    train_classifier(&request, &NoProgress).unwrap();

    let mut config = PipelineConfig::load(&path).unwrap();
    // Smaller than the example's settings so `make test` stays quick; the same stages.
    config.tokenizer.vocab_size = 2048;
    config.mixture.validate.as_mut().unwrap().steps = 150;
    let outcome = run_pipeline_blocking(&config, &path, &NoProgress).unwrap();
    let summary = &outcome.summary;

    // The funnel adds up: each stage reads what its upstream kept; filters remove rows.
    for pair in summary.stages.windows(2) {
        assert_eq!(
            pair[1].rows_in, pair[0].rows_out,
            "{} → {}",
            pair[0].name, pair[1].name
        );
    }
    let filter = summary.stages.iter().find(|s| s.name == "filter").unwrap();
    assert!(
        filter.rows_out < filter.rows_in,
        "the rules removed something"
    );
    let english = filter.filter.as_ref().unwrap();
    assert!(
        english
            .rules
            .iter()
            .any(|r| r.name == "english" && r.removed_docs > 0),
        "{english:?}"
    );

    verify_shards(&outcome.shards_dir).unwrap();
    let train = &summary.shards.splits["train"];
    for (domain, epochs) in &train.epochs_per_domain {
        assert!(*epochs <= 4.0 + 1e-9, "{domain}: {epochs} epochs");
    }
    let choice = summary.mixture_choice.as_ref().unwrap();
    let search = choice.search.as_ref().unwrap();
    let regressor = search.model.regressor().unwrap();
    let natural = regressor.predict(&choice.natural, choice.natural.len())[0];
    assert!((search.natural_predicted - natural).abs() < 1e-12);
    let chosen = summary.mixture.prediction.as_ref().unwrap().value;
    assert!(
        chosen <= natural + 1e-9,
        "chosen {chosen} vs natural {natural}"
    );
    let validation = choice.validation.as_ref().unwrap();
    eprintln!(
        "web example: {} of {} documents kept, {} domains; predicted chosen {chosen:.4} vs natural {natural:.4}; validated chosen {:?} vs natural {:?}",
        filter.rows_out,
        summary.stages[0].rows_out,
        choice.domains.len(),
        validation.chosen,
        validation.natural
    );
}
