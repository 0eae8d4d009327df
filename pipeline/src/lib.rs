//! The blend pipeline: a TOML config becomes a DAG of stages that run over Parquet part
//! files on a DataFusion session, each stage cached under `work/<stage>-<hash>/`; then a
//! tokenizer, token shards, the mixture and a self-contained HTML report.

pub mod bpe_eval;
pub mod bpe_inference;
pub mod byte_size;
pub mod config;
pub mod dag;
pub mod dedup_accuracy;
pub mod demo;
pub mod domains_table;
pub mod error;
pub mod final_shards;
pub mod fuzzy_dedup;
pub mod mix;
pub mod progress;
pub mod proxy_search;
pub mod quality_classifier;
pub mod read_stage;
pub mod report;
pub mod runner;
pub mod session;
pub mod shards_stage;
pub mod stage_cache;
pub mod summary;
pub mod tokenize;
pub mod transform_stage;

pub use config::PipelineConfig;
pub use error::{PipelineError, Result};
pub use progress::{NoProgress, Progress, StageProgress};
pub use runner::{
    DocumentRun, RunOutcome, new_runtime, run_document_stages, run_pipeline, run_pipeline_blocking,
};
pub use summary::RunSummary;

/// blend's version, part of every stage's cache key.
pub const BLEND_VERSION: &str = env!("CARGO_PKG_VERSION");
