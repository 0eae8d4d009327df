//! The `mixture.json` schema (version 1):
//!
//! ```json
//! { "schema_version": 1, "method": "natural", "seed": 42,
//!   "total_tokens": 123456,
//!   "domains": [ { "domain": "code", "weight": 0.15, "tokens": 18518,
//!                  "available_tokens": 18518, "documents": 300, "epochs": 1.0 } ],
//!   "inputs": { "domains_table_sha256": "…" } }
//! ```
//! Weights sum to 1; `tokens` = weight × total; `epochs` = tokens / available tokens.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{MixerError, Result};

pub const MIXTURE_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainWeight {
    pub domain: String,
    pub weight: f64,
    pub tokens: u64,
    pub available_tokens: u64,
    pub documents: u64,
    pub epochs: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mixture {
    pub schema_version: u32,
    pub method: String,
    pub seed: u64,
    pub total_tokens: u64,
    pub domains: Vec<DomainWeight>,
    /// sha256 of what the mixture was computed from, by name.
    pub inputs: BTreeMap<String, String>,
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
