//! `[mixture]`: how the run's mixture is chosen: the natural token shares, a searched one
//! (proxies trained on the run's own output documents, a regressor, a search), or a file
//! searched elsewhere.
//!
//! ```toml
//! [mixture]
//! method = "search"        # natural | search | file
//! prior = "natural"        # natural | uniform | { tokenizer = "llama.json", merges = 2000 }
//! proxies = 16             # proxy runs (mixtures), trained on the output documents
//! steps = 200              # optimizer steps per proxy
//! preset = "tiny"          # tiny | regmix-1m
//! sequence_length = 128
//! batch_size = 16
//! lr = 3e-3
//! device = "cpu"           # cpu | cuda (a blend built with --features cuda)
//! parallel = 1             # proxies trained at once
//! vocab_size = 4096        # train a tokenizer for the proxies (default: the run's)
//! valid_fraction = 0.1     # documents held out to score the proxies
//! target = "valid_loss"    # or loss/<domain>
//! regressor = "lightgbm"   # lightgbm | linear | log_linear | mixing_law
//! candidates = 1000000
//! top_k = 128
//! bootstrap = 16           # refits for the prediction interval
//! temperature = 0.5        # the sampler's exponent on the prior
//! min_weight = { code = 0.05 }
//! max_weight = { web = 0.6 }
//! # max_epochs and token_budget default to [shards] max_epochs and tokens
//! validate = { steps = 600, seeds = 3 }
//! # method = "file": file = "mixture.json"
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use blend_mixers::{RegressorKind, SearchSettings};
use blend_proxy_train::{DeviceChoice, Preset};
use serde::{Deserialize, Serialize};

use super::token_count::TokenCount;

/// The regression target that averages the held-out loss over domains.
pub const MEAN_LOSS: &str = "valid_loss";
/// Prefix of a per-domain target, `loss/<domain>`.
pub const LOSS_PREFIX: &str = "loss/";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MixtureMethod {
    /// Token shares of the output documents.
    #[default]
    Natural,
    /// Proxies, a regressor and a search over the run's own domains.
    Search,
    /// A mixture searched elsewhere (`file`).
    File,
}

impl std::fmt::Display for MixtureMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Natural => "natural",
            Self::Search => "search",
            Self::File => "file",
        })
    }
}

/// The centre of the search's candidates (and of its first proxy runs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PriorConfig {
    Named(NamedPrior),
    /// The mixture BPE mixture inference reads off this tokenizer's first `merges` merges,
    /// over the run's own domains: centre the search on what a known model was trained on.
    Tokenizer {
        tokenizer: PathBuf,
        #[serde(default = "default_prior_merges")]
        merges: usize,
    },
}

/// Merges the BPE prior reads: the solve grows with them (all 50k merges of GPT-2's
/// tokenizer ran for over 15 minutes on 2 cores without finishing; `blend bpe-eval` finds
/// weights from the first thousands).
pub fn default_prior_merges() -> usize {
    2000
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NamedPrior {
    Natural,
    Uniform,
}

impl Default for PriorConfig {
    fn default() -> Self {
        Self::Named(NamedPrior::Natural)
    }
}

/// `validate = { steps, seeds }`: train the chosen and the natural mixture longer, over
/// several seeds, and compare their held-out losses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateConfig {
    pub steps: usize,
    #[serde(default = "default_seeds")]
    pub seeds: usize,
}

fn default_seeds() -> usize {
    3
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixtureConfig {
    #[serde(default)]
    pub method: MixtureMethod,
    /// `method = "file"`: the mixture.json to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    #[serde(default)]
    pub prior: PriorConfig,
    #[serde(default = "default_proxies")]
    pub proxies: usize,
    #[serde(default = "default_steps")]
    pub steps: usize,
    #[serde(default = "default_preset")]
    pub preset: Preset,
    #[serde(default = "default_sequence_length")]
    pub sequence_length: usize,
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    #[serde(default = "default_lr")]
    pub lr: f64,
    #[serde(default = "default_device")]
    pub device: DeviceChoice,
    #[serde(default = "default_parallel")]
    pub parallel: usize,
    /// Train a tokenizer of this size for the proxies (default: use the run's tokenizer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocab_size: Option<usize>,
    #[serde(default = "default_valid_fraction")]
    pub valid_fraction: f64,
    #[serde(default = "default_target")]
    pub target: String,
    #[serde(default = "default_regressor")]
    pub regressor: RegressorKind,
    #[serde(default = "default_candidates")]
    pub candidates: usize,
    #[serde(default = "default_top_k")]
    pub top_k: usize,
    #[serde(default = "default_bootstrap")]
    pub bootstrap: usize,
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    #[serde(default)]
    pub min_weight: BTreeMap<String, f64>,
    #[serde(default)]
    pub max_weight: BTreeMap<String, f64>,
    /// Default: `[shards] max_epochs` (4 without a `[shards]` section).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_epochs: Option<f64>,
    /// Tokens the final mixture draws; default: `[shards] tokens` (all available tokens
    /// without a `[shards]` section).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_budget: Option<TokenCount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate: Option<ValidateConfig>,
}

fn default_proxies() -> usize {
    16
}
fn default_steps() -> usize {
    200
}
fn default_preset() -> Preset {
    Preset::Tiny
}
fn default_sequence_length() -> usize {
    128
}
fn default_batch_size() -> usize {
    16
}
fn default_lr() -> f64 {
    3e-3
}
fn default_device() -> DeviceChoice {
    DeviceChoice::Cpu
}
fn default_parallel() -> usize {
    1
}
fn default_valid_fraction() -> f64 {
    0.1
}
fn default_target() -> String {
    MEAN_LOSS.into()
}
fn default_regressor() -> RegressorKind {
    RegressorKind::LightGbm
}
fn default_candidates() -> usize {
    SearchSettings::default().candidates
}
fn default_top_k() -> usize {
    SearchSettings::default().top_k
}
fn default_bootstrap() -> usize {
    SearchSettings::default().bootstrap
}
fn default_temperature() -> f64 {
    0.5
}

impl Default for MixtureConfig {
    fn default() -> Self {
        toml::from_str("").expect("every [mixture] key has a default")
    }
}

impl MixtureConfig {
    /// What is wrong with these settings, as (key, problem), if anything; domains are
    /// checked once the run knows them.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        match self.method {
            MixtureMethod::File if self.file.is_none() => {
                return Some((
                    "file",
                    "method = \"file\" needs file = \"mixture.json\"".into(),
                ));
            }
            MixtureMethod::Natural | MixtureMethod::Search if self.file.is_some() => {
                return Some((
                    "file",
                    format!(
                        "is only read with method = \"file\" (method is \"{}\")",
                        self.method
                    ),
                ));
            }
            _ => {}
        }
        if self.method != MixtureMethod::Search {
            return None;
        }
        if self.proxies < 2 {
            return Some((
                "proxies",
                format!(
                    "{} is too few: a regression needs at least 2 runs (RegMix used 512)",
                    self.proxies
                ),
            ));
        }
        if self.steps == 0 || self.batch_size == 0 || self.sequence_length < 2 {
            return Some((
                "steps",
                "steps and batch_size must be positive and sequence_length at least 2".into(),
            ));
        }
        if !(self.valid_fraction > 0.0 && self.valid_fraction < 1.0) {
            return Some((
                "valid_fraction",
                format!("must be between 0 and 1, got {}", self.valid_fraction),
            ));
        }
        if self.candidates == 0 || self.top_k == 0 || self.top_k > self.candidates {
            return Some((
                "top_k",
                format!("must be between 1 and candidates ({})", self.candidates),
            ));
        }
        if self.max_epochs.is_some_and(|e| !(e.is_finite() && e > 0.0)) {
            return Some(("max_epochs", "must be positive".into()));
        }
        if self.target != MEAN_LOSS && !self.target.starts_with(LOSS_PREFIX) {
            return Some((
                "target",
                format!(
                    "`{}`: expected `{MEAN_LOSS}` or `{LOSS_PREFIX}<domain>`",
                    self.target
                ),
            ));
        }
        for (key, bounds) in [
            ("min_weight", &self.min_weight),
            ("max_weight", &self.max_weight),
        ] {
            if let Some((domain, value)) = bounds.iter().find(|(_, v)| !(0.0..=1.0).contains(*v)) {
                return Some((
                    key,
                    format!("{domain} = {value}: a weight bound is between 0 and 1"),
                ));
            }
        }
        if let Some(validate) = self.validate
            && (validate.steps == 0 || validate.seeds == 0)
        {
            return Some(("validate", "steps and seeds must be positive".into()));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> MixtureConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn defaults_are_natural_with_regmix_search_settings() {
        let config = MixtureConfig::default();
        assert_eq!(config.method, MixtureMethod::Natural);
        assert_eq!(config.prior, PriorConfig::Named(NamedPrior::Natural));
        assert_eq!(config.top_k, 128);
        assert!(config.problem().is_none());
    }

    #[test]
    fn priors_read_as_names_or_a_tokenizer() {
        assert_eq!(
            parse("prior = \"uniform\"").prior,
            PriorConfig::Named(NamedPrior::Uniform)
        );
        assert_eq!(
            parse("prior = { tokenizer = \"t.json\" }").prior,
            PriorConfig::Tokenizer {
                tokenizer: "t.json".into(),
                merges: default_prior_merges(),
            }
        );
        assert!(toml::from_str::<MixtureConfig>("prior = \"flat\"").is_err());
    }

    #[test]
    fn unknown_method_is_named() {
        let error = toml::from_str::<MixtureConfig>("method = \"magic\"")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("magic") && error.contains("search"),
            "{error}"
        );
    }

    #[test]
    fn file_method_needs_a_file_and_search_needs_two_proxies() {
        assert_eq!(parse("method = \"file\"").problem().unwrap().0, "file");
        assert_eq!(
            parse("method = \"search\"\nproxies = 1")
                .problem()
                .unwrap()
                .0,
            "proxies"
        );
        assert_eq!(
            parse("method = \"search\"\nmax_weight = { web = 1.5 }")
                .problem()
                .unwrap()
                .0,
            "max_weight"
        );
        assert!(
            parse("method = \"search\"\nvalidate = { steps = 50 }")
                .problem()
                .is_none()
        );
    }
}
