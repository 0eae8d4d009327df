//! `blend dedup` as a library call: read the inputs, run one `dedup.minhash` stage (cached
//! in OUT/work like any pipeline stage) and put its Parquet parts (every input column plus
//! `dup_cluster`, `dup_cluster_size`, `is_dup`) in OUT, hard-linked from the stage cache
//! where the file system allows, with `dedup_summary.json` beside them.

use std::path::{Path, PathBuf};

use blend_datasets::files::write_atomic;
use blend_datasets::read::InputSpec;
use blend_datasets::synthetic::NearDupAccuracy;
use blend_operators::OperatorSpec;
use blend_operators::dedup::minhash::{MinHashDedup, MinHashSummary};
use serde::{Deserialize, Serialize};

use super::dedup_accuracy::{stage_accuracy, synthetic_ground_truth};
use crate::engine::cache::STAGE_MANIFEST;
use crate::engine::config::{PipelineConfig, PipelineSection, StageConfig};
use crate::engine::runner::{new_runtime, run_document_stages};
use crate::engine::session::new_session;
use crate::progress::Progress;
use crate::{PipelineError, Result};

pub const DEDUP_STAGE: &str = "dedup_minhash";
pub const DEDUP_SUMMARY_FILE: &str = "dedup_summary.json";

#[derive(Debug, Clone)]
pub struct FuzzyDedupRequest {
    pub inputs: Vec<InputSpec>,
    pub out_dir: PathBuf,
    /// `dedup.minhash` parameters (JSON object).
    pub params: serde_json::Value,
    pub seed: u64,
    /// Memory budget, e.g. "4GiB".
    pub memory: String,
    /// Ground truth to score against; default: the synthetic corpus's, when the input is one.
    pub truth: Option<PathBuf>,
}

/// What `dedup_summary.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FuzzyDedupOutcome {
    pub documents: u64,
    pub clusters: u64,
    pub duplicates: u64,
    pub output_files: Vec<PathBuf>,
    /// Whether the stage was reused from OUT/work.
    pub cached: bool,
    pub params: serde_json::Value,
    pub minhash: MinHashSummary,
    pub accuracy: Option<NearDupAccuracy>,
}

/// Links `from` to `to`, copying when a hard link is not possible.
fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        std::fs::remove_file(to).map_err(|e| PipelineError::io(to, e))?;
    }
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(|e| PipelineError::io(to, e))?;
    }
    Ok(())
}

pub fn run_fuzzy_dedup(
    request: &FuzzyDedupRequest,
    progress: &dyn Progress,
) -> Result<FuzzyDedupOutcome> {
    let out = &request.out_dir;
    std::fs::create_dir_all(out).map_err(|e| PipelineError::io(out, e))?;
    let config = PipelineConfig {
        pipeline: PipelineSection {
            name: "dedup".into(),
            seed: request.seed,
            work_dir: out.join("work"),
            out_dir: out.clone(),
            memory: request.memory.clone(),
            ..PipelineSection::default()
        },
        inputs: request.inputs.clone(),
        stages: vec![StageConfig::new(
            DEDUP_STAGE,
            MinHashDedup::NAME,
            request.params.clone(),
        )],
        tokenizer: Default::default(),
        output: Default::default(),
        mixture: Default::default(),
        shards: None,
    };
    let config_path = out.join("dedup.toml");
    let config = PipelineConfig::parse(&config.to_toml(), &config_path)?;
    let ctx = new_session(config.pipeline.batch_rows);
    let run =
        new_runtime()?.block_on(run_document_stages(&ctx, &config, &config_path, progress))?;
    let (stage_dir, manifest) = run.finished[DEDUP_STAGE].clone();
    let minhash: MinHashSummary = manifest
        .operator_summary
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| {
            PipelineError::unreadable(
                stage_dir.join(STAGE_MANIFEST),
                "stage manifest",
                "it has no dedup.minhash summary",
            )
        })?;

    // Replace the previous output's parts.
    if let Ok(entries) = std::fs::read_dir(out) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("part-") && name.ends_with(".parquet") {
                std::fs::remove_file(entry.path())
                    .map_err(|e| PipelineError::io(entry.path(), e))?;
            }
        }
    }
    let mut output_files = Vec::new();
    for part in &manifest.parts {
        let target = out.join(&part.name);
        link_or_copy(&stage_dir.join(&part.name), &target)?;
        output_files.push(target);
    }
    let truth = request
        .truth
        .clone()
        .or_else(|| synthetic_ground_truth(&config.inputs));
    let accuracy = match truth {
        Some(path) => Some(stage_accuracy(&path, &stage_dir, &manifest.parts)?),
        None => None,
    };
    let outcome = FuzzyDedupOutcome {
        documents: minhash.documents,
        clusters: minhash.clusters,
        duplicates: minhash.duplicates,
        output_files,
        cached: run.cached.iter().any(|s| s == DEDUP_STAGE),
        params: manifest.params,
        minhash,
        accuracy,
    };
    let mut json = serde_json::to_string_pretty(&outcome).expect("outcome serializes");
    json.push('\n');
    write_atomic(&out.join(DEDUP_SUMMARY_FILE), json.as_bytes())?;
    Ok(outcome)
}
