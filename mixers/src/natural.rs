//! The natural mixture: every domain weighted by its share of the available tokens, each
//! used exactly once (one epoch).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::mixture::{DomainWeight, MIXTURE_SCHEMA_VERSION, Mixture};
use crate::{MixerError, Result};

/// One row of the domains table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainStats {
    pub domain: String,
    pub documents: u64,
    pub tokens: u64,
}

/// The natural mixture of `domains` (sorted by name in the output).
pub fn natural_mixture(
    domains: &[DomainStats],
    seed: u64,
    inputs: BTreeMap<String, String>,
) -> Result<Mixture> {
    let total: u64 = domains.iter().map(|d| d.tokens).sum();
    if total == 0 {
        return Err(MixerError::Invalid(
            "the domains table has no tokens (every document was removed?)".into(),
        ));
    }
    let mut sorted = domains.to_vec();
    sorted.sort_by(|a, b| a.domain.cmp(&b.domain));
    if let Some(pair) = sorted.windows(2).find(|w| w[0].domain == w[1].domain) {
        return Err(MixerError::Invalid(format!(
            "domain `{}` appears twice",
            pair[0].domain
        )));
    }
    Ok(Mixture {
        schema_version: MIXTURE_SCHEMA_VERSION,
        method: "natural".into(),
        seed,
        total_tokens: total,
        domains: sorted
            .into_iter()
            .map(|d| DomainWeight {
                weight: d.tokens as f64 / total as f64,
                tokens: d.tokens,
                available_tokens: d.tokens,
                documents: d.documents,
                epochs: 1.0,
                domain: d.domain,
            })
            .collect(),
        inputs,
        prediction: None,
        search: None,
        sampling: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(domain: &str, tokens: u64) -> DomainStats {
        DomainStats {
            domain: domain.into(),
            documents: tokens / 10,
            tokens,
        }
    }

    #[test]
    fn weights_are_token_shares() {
        let mixture =
            natural_mixture(&[stats("web", 300), stats("code", 100)], 1, BTreeMap::new()).unwrap();
        mixture.validate().unwrap();
        assert_eq!(mixture.domains[0].domain, "code");
        assert_eq!(mixture.domains[0].weight, 0.25);
        assert_eq!(mixture.domains[1].weight, 0.75);
        assert_eq!(mixture.total_tokens, 400);
        let again =
            natural_mixture(&[stats("code", 100), stats("web", 300)], 1, BTreeMap::new()).unwrap();
        assert_eq!(
            mixture.sha256(),
            again.sha256(),
            "order of the table does not matter"
        );
    }

    #[test]
    fn empty_or_duplicate_tables_are_errors() {
        assert!(natural_mixture(&[], 1, BTreeMap::new()).is_err());
        assert!(natural_mixture(&[stats("a", 0)], 1, BTreeMap::new()).is_err());
        assert!(natural_mixture(&[stats("a", 1), stats("a", 2)], 1, BTreeMap::new()).is_err());
    }

    #[test]
    fn round_trip_through_a_file() {
        let dir = std::env::temp_dir().join(format!("blend-mixture-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mixture.json");
        let mixture = natural_mixture(
            &[stats("a", 1), stats("b", 2), stats("c", 7919)],
            3,
            BTreeMap::new(),
        )
        .unwrap();
        std::fs::write(&path, mixture.to_json()).unwrap();
        let read = Mixture::read(&path).unwrap();
        assert_eq!(read, mixture, "floats survive the round trip exactly");
        assert_eq!(read.sha256(), mixture.sha256());
        std::fs::write(&path, "{\"schema_version\": 1}").unwrap();
        assert!(
            Mixture::read(&path)
                .unwrap_err()
                .to_string()
                .contains("mixture.json")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
