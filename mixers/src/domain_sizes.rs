//! Domain sizes for a search: a `domain,tokens[,documents]` table (CSV or Parquet), such
//! as a pipeline's domains table. They set the sampler's prior (token shares) and the epoch
//! caps.

use std::path::Path;

use polars::prelude::DataType;

use crate::experiment_table::read_frame;
use crate::{MixerError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSizes {
    /// Tokens per domain, in the order asked for.
    pub tokens: Vec<u64>,
    /// Documents per domain (0 when the table has no `documents` column).
    pub documents: Vec<u64>,
}

impl DomainSizes {
    /// Reads the rows of `domains` (in that order) from `path`.
    pub fn read(path: &Path, domains: &[String]) -> Result<Self> {
        let frame = read_frame(path)?;
        let bad = |message: String| MixerError::table(path, message);
        let expected = "expected columns domain,tokens[,documents]";
        let names: Vec<String> = {
            let column = frame
                .column("domain")
                .map_err(|_| bad(format!("no `domain` column ({expected})")))?;
            let strings = column
                .cast(&DataType::String)
                .map_err(|e| bad(e.to_string()))?;
            let strings = strings.str().map_err(|e| bad(e.to_string()))?;
            strings
                .iter()
                .map(|v| v.unwrap_or_default().to_string())
                .collect()
        };
        let numbers = |name: &str| -> Result<Option<Vec<u64>>> {
            let Ok(column) = frame.column(name) else {
                return Ok(None);
            };
            let values = column
                .cast(&DataType::UInt64)
                .map_err(|e| bad(format!("`{name}`: {e}")))?;
            let values = values.u64().map_err(|e| bad(e.to_string()))?;
            values
                .iter()
                .enumerate()
                .map(|(row, v)| {
                    v.ok_or_else(|| {
                        bad(format!("row {}: `{name}` is empty or not a count", row + 1))
                    })
                })
                .collect::<Result<Vec<_>>>()
                .map(Some)
        };
        let tokens =
            numbers("tokens")?.ok_or_else(|| bad(format!("no `tokens` column ({expected})")))?;
        let documents = numbers("documents")?.unwrap_or_else(|| vec![0; names.len()]);
        let mut sizes = Self {
            tokens: Vec::new(),
            documents: Vec::new(),
        };
        for domain in domains {
            let row = names.iter().position(|n| n == domain).ok_or_else(|| {
                bad(format!(
                    "no row for domain `{domain}` (the domains are {})",
                    domains.join(", ")
                ))
            })?;
            sizes.tokens.push(tokens[row]);
            sizes.documents.push(documents[row]);
        }
        Ok(sizes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_in_the_asked_order_and_names_missing_domains() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("domains.csv");
        std::fs::write(&path, "domain,tokens,documents\nweb,300,30\ncode,100,5\n").unwrap();
        let sizes = DomainSizes::read(&path, &["code".into(), "web".into()]).unwrap();
        assert_eq!(
            sizes,
            DomainSizes {
                tokens: vec![100, 300],
                documents: vec![5, 30]
            }
        );
        let error = DomainSizes::read(&path, &["books".into()])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`books`") && error.contains("domains.csv"),
            "{error}"
        );
    }
}
