//! `[shards]`: the final training shards, drawn by the chosen mixture to an exact token
//! budget (what `blend shards` takes as flags).
//!
//! ```toml
//! [shards]
//! tokens = "2B"            # training tokens in all (EOS included)
//! formats = ["megatron"]   # megatron, nanogpt, llmc, parquet
//! sequence_length = 2048   # pack into sequences of exactly this many tokens (optional)
//! max_epochs = 4           # most passes over any domain's documents
//! valid_fraction = 0.005   # documents held out (each once) as the valid split
//! shard_tokens = "256M"    # tokens per shard file
//! seed = 7                 # default: [pipeline] seed
//! ```

use blend_datasets::shards::ShardFormat;
use serde::{Deserialize, Serialize};

use super::token_count::TokenCount;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardsConfig {
    pub tokens: TokenCount,
    #[serde(default = "default_formats")]
    pub formats: Vec<ShardFormat>,
    #[serde(default)]
    pub sequence_length: Option<u64>,
    #[serde(default = "default_max_epochs")]
    pub max_epochs: f64,
    #[serde(default = "default_valid_fraction")]
    pub valid_fraction: f64,
    #[serde(default = "default_shard_tokens")]
    pub shard_tokens: TokenCount,
    #[serde(default)]
    pub seed: Option<u64>,
}

fn default_formats() -> Vec<ShardFormat> {
    vec![ShardFormat::Megatron]
}
pub(crate) fn default_max_epochs() -> f64 {
    4.0
}
fn default_valid_fraction() -> f64 {
    0.005
}
fn default_shard_tokens() -> TokenCount {
    TokenCount(256_000_000)
}

impl ShardsConfig {
    /// `blend shards`' defaults for a budget of `tokens`.
    pub fn new(tokens: u64) -> Self {
        Self {
            tokens: TokenCount(tokens),
            formats: default_formats(),
            sequence_length: None,
            max_epochs: default_max_epochs(),
            valid_fraction: default_valid_fraction(),
            shard_tokens: default_shard_tokens(),
            seed: None,
        }
    }

    /// What is wrong with these settings, as (key, problem), if anything.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if !(self.max_epochs.is_finite() && self.max_epochs > 0.0) {
            return Some((
                "max_epochs",
                format!("must be positive, got {}", self.max_epochs),
            ));
        }
        if !(0.0..1.0).contains(&self.valid_fraction) {
            return Some((
                "valid_fraction",
                format!("must be in [0, 1), got {}", self.valid_fraction),
            ));
        }
        if self.sequence_length == Some(0) {
            return Some(("sequence_length", "must be positive".into()));
        }
        if self.formats.is_empty() {
            return Some(("formats", "name at least one format".into()));
        }
        None
    }
}
