//! `run_summary.json`: everything the report shows, in one file, so `blend report` can
//! rebuild the report from a finished run. The only timings it holds are what each step
//! cost when it was computed (kept beside the step), so a resumed run reports the same.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use blend_datasets::shards::ShardManifest;
use blend_datasets::synthetic::NearDupAccuracy;
use blend_mixers::Mixture;
use blend_operators::FilterStats;
use serde::{Deserialize, Serialize};

use super::cache::StageManifest;
use super::mixture_summary::MixtureSummary;
use super::read::ReadReport;
use super::step_cost::StepCost;
use crate::{PipelineError, Result};

pub const SUMMARY_FILE: &str = "run_summary.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageSummary {
    pub name: String,
    pub operator: String,
    pub upstream: String,
    pub hash: String,
    pub dir: PathBuf,
    pub rows_in: u64,
    pub rows_out: u64,
    pub text_bytes_in: u64,
    pub text_bytes_out: u64,
    pub filter: Option<FilterStats>,
    pub warnings: Vec<String>,
    #[serde(default)]
    pub operator_summary: Option<serde_json::Value>,
    /// What the stage cost when it was computed (wall time, peak memory).
    #[serde(default)]
    pub cost: Option<StepCost>,
}

impl StageSummary {
    /// The summary of the finished stage in `dir`.
    pub fn of(manifest: &StageManifest, dir: &Path) -> Self {
        Self {
            name: manifest.stage.clone(),
            operator: manifest.operator.clone(),
            upstream: manifest.upstream.clone(),
            hash: manifest.hash.clone(),
            dir: dir.to_path_buf(),
            rows_in: manifest.rows_in,
            rows_out: manifest.rows_out,
            text_bytes_in: manifest.text_bytes_in,
            text_bytes_out: manifest.text_bytes_out,
            filter: manifest.filter.clone(),
            warnings: manifest.warnings.clone(),
            operator_summary: manifest.operator_summary.clone(),
            cost: None,
        }
    }

    /// This summary with the stage's cost.
    pub fn with_cost(mut self, cost: Option<StepCost>) -> Self {
        self.cost = cost;
        self
    }
}

/// A step after the document stages (tokenizer, domain sizes, proxies, search, shards): its
/// name, whether this run reused it, and what it cost when it was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub name: String,
    pub reused: bool,
    pub cost: Option<StepCost>,
}

impl StepRecord {
    pub fn new(name: &str, reused: bool, cost: Option<StepCost>) -> Self {
        Self {
            name: name.to_string(),
            reused,
            cost,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub pipeline: String,
    pub seed: u64,
    pub blend_version: String,
    pub work_dir: PathBuf,
    pub out_dir: PathBuf,
    pub read: ReadReport,
    /// The read stage first, then every configured stage in run order.
    pub stages: Vec<StageSummary>,
    /// The stage whose documents became shards.
    pub output_stage: String,
    /// The column naming each output document's domain (`source` when it is absent).
    #[serde(default = "default_domain_column")]
    pub domain_column: String,
    pub tokenizer_trained: bool,
    /// The chosen mixture (the natural one unless `[mixture]` says otherwise).
    pub mixture: Mixture,
    /// How the mixture was chosen, with the natural and prior weights, the proxy runs, the
    /// regressor and the validation (absent for runs made before `[mixture]` existed).
    #[serde(default)]
    pub mixture_choice: Option<MixtureSummary>,
    /// The shards: every output document once, or drawn by the mixture with `[shards]`.
    pub shards: ShardManifest,
    pub shards_dir: PathBuf,
    pub warnings: Vec<String>,
    /// The steps after the document stages, in run order.
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    /// Near-duplicate precision/recall of each `dedup.minhash` stage, by stage name, when
    /// the input is the synthetic corpus (its ground truth is known).
    #[serde(default)]
    pub dedup_accuracy: BTreeMap<String, NearDupAccuracy>,
}

fn default_domain_column() -> String {
    "domain".into()
}

impl RunSummary {
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("summary serializes");
        json.push('\n');
        json
    }

    /// Reads `run_summary.json` from `dir` (a work or out folder).
    pub fn read(dir: &Path) -> Result<Self> {
        let path = if dir.is_file() {
            dir.to_path_buf()
        } else {
            dir.join(SUMMARY_FILE)
        };
        let bytes = std::fs::read(&path).map_err(|e| PipelineError::io(&path, e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| PipelineError::unreadable(&path, "blend run summary", e))
    }
}
