//! `[mixture]`: how the run's mixture is chosen: the natural token shares, a searched one
//! (proxies trained on the run's own output documents, a regressor, a search), or a file
//! searched elsewhere.
//!
//! ```toml
//! [mixture]
//! method = "search"        # natural | search | quadmix | bayes_opt | online | file
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
//! # method = "quadmix": documents drawn by quality rank within their domain
//! quadmix = { quality = ["quality_score"], lower_is_better = [], epsilon = 1e-3, top = 10 }
//! # method = "bayes_opt": a Gaussian process proposes one proxy at a time, at a fidelity
//! # (a share of `steps`) chosen by information per cost; `proxies` full runs' worth of steps
//! bayes_opt = { fidelities = [0.25, 1.0], initial = 4, candidates = 2000 }
//! # method = "online": one proxy (`proxies` × `steps` steps) reweights its domains as it
//! # trains (Aioli; DoReMi trains a reference proxy first and takes half the steps each)
//! online = { algorithm = "aioli", rounds = 8, step_size = 1.0, smoothing = 1e-3 }
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use blend_mixers::{RegressorKind, SearchSettings};
use blend_proxy_train::{DeviceChoice, OnlineAlgorithm, OnlineSettings, Preset};
use serde::{Deserialize, Serialize};

use super::token_count::TokenCount;

/// The regression target that averages the held-out loss over domains.
pub const MEAN_LOSS: &str = "valid_loss";
/// Prefix of a per-domain target, `loss/<domain>`.
pub const LOSS_PREFIX: &str = "loss/";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MixtureMethod {
    /// Token shares of the output documents.
    #[default]
    Natural,
    /// RegMix: proxies, a regressor and a search over the run's own domains.
    Search,
    /// QuaDMix: proxies on data drawn by quality rank and domain, a regressor over the
    /// sampling parameters, the mean of the best predicted.
    Quadmix,
    /// Multi-fidelity Bayesian optimisation: a Gaussian process proposes each proxy run.
    BayesOpt,
    /// Domain weights learnt inside one proxy run (Aioli or DoReMi).
    Online,
    /// A mixture searched elsewhere (`file`).
    File,
}

impl MixtureMethod {
    /// Whether the method trains proxies on the run's documents.
    pub fn trains_proxies(self) -> bool {
        matches!(
            self,
            Self::Search | Self::Quadmix | Self::BayesOpt | Self::Online
        )
    }
}

impl std::fmt::Display for MixtureMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Natural => "natural",
            Self::Search => "search",
            Self::Quadmix => "quadmix",
            Self::BayesOpt => "bayes_opt",
            Self::Online => "online",
            Self::File => "file",
        })
    }
}

/// `quadmix = { … }`: the quality columns QuaDMix ranks documents by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuadMixConfig {
    /// Numeric (or boolean) columns of the output documents; higher is better unless named
    /// in `lower_is_better`.
    pub quality: Vec<String>,
    #[serde(default)]
    pub lower_is_better: Vec<String>,
    /// The sampling function's floor: expected copies of the worst documents.
    #[serde(default = "default_epsilon")]
    pub epsilon: f64,
    /// The chosen parameters are the mean of this many best predicted (the paper: 10).
    #[serde(default = "default_quadmix_top")]
    pub top: usize,
}

fn default_epsilon() -> f64 {
    1e-3
}
fn default_quadmix_top() -> usize {
    10
}

/// `bayes_opt = { … }`: the fidelities (shares of `steps`) a proposal may be trained at,
/// the random first runs, and the candidates each proposal is chosen among.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BayesOptConfig {
    #[serde(default = "default_fidelities")]
    pub fidelities: Vec<f64>,
    #[serde(default = "default_initial")]
    pub initial: usize,
    #[serde(default = "default_bo_candidates")]
    pub candidates: usize,
}

fn default_fidelities() -> Vec<f64> {
    vec![0.25, 1.0]
}
fn default_initial() -> usize {
    4
}
fn default_bo_candidates() -> usize {
    2000
}

impl Default for BayesOptConfig {
    fn default() -> Self {
        toml::from_str("").expect("every bayes_opt key has a default")
    }
}

/// `online = { … }`: how one proxy run reweights its domains as it trains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnlineConfig {
    #[serde(default = "default_online_algorithm")]
    pub algorithm: OnlineAlgorithm,
    /// Weight updates over the run.
    #[serde(default = "default_rounds")]
    pub rounds: usize,
    /// η of the exponentiated-gradient update.
    #[serde(default = "default_step_size")]
    pub step_size: f64,
    /// Share of the uniform mixture mixed into every update (DoReMi's c).
    #[serde(default = "default_smoothing")]
    pub smoothing: f64,
}

fn default_online_algorithm() -> OnlineAlgorithm {
    OnlineAlgorithm::Aioli
}
fn default_rounds() -> usize {
    8
}
fn default_step_size() -> f64 {
    OnlineSettings::default().step_size
}
fn default_smoothing() -> f64 {
    OnlineSettings::default().smoothing
}

impl Default for OnlineConfig {
    fn default() -> Self {
        toml::from_str("").expect("every online key has a default")
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quadmix: Option<QuadMixConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bayes_opt: Option<BayesOptConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<OnlineConfig>,
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
            method if method != MixtureMethod::File && self.file.is_some() => {
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
        if let Some(problem) = self.method_table_problem() {
            return Some(problem);
        }
        if !self.method.trains_proxies() {
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

    /// A method's own table (`quadmix`, `bayes_opt`, `online`): required or allowed only
    /// with its method, and sound.
    fn method_table_problem(&self) -> Option<(&'static str, String)> {
        let tables = [
            ("quadmix", MixtureMethod::Quadmix, self.quadmix.is_some()),
            (
                "bayes_opt",
                MixtureMethod::BayesOpt,
                self.bayes_opt.is_some(),
            ),
            ("online", MixtureMethod::Online, self.online.is_some()),
        ];
        for (key, method, present) in tables {
            if present && self.method != method {
                return Some((
                    key,
                    format!(
                        "is only read with method = \"{method}\" (method is \"{}\")",
                        self.method
                    ),
                ));
            }
        }
        match self.method {
            MixtureMethod::Quadmix => match &self.quadmix {
                None => Some((
                    "quadmix",
                    "method = \"quadmix\" needs quadmix = { quality = [\"<column>\", …] }: the document columns to rank by".into(),
                )),
                Some(q) if q.quality.is_empty() => {
                    Some(("quadmix", "quality names no column".into()))
                }
                Some(q) => q
                    .lower_is_better
                    .iter()
                    .find(|c| !q.quality.contains(c))
                    .map(|c| {
                        (
                            "quadmix",
                            format!("lower_is_better names `{c}`, which is not in quality"),
                        )
                    })
                    .or_else(|| {
                        (!(q.epsilon.is_finite() && q.epsilon >= 0.0) || q.top == 0 || q.top > self.candidates)
                            .then(|| ("quadmix", format!("epsilon must be ≥ 0 and top between 1 and candidates ({})", self.candidates)))
                    }),
            },
            MixtureMethod::BayesOpt => {
                let b = self.bayes_opt.clone().unwrap_or_default();
                let levels_ok = !b.fidelities.is_empty()
                    && b.fidelities.iter().all(|f| *f > 0.0 && *f <= 1.0)
                    && b.fidelities.windows(2).all(|w| w[0] < w[1])
                    && b.fidelities.last() == Some(&1.0);
                if !levels_ok {
                    return Some((
                        "bayes_opt",
                        format!(
                            "fidelities {:?}: shares of steps, increasing, in (0, 1], the last 1",
                            b.fidelities
                        ),
                    ));
                }
                (b.initial < 2 || b.initial > self.proxies || b.candidates == 0).then(|| {
                    (
                        "bayes_opt",
                        format!(
                            "initial ({}) must be between 2 and proxies ({}), candidates positive",
                            b.initial, self.proxies
                        ),
                    )
                })
            }
            MixtureMethod::Online => {
                let o = self.online.clone().unwrap_or_default();
                (o.rounds == 0
                    || !(o.step_size.is_finite() && o.step_size > 0.0)
                    || !(0.0..1.0).contains(&o.smoothing))
                .then(|| {
                    (
                        "online",
                        "rounds and step_size must be positive and smoothing in [0, 1)".into(),
                    )
                })
            }
            _ => None,
        }
    }

    /// The online settings of `online = { … }` over a run of `steps` steps.
    pub fn online_settings(&self) -> OnlineSettings {
        let o = self.online.clone().unwrap_or_default();
        OnlineSettings {
            algorithm: o.algorithm,
            rounds: o.rounds,
            step_size: o.step_size,
            smoothing: o.smoothing,
            ..OnlineSettings::default()
        }
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

    #[test]
    fn each_method_table_belongs_to_its_method() {
        assert_eq!(
            parse("method = \"quadmix\"").problem().unwrap().0,
            "quadmix"
        );
        assert!(
            parse("method = \"quadmix\"\nquadmix = { quality = [\"quality_score\"] }")
                .problem()
                .is_none()
        );
        let (key, problem) = parse(
            "method = \"quadmix\"\nquadmix = { quality = [\"s\"], lower_is_better = [\"ppl\"] }",
        )
        .problem()
        .unwrap();
        assert!(key == "quadmix" && problem.contains("`ppl`"), "{problem}");
        let (key, problem) = parse("method = \"search\"\nonline = { rounds = 4 }")
            .problem()
            .unwrap();
        assert!(
            key == "online" && problem.contains("\"online\""),
            "{problem}"
        );
        assert!(parse("method = \"bayes_opt\"").problem().is_none());
        assert_eq!(
            parse("method = \"bayes_opt\"\nbayes_opt = { fidelities = [0.5, 0.25] }")
                .problem()
                .unwrap()
                .0,
            "bayes_opt"
        );
        assert!(
            parse("method = \"online\"\nonline = { algorithm = \"doremi\" }")
                .problem()
                .is_none()
        );
        assert_eq!(
            parse("method = \"online\"\nonline = { rounds = 0 }")
                .problem()
                .unwrap()
                .0,
            "online"
        );
    }
}
