//! The default pipeline `blend demo` runs (and writes out as `pipeline.toml` for users to
//! copy): normalize → exact dedup → near-duplicate clusters (MinHash-LSH) → two Gopher
//! rules → language id → quality classifier score → embed → cluster (CLIMB-style domains,
//! pruning clusters that mostly fail the word count rule) → domain from `source` (unless the
//! clusters are the domains) → filter. The quality classifier is trained first, DCLM's way:
//! `prose` documents are the reference, every other source the negatives
//! ([`train_demo_classifier`]).

use std::path::Path;

use blend_datasets::read::{InputSpec, OnError};
use blend_operators::cluster::domains::PRUNED_DOMAIN;

use blend_kernels::text_classifier::TrainConfig;

use super::quality::{TrainOutcome, TrainRequest, TrainingData, train_classifier};
use blend_datasets::shards::ShardFormat;

use crate::engine::config::{
    MixtureConfig, MixtureMethod, OutputConfig, PipelineConfig, PipelineSection, ShardsConfig,
    StageConfig, TokenizerConfig, ValidateConfig,
};
use crate::{Progress, Result};

/// The synthetic source the demo's quality classifier takes as its reference.
pub const DEMO_REFERENCE_SOURCE: &str = "prose";

/// Trains the demo's quality classifier on `corpus` (label = `source`, positive = `prose`,
/// 20% held out) and writes it to `model`. The score is then P(prose): how much a document
/// looks like the reference, as DCLM scores web pages by their likeness to curated data.
pub fn train_demo_classifier(
    corpus: &Path,
    model: &Path,
    seed: u64,
    progress: &dyn Progress,
) -> Result<TrainOutcome> {
    let request = TrainRequest {
        data: TrainingData::Labeled {
            inputs: vec![InputSpec::new(corpus)],
            label_column: "source".into(),
        },
        positive_label: Some(DEMO_REFERENCE_SOURCE.into()),
        max_per_label: None,
        folds: 0,
        test_fraction: 0.2,
        // Unigrams separate the synthetic styles as well as bigrams (held-out ROC-AUC 0.99
        // at 3,000 docs), for a 6× smaller model file.
        config: TrainConfig {
            dim: 16,
            word_ngrams: 1,
            buckets: 1 << 20,
            seed,
            ..TrainConfig::default()
        },
        model_path: model.to_path_buf(),
        predictions_path: None,
    };
    train_classifier(&request, progress)
}

/// Where the demo's documents get the `domain` the mixture weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainSource {
    /// The corpus's `source` column; the clusters are kept as `cluster_domain` and compared
    /// with it in the report.
    Source,
    /// The clusters found by `embed` → `cluster`.
    Cluster,
}

impl DomainSource {
    pub const ALL: [Self; 2] = [Self::Source, Self::Cluster];

    pub fn name(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Cluster => "cluster",
        }
    }
}

impl std::fmt::Display for DomainSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for DomainSource {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|d| d.name() == text)
            .ok_or_else(|| format!("`{text}`: expected source or cluster"))
    }
}

/// Superclusters the demo merges its fine clusters into: the synthetic corpus's styles.
pub const DEMO_DOMAINS: usize = 5;

/// The demo's search: 16 tiny proxies on the curated documents (the first cover the simplex:
/// natural, uniform, one leaning to each domain), LightGBM over their held-out loss, 100k
/// candidates, then the chosen and the natural mixture trained 2× longer under 3 seeds. The
/// proxies get a 1,024-token BPE of their own: a tiny model learns little of an 8k vocabulary
/// in 150 steps.
pub fn demo_mixture() -> MixtureConfig {
    MixtureConfig {
        method: MixtureMethod::Search,
        proxies: 16,
        steps: 150,
        sequence_length: 64,
        batch_size: 8,
        vocab_size: Some(1024),
        candidates: 100_000,
        top_k: 100,
        bootstrap: 8,
        validate: Some(ValidateConfig {
            steps: 300,
            seeds: 3,
        }),
        ..MixtureConfig::default()
    }
}

/// The demo's final shards: 1M training tokens drawn by the chosen mixture, at most 4
/// epochs of any domain, Megatron and Parquet.
pub fn demo_shards() -> ShardsConfig {
    let mut shards = ShardsConfig::new(1_000_000);
    shards.formats = vec![ShardFormat::Megatron, ShardFormat::Parquet];
    shards
}

/// The demo pipeline over `corpus`, writing to `work_dir` and `out_dir`, scoring with the
/// classifier at `quality_model` (see [`train_demo_classifier`]).
pub fn default_pipeline(
    corpus: &Path,
    work_dir: &Path,
    out_dir: &Path,
    quality_model: &Path,
    seed: u64,
    domains: DomainSource,
) -> PipelineConfig {
    let cluster_column = match domains {
        DomainSource::Source => "cluster_domain",
        DomainSource::Cluster => "domain",
    };
    let mut stages = vec![
        StageConfig::new("normalize", "text.normalize", serde_json::json!({})),
        StageConfig::new("dedup", "dedup.exact", serde_json::json!({})),
        // Word 3-grams at Jaccard 0.3, verified. Measured on the synthetic corpus: copies
        // with 15% token edits have word-3-gram Jaccard 0.40–0.58 (10th–90th percentile)
        // but word-5-gram Jaccard only 0.23–0.41, far below datatrove-style 5-grams at 0.7.
        StageConfig::new(
            "fuzzy_dedup",
            "dedup.minhash",
            serde_json::json!({ "ngram": 3, "threshold": 0.3, "verify": true }),
        ),
        StageConfig::new(
            "gopher_words",
            "quality.gopher_word_count",
            serde_json::json!({}),
        ),
        StageConfig::new(
            "gopher_word_length",
            "quality.gopher_mean_word_length",
            serde_json::json!({}),
        ),
        StageConfig::new("language", "quality.language", serde_json::json!({})),
        StageConfig::new(
            "quality_classifier",
            "quality.classifier",
            serde_json::json!({ "model": quality_model }),
        ),
        StageConfig::new("embed", "domain.embed", serde_json::json!({})),
        // A cluster where fewer than half the documents pass the word-count rule is pruned.
        StageConfig::new(
            "cluster",
            "domain.cluster",
            serde_json::json!({
                "domains": DEMO_DOMAINS,
                "domain_column": cluster_column,
                "quality_column": "gopher_word_count_pass",
                "min_quality": 0.5,
            }),
        ),
    ];
    if domains == DomainSource::Source {
        stages.push(StageConfig::new(
            "domain",
            "domain.from_column",
            serde_json::json!({ "column": "source" }),
        ));
    }
    stages.push(StageConfig::new(
        "filter",
        "filter",
        serde_json::json!({ "rules": [
            { "name": "normalize", "keep": "normalize_reject IS NULL" },
            { "name": "exact_dedup", "keep": "NOT exact_dup" },
            { "name": "fuzzy_dedup", "keep": "NOT is_dup" },
            { "name": "gopher_word_count", "keep": "gopher_word_count_pass" },
            { "name": "gopher_mean_word_length", "keep": "gopher_mean_word_length_pass" },
            { "name": "cluster_pruned", "keep": format!("{cluster_column} <> '{PRUNED_DOMAIN}'") },
        ]}),
    ));
    PipelineConfig {
        pipeline: PipelineSection {
            name: "demo".into(),
            seed,
            work_dir: work_dir.to_path_buf(),
            out_dir: out_dir.to_path_buf(),
            on_error: OnError::Fail,
            ..PipelineSection::default()
        },
        inputs: vec![InputSpec::new(corpus)],
        stages,
        tokenizer: TokenizerConfig::default(),
        output: OutputConfig::default(),
        mixture: demo_mixture(),
        shards: Some(demo_shards()),
    }
}
