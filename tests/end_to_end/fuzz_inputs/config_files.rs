//! Fuzz targets of the files a pipeline is configured with: the pipeline TOML
//! (`PipelineConfig::load`), a tokenizer.json (loaded as `blend run` loads it and used to
//! encode a text; read as a merge list as BPE mixture inference reads it) and a quality
//! classifier model (built into the `quality.classifier` operator and asked for a score).
//! Seeds: the example pipeline, the demo pipeline, a BPE trained on the synthetic corpus and
//! a classifier trained on it.

use std::path::{Path, PathBuf};

use blend_datasets::synthetic::{SyntheticConfig, SyntheticCorpus, SyntheticDoc};
use blend_kernels::text_classifier::{TrainConfig, train};
use blend_mixers::bpe_inference::merge_list::MergeList;
use blend_operators::quality::classifier::{Classifier, ClassifierParams};
use blend_operators::spec::OperatorSpec;
use blend_pipeline::PipelineConfig;
use blend_pipeline::engine::config::TokenizerConfig;
use blend_pipeline::engine::encode::encode_documents;
use blend_pipeline::engine::tokenizer::{load_tokenizer, train_bpe_json};
use blend_pipeline::workflows::demo::{DomainSource, default_pipeline};

use super::shared_seeds::eos_of;
use super::target::{Position, Target};

const SAMPLE: &str = "The quick brown fox — 42 jumps\nover the lazy dog's code() { return 1; }";

fn documents() -> Vec<SyntheticDoc> {
    SyntheticCorpus::new(SyntheticConfig::new(60, 41)).collect()
}

fn pipeline_seeds() -> Vec<(String, Vec<u8>)> {
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/web_english/pipeline.toml");
    let demo = default_pipeline(
        Path::new("corpus"),
        Path::new("work"),
        Path::new("out"),
        Path::new("quality_model.bin"),
        7,
        DomainSource::Cluster,
    );
    vec![
        (
            "example.toml".into(),
            std::fs::read(example).expect("examples/web_english/pipeline.toml"),
        ),
        ("demo.toml".into(), demo.to_toml().into_bytes()),
    ]
}

fn load_pipeline(path: &Path) -> Result<(), String> {
    let config = PipelineConfig::load(path).map_err(|e| e.to_string())?;
    let canonical = config.with_canonical_operators();
    let _ = (
        canonical.memory_budget(),
        canonical.token_budget(),
        canonical.max_epochs(),
    );
    Ok(())
}

fn tokenizer_json(docs: &[SyntheticDoc]) -> Vec<u8> {
    let texts: Vec<String> = docs.iter().map(|d| d.text.clone()).collect();
    let config = TokenizerConfig {
        vocab_size: 300,
        ..TokenizerConfig::default()
    };
    train_bpe_json(&texts, &config)
        .expect("BPE trains")
        .into_bytes()
}

/// Loads a tokenizer as a run does and encodes a text with it as the shard stage does.
fn load_and_encode(path: &Path) -> Result<(), String> {
    let eos = eos_of(&std::fs::read(path).map_err(|e| e.to_string())?);
    let loaded = load_tokenizer(path, eos, None).map_err(|e| e.to_string())?;
    let encoded =
        encode_documents(&loaded, &[SAMPLE], loaded.info.eos_id).map_err(|e| e.to_string())?;
    assert_eq!(encoded[0].last(), Some(&loaded.info.eos_id), "EOS appended");
    Ok(())
}

fn read_merge_list(path: &Path) -> Result<(), String> {
    let list = MergeList::from_file(path).map_err(|e| e.to_string())?;
    let mut words = Vec::new();
    list.for_each_word(SAMPLE, &mut |word| words.push(word.to_string()))
        .map_err(|e| e.to_string())?;
    for word in &words {
        let _ = list.symbols(word);
    }
    Ok(())
}

fn classifier_model(docs: &[SyntheticDoc]) -> Vec<u8> {
    let examples: Vec<(&str, usize)> = docs
        .iter()
        .map(|d| (d.text.as_str(), usize::from(d.source == "prose")))
        .collect();
    let mut model = train(
        &examples,
        vec!["other".into(), "prose".into()],
        &TrainConfig {
            dim: 4,
            buckets: 512,
            ..TrainConfig::default()
        },
    );
    model.set_metadata("{\"trained_on\":\"fuzz seed\"}".into());
    model.to_bytes()
}

fn score_with_classifier(model: PathBuf) -> Result<(), String> {
    let classifier = Classifier::with_params(ClassifierParams {
        model,
        text_column: "text".into(),
        label: None,
        score_column: "quality_score".into(),
    })
    .map_err(|e| e.to_string())?;
    let score = classifier.score(SAMPLE);
    assert!(
        score.is_nan() || (0.0..=1.0).contains(&score),
        "score {score}"
    );
    Ok(())
}

fn one_file(
    format: &'static str,
    file: &str,
    bytes: Vec<u8>,
    position: Position,
    read: fn(&Path, &str) -> Result<(), String>,
) -> Target {
    Target {
        format,
        files: vec![(file.into(), bytes)],
        mutable: vec![file.into()],
        position,
        names_folder: false,
        read,
    }
}

pub fn targets() -> Vec<Target> {
    let docs = documents();
    let tokenizer = tokenizer_json(&docs);
    let pipelines = pipeline_seeds();
    vec![
        Target {
            format: "pipeline.toml",
            mutable: pipelines.iter().map(|(name, _)| name.clone()).collect(),
            files: pipelines,
            position: Position::NumberedWhenMentioned("at line"),
            names_folder: false,
            read: |dir, mutated| load_pipeline(&dir.join(mutated)),
        },
        one_file(
            "tokenizer.json",
            "tokenizer.json",
            tokenizer.clone(),
            Position::NumberedWhenMentioned("at line"),
            |dir, mutated| load_and_encode(&dir.join(mutated)),
        ),
        one_file(
            "merge-list",
            "tokenizer.json",
            tokenizer,
            Position::NumberedWhenMentioned("at line"),
            |dir, mutated| read_merge_list(&dir.join(mutated)),
        ),
        one_file(
            "classifier-model",
            "quality_model.bin",
            classifier_model(&docs),
            Position::File,
            |dir, mutated| score_with_classifier(dir.join(mutated)),
        ),
    ]
}
