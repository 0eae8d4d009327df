//! The `mixture.json` schema (version 1; `docs/mixture.schema.json` is its JSON Schema):
//!
//! ```json
//! { "schema_version": 1, "method": "natural", "seed": 42,
//!   "total_tokens": 123456,
//!   "domains": [ { "domain": "code", "weight": 0.15, "tokens": 18518,
//!                  "available_tokens": 18518, "documents": 300, "epochs": 1.0 } ],
//!   "inputs": { "domains_table_sha256": "…" },
//!   "prediction": { "target": "loss/web", "value": 3.21, "interval": [3.19, 3.24],
//!                   "confidence": 0.95, "bootstrap_fits": 16, "minimize": true },
//!   "search": { "regressor": "lightgbm", "candidates": 1000000, "top_k": 128, … } }
//! ```
//! Weights sum to 1; `tokens` = weight × total; `epochs` = tokens / available tokens.
//! `available_tokens`, `documents` and `epochs` are 0 when no domains table was given (a
//! search over recorded runs alone knows weights, not corpus sizes). `prediction` and
//! `search` are present for searched mixtures (`method` names the strategy, e.g. `regmix`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{MixerError, Result};

pub const MIXTURE_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainWeight {
    pub domain: String,
    pub weight: f64,
    pub tokens: u64,
    pub available_tokens: u64,
    pub documents: u64,
    pub epochs: f64,
}

/// What the regressor predicts for the mixture, with a bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prediction {
    /// The metric column the regressor was fitted on.
    pub target: String,
    pub value: f64,
    /// `[low, high]` percentile interval over bootstrap refits; absent with 0 refits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<[f64; 2]>,
    pub confidence: f64,
    pub bootstrap_fits: usize,
    /// Lower is better.
    pub minimize: bool,
}

/// How a searched mixture was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRecord {
    pub regressor: String,
    pub candidates: usize,
    pub top_k: usize,
    /// Mean prediction of the top-k candidates (the mixture is their mean).
    pub top_k_mean_prediction: f64,
    pub best_candidate_prediction: f64,
    /// Where the sampler's prior came from (`domain tokens`, `mean of runs`, …).
    pub prior: String,
    pub temperature: f64,
    pub min_strength: f64,
    pub max_strength: f64,
    /// Per-domain epoch cap, when a token budget and domain sizes were given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_epochs: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mixture {
    pub schema_version: u32,
    pub method: String,
    pub seed: u64,
    pub total_tokens: u64,
    pub domains: Vec<DomainWeight>,
    /// sha256 of what the mixture was computed from, by name.
    pub inputs: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<Prediction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchRecord>,
    /// QuaDMix: which documents of a domain fill its tokens (by quality rank); absent, a
    /// domain's documents are drawn uniformly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<crate::quadmix::QualitySampling>,
}

impl Mixture {
    /// Pretty JSON with a trailing newline; the bytes `sha256` hashes.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("mixture serializes");
        json.push('\n');
        json
    }

    pub fn sha256(&self) -> String {
        Sha256::digest(self.to_json().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Checks the invariants of the schema.
    pub fn validate(&self) -> Result<()> {
        if self.schema_version != MIXTURE_SCHEMA_VERSION {
            return Err(MixerError::Invalid(format!(
                "schema_version {} is not {MIXTURE_SCHEMA_VERSION}",
                self.schema_version
            )));
        }
        if self.domains.is_empty() {
            return Err(MixerError::Invalid("no domains".into()));
        }
        let total: f64 = self.domains.iter().map(|d| d.weight).sum();
        if (total - 1.0).abs() > 1e-6 {
            return Err(MixerError::Invalid(format!(
                "weights sum to {total}, not 1"
            )));
        }
        if let Some(bad) = self
            .domains
            .iter()
            .find(|d| !(0.0..=1.0).contains(&d.weight))
        {
            return Err(MixerError::Invalid(format!(
                "domain `{}` has weight {}",
                bad.domain, bad.weight
            )));
        }
        if let Some(bad) = self
            .domains
            .iter()
            .find(|d| d.epochs < 0.0 || !d.epochs.is_finite())
        {
            return Err(MixerError::Invalid(format!(
                "domain `{}` has {} epochs",
                bad.domain, bad.epochs
            )));
        }
        let mut names: Vec<&str> = self.domains.iter().map(|d| d.domain.as_str()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(MixerError::Invalid(format!(
                "domain `{}` appears twice",
                pair[0]
            )));
        }
        if let Some(sampling) = &self.sampling {
            sampling.validate()?;
            if let Some(missing) = self
                .domains
                .iter()
                .find(|d| d.weight > 0.0 && !sampling.domains.iter().any(|s| s.domain == d.domain))
            {
                return Err(MixerError::Invalid(format!(
                    "domain `{}` has no quality sampling function",
                    missing.domain
                )));
            }
        }
        if let Some(prediction) = &self.prediction {
            if !prediction.value.is_finite() {
                return Err(MixerError::Invalid(
                    "the predicted value is not finite".into(),
                ));
            }
            if let Some([low, high]) = prediction.interval
                && (low.is_nan() || high.is_nan() || low > high)
            {
                return Err(MixerError::Invalid(format!(
                    "prediction interval [{low}, {high}] is empty"
                )));
            }
        }
        Ok(())
    }

    pub fn read(path: &Path) -> Result<Self> {
        let file_error = |message: String| MixerError::File {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| file_error(e.to_string()))?;
        let mixture: Self =
            serde_json::from_slice(&bytes).map_err(|e| file_error(e.to_string()))?;
        mixture.validate().map_err(|e| file_error(e.to_string()))?;
        Ok(mixture)
    }
}
