//! `pipeline.toml`: inputs, stages (operator + params, optionally the stage they read
//! from), tokenizer, output, work dir and seed. Relative paths are resolved against the
//! config file's folder.
//!
//! ```toml
//! [pipeline]
//! name = "demo"
//! seed = 42
//! work_dir = "work"
//! out_dir = "out"
//!
//! [[inputs]]
//! path = "corpus"          # file or folder: .parquet, .jsonl[.gz|.zst], .txt
//! text_column = "text"
//! on_error = "fail"        # or "quarantine" (in [pipeline])
//!
//! [[stages]]
//! name = "normalize"
//! operator = "normalize"
//!
//! [[stages]]
//! name = "filter"
//! operator = "filter"
//! input = "normalize"      # default: the stage before
//! [[stages.params.rules]]
//! name = "normalize"
//! keep = "normalize_reject IS NULL"
//!
//! [mixture]                # how the mixture is chosen (see [`mixture`])
//! method = "search"
//!
//! [shards]                 # the final shards, drawn by that mixture (see [`shards`])
//! tokens = "20M"
//! ```

mod mixture;
mod shards;
mod token_count;

pub use mixture::{
    BayesOptConfig, LOSS_PREFIX, MEAN_LOSS, MixtureConfig, MixtureMethod, NamedPrior, OnlineConfig,
    PriorConfig, QuadMixConfig, ValidateConfig,
};
pub use shards::ShardsConfig;
pub use token_count::{TokenCount, parse_token_count};

use std::path::{Path, PathBuf};

use blend_datasets::read::{InputSpec, OnError};
use serde::{Deserialize, Serialize};

use super::byte_size::parse_byte_size;
use crate::{PipelineError, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    #[serde(default)]
    pub pipeline: PipelineSection,
    pub inputs: Vec<InputSpec>,
    #[serde(default)]
    pub stages: Vec<StageConfig>,
    #[serde(default)]
    pub tokenizer: TokenizerConfig,
    #[serde(default)]
    pub output: OutputConfig,
    #[serde(default)]
    pub mixture: MixtureConfig,
    /// The final shards drawn by the mixture; without this section (and with the natural
    /// mixture) every output document is written once, in corpus order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<ShardsConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSection {
    #[serde(default = "default_name")]
    pub name: String,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default = "default_work")]
    pub work_dir: PathBuf,
    #[serde(default = "default_out")]
    pub out_dir: PathBuf,
    /// Rows per batch read from inputs and between stages.
    #[serde(default = "default_batch_rows")]
    pub batch_rows: usize,
    /// Rows per Parquet part file a stage writes.
    #[serde(default = "default_rows_per_part")]
    pub rows_per_part: u64,
    #[serde(default)]
    pub on_error: OnError,
    /// Memory budget of stages that spill (fuzzy dedup), e.g. "4GiB". Not part of any cache
    /// key: results do not depend on it.
    #[serde(default = "default_memory")]
    pub memory: String,
    /// A Ballista cluster (`df://HOST:PORT`, see `blend cluster`) the document stages run
    /// on; the work folder must be shared with its executors. Not part of any cache key: a
    /// cluster run writes the same stages as a local one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

fn default_memory() -> String {
    "4GiB".into()
}

fn default_name() -> String {
    "blend".into()
}
fn default_seed() -> u64 {
    42
}
fn default_work() -> PathBuf {
    "work".into()
}
fn default_out() -> PathBuf {
    "out".into()
}
fn default_batch_rows() -> usize {
    4096
}
fn default_rows_per_part() -> u64 {
    250_000
}

impl Default for PipelineSection {
    fn default() -> Self {
        Self {
            name: default_name(),
            seed: default_seed(),
            work_dir: default_work(),
            out_dir: default_out(),
            batch_rows: default_batch_rows(),
            rows_per_part: default_rows_per_part(),
            on_error: OnError::default(),
            memory: default_memory(),
            cluster: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    pub name: String,
    pub operator: String,
    /// The stage this one reads; `"input"` for the corpus; default: the stage listed before.
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub params: serde_json::Value,
}

impl StageConfig {
    /// A stage reading the stage listed before it.
    pub fn new(name: &str, operator: &str, params: serde_json::Value) -> Self {
        Self {
            name: name.into(),
            operator: operator.into(),
            input: None,
            params,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizerConfig {
    /// Load this tokenizer.json instead of training one.
    #[serde(default)]
    pub path: Option<PathBuf>,
    #[serde(default = "default_vocab")]
    pub vocab_size: usize,
    #[serde(default = "default_min_frequency")]
    pub min_frequency: u64,
    /// Text sampled (seeded, uniformly over documents) to train on.
    #[serde(default = "default_sample_bytes")]
    pub train_sample_bytes: u64,
    #[serde(default = "default_eos")]
    pub eos_token: String,
}

fn default_vocab() -> usize {
    8192
}
fn default_min_frequency() -> u64 {
    2
}
fn default_sample_bytes() -> u64 {
    64 << 20
}
fn default_eos() -> String {
    "<|endoftext|>".into()
}

impl Default for TokenizerConfig {
    fn default() -> Self {
        Self {
            path: None,
            vocab_size: default_vocab(),
            min_frequency: default_min_frequency(),
            train_sample_bytes: default_sample_bytes(),
            eos_token: default_eos(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// The stage whose documents become shards; default: the last stage.
    #[serde(default)]
    pub from: Option<String>,
    /// Column holding each document's domain (falls back to `source` when absent).
    #[serde(default = "default_domain_column")]
    pub domain_column: String,
    #[serde(default = "default_shard_tokens")]
    pub max_tokens_per_shard: u64,
}

fn default_domain_column() -> String {
    "domain".into()
}
fn default_shard_tokens() -> u64 {
    256 << 20
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self {
            from: None,
            domain_column: default_domain_column(),
            max_tokens_per_shard: default_shard_tokens(),
        }
    }
}

impl PipelineConfig {
    /// Reads and checks `path`; relative paths inside become relative to its folder.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| PipelineError::io(path, e))?;
        let mut config = Self::parse(&text, path)?;
        // `pipeline.toml` (no folder) has the empty path as parent: the current folder.
        let base = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // Absolute, so that paths recorded in the run's outputs (run_summary.json) name the
        // same files from any folder.
        let base = std::path::absolute(base).map_err(|e| PipelineError::io(base, e))?;
        config.resolve_paths(&base);
        Ok(config)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let config: Self = toml::from_str(text).map_err(|e| PipelineError::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        config.check(path)?;
        Ok(config)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let fail = |message: String| {
            Err(PipelineError::Config {
                path: path.to_path_buf(),
                message,
            })
        };
        if self.inputs.is_empty() {
            return fail("no [[inputs]]: name at least one file or folder".into());
        }
        if self.pipeline.batch_rows == 0 || self.pipeline.rows_per_part == 0 {
            return fail("batch_rows and rows_per_part must be positive".into());
        }
        if let Err(message) = parse_byte_size(&self.pipeline.memory) {
            return fail(format!("pipeline.memory: {message}"));
        }
        if self.output.max_tokens_per_shard == 0 {
            return fail("output.max_tokens_per_shard must be positive".into());
        }
        if let Some((key, problem)) = self.mixture.problem() {
            return fail(format!("[mixture] {key}: {problem}"));
        }
        if let Some((key, problem)) = self.shards.as_ref().and_then(ShardsConfig::problem) {
            return fail(format!("[shards] {key}: {problem}"));
        }
        Ok(())
    }

    /// Checks that every file the config names exists (inputs, tokenizer, mixture file,
    /// prior tokenizer, operators' path parameters), before any work starts.
    pub fn check_files(&self, config_path: &Path) -> Result<()> {
        let mut named: Vec<(String, &Path)> = Vec::new();
        for (i, input) in self.inputs.iter().enumerate() {
            named.push((
                format!("[[inputs]] #{} path: input not found", i + 1),
                &input.path,
            ));
        }
        if let Some(path) = &self.tokenizer.path {
            named.push(("[tokenizer] path".into(), path));
        }
        if let Some(path) = &self.mixture.file {
            named.push(("[mixture] file".into(), path));
        }
        if let PriorConfig::Tokenizer { tokenizer, .. } = &self.mixture.prior {
            named.push(("[mixture] prior.tokenizer".into(), tokenizer));
        }
        for stage in &self.stages {
            for key in blend_operators::path_params(&stage.operator) {
                if let Some(text) = stage.params.get(*key).and_then(|v| v.as_str()) {
                    named.push((
                        format!("stage `{}` params.{key}", stage.name),
                        Path::new(text),
                    ));
                }
            }
        }
        match named.into_iter().find(|(_, path)| !path.exists()) {
            Some((key, path)) => Err(PipelineError::Config {
                path: config_path.to_path_buf(),
                message: format!("{key}: {} does not exist", path.display()),
            }),
            None => Ok(()),
        }
    }

    /// The passes over a domain's tokens the mixture may ask for: `[mixture] max_epochs`,
    /// else `[shards] max_epochs`, else 4.
    pub fn max_epochs(&self) -> f64 {
        self.mixture
            .max_epochs
            .or(self.shards.as_ref().map(|s| s.max_epochs))
            .unwrap_or_else(shards::default_max_epochs)
    }

    /// The tokens the final mixture draws: `[mixture] token_budget`, else `[shards]
    /// tokens`; `None` means all available tokens.
    pub fn token_budget(&self) -> Option<u64> {
        self.mixture
            .token_budget
            .or(self.shards.as_ref().map(|s| s.tokens))
            .map(TokenCount::get)
    }

    /// Makes relative paths relative to `base`: the folders, inputs and tokenizer, and the
    /// parameters each stage's operator declares as paths (e.g. `model` of
    /// `quality.classifier`).
    pub fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut self.pipeline.work_dir);
        resolve(&mut self.pipeline.out_dir);
        for input in &mut self.inputs {
            resolve(&mut input.path);
        }
        if let Some(path) = self.tokenizer.path.as_mut() {
            resolve(path);
        }
        if let Some(path) = self.mixture.file.as_mut() {
            resolve(path);
        }
        if let PriorConfig::Tokenizer { tokenizer, .. } = &mut self.mixture.prior {
            resolve(tokenizer);
        }
        for stage in &mut self.stages {
            for key in blend_operators::path_params(&stage.operator) {
                if let Some(value) = stage.params.get_mut(*key)
                    && let Some(text) = value.as_str()
                    && Path::new(text).is_relative()
                {
                    *value = base.join(text).to_string_lossy().into_owned().into();
                }
            }
        }
    }

    /// This config with every stage's operator under its current name (old names are
    /// aliases), so caches, manifests and reports see one name per operator. Unknown names
    /// are left for the stage check to report.
    pub fn with_canonical_operators(&self) -> Self {
        let mut config = self.clone();
        for stage in &mut config.stages {
            if let Some(name) = blend_operators::canonical_name(&stage.operator)
                && name != stage.operator
            {
                tracing::info!(
                    "stage `{}`: operator `{}` is now called `{name}`",
                    stage.name,
                    stage.operator
                );
                stage.operator = name.to_string();
            }
        }
        config
    }

    /// The memory budget in bytes (checked when the config was parsed).
    pub fn memory_budget(&self) -> u64 {
        parse_byte_size(&self.pipeline.memory).unwrap_or(4 << 30)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_config_gets_defaults_and_typos_are_named() {
        let config =
            PipelineConfig::parse("[[inputs]]\npath = \"c\"\n", Path::new("p.toml")).unwrap();
        assert_eq!(config.pipeline.seed, 42);
        assert_eq!(config.tokenizer.vocab_size, 8192);
        let error = PipelineConfig::parse(
            "[[inputs]]\npath = \"c\"\n[pipeline]\nseeed = 1\n",
            Path::new("p.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("p.toml") && error.contains("seeed"),
            "{error}"
        );
        let error = PipelineConfig::parse("", Path::new("p.toml"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("inputs"), "{error}");
    }

    #[test]
    fn stage_params_are_json_values() {
        let text = "[[inputs]]\npath = \"c\"\n[[stages]]\nname = \"f\"\noperator = \"filter\"\n\
                    [[stages.params.rules]]\nname = \"r\"\nkeep = \"x > 1\"\n";
        let config = PipelineConfig::parse(text, Path::new("p.toml")).unwrap();
        assert_eq!(config.stages[0].params["rules"][0]["keep"], "x > 1");
        let round = PipelineConfig::parse(&config.to_toml(), Path::new("p.toml")).unwrap();
        assert_eq!(round.stages[0].params, config.stages[0].params);
    }
}
