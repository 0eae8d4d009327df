//! What a run records about its mixture, for `run_summary.json`, `report.json` and the
//! report: the natural token shares, the prior the search was centred on, the proxy runs,
//! the regressor, and the validation of the chosen mixture against the natural one.

use blend_mixers::RegressorModel;
use blend_proxy_train::{ProxyOutcome, TrainSettings, WeightUpdate};
use serde::{Deserialize, Serialize};

use super::config::{LOSS_PREFIX, MixtureMethod};

/// One finished proxy run, as saved under `runs/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRun {
    pub run: usize,
    pub domains: Vec<String>,
    pub weights: Vec<f64>,
    pub outcome: ProxyOutcome,
}

impl RecordedRun {
    /// The run's value of `target` (`valid_loss` or `loss/<domain>`); NaN for an unknown
    /// domain.
    pub fn target(&self, target: &str) -> f64 {
        target_loss(&self.domains, &self.outcome, target)
    }
}

/// `target` of a proxy outcome over `domains`.
pub fn target_loss(domains: &[String], outcome: &ProxyOutcome, target: &str) -> f64 {
    match target.strip_prefix(LOSS_PREFIX) {
        Some(domain) => domains
            .iter()
            .position(|d| d == domain)
            .map_or(f64::NAN, |i| outcome.valid_loss[i]),
        None => outcome.mean_valid_loss(),
    }
}

/// Named weights in the run's domain order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedWeights {
    pub name: String,
    pub weights: Vec<f64>,
}

/// The proxies, regressor and prior of a searched mixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchSummary {
    /// The regressor's prediction of the target for the natural mixture (the chosen one's
    /// is in the mixture's `prediction`).
    pub natural_predicted: f64,
    pub settings: TrainSettings,
    pub runs: Vec<RecordedRun>,
    /// Runs trained by this call (the rest were recorded before).
    pub trained: usize,
    pub model: RegressorModel,
    pub warnings: Vec<String>,
}

/// Held-out losses of the chosen and the natural mixture, trained longer than the search's
/// proxies, one value per seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationSummary {
    pub steps: usize,
    pub target: String,
    pub seeds: Vec<u64>,
    pub chosen: Vec<f64>,
    pub natural: Vec<f64>,
}

impl ValidationSummary {
    /// Mean and sample standard deviation of `values`.
    pub fn mean_sd(values: &[f64]) -> (f64, f64) {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n.max(1.0);
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        (mean, var.sqrt())
    }
}

/// How a run chose its mixture and what it compared it with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixtureSummary {
    pub method: MixtureMethod,
    pub domains: Vec<String>,
    /// Token shares of the output documents (the train side of the final shards' split).
    pub natural: Vec<f64>,
    /// The centre of the search's candidates.
    pub prior: Option<NamedWeights>,
    pub search: Option<SearchSummary>,
    pub validation: Option<ValidationSummary>,
    /// The proxy runs of a method without a regressor over mixtures (Bayesian optimisation,
    /// online reweighting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method_runs: Option<MethodRuns>,
}

/// The proxy runs of `bayes_opt` or `online`, with what those methods add to a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodRuns {
    pub settings: TrainSettings,
    pub target: String,
    pub runs: Vec<RecordedRun>,
    /// Runs trained by this call (the rest were reused).
    pub trained: usize,
    /// Bayesian optimisation: each run's steps (its fidelity), in run order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<usize>,
    /// Online reweighting: the weights after each update of the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<WeightUpdate>,
    /// Online reweighting: DoReMi's reference run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ProxyOutcome>,
}
