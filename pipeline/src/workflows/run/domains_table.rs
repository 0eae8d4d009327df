//! `domains.csv` beside the shards: one row per domain of each `cluster` stage (domain,
//! label, documents, bytes, words, tokens in the shards when those domains are the ones the
//! shards were split by, mean quality, fine clusters).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use blend_datasets::files::write_atomic;
use blend_operators::OperatorSpec;
use blend_operators::cluster::domains::{Cluster, ClusterSummary};

use crate::Result;
use crate::engine::summary::RunSummary;
use crate::workflows::csv_field;

pub const DOMAINS_FILE: &str = "domains.csv";

/// Writes the domains table of every `cluster` stage into `out_dir` (`domains.csv`, or
/// `domains_<stage>.csv` when there are several) and returns the paths. `shard_domain_column`
/// is the column the shards were split by.
pub fn write_domain_tables(
    summary: &RunSummary,
    shard_domain_column: &str,
    out_dir: &Path,
) -> Result<Vec<PathBuf>> {
    let stages: Vec<(&str, ClusterSummary)> = summary
        .stages
        .iter()
        .filter(|s| s.operator == Cluster::NAME)
        .filter_map(|s| {
            let found = s
                .operator_summary
                .as_ref()
                .and_then(ClusterSummary::from_json)?;
            Some((s.name.as_str(), found))
        })
        .collect();
    let mut written = Vec::new();
    for (name, found) in &stages {
        let path = if stages.len() == 1 {
            out_dir.join(DOMAINS_FILE)
        } else {
            out_dir.join(format!("domains_{name}.csv"))
        };
        let in_shards = found.domain_column == shard_domain_column;
        let mut csv =
            String::from("domain,label,docs,bytes,words,shard_tokens,mean_quality,fine_clusters\n");
        for row in &found.domains {
            let tokens = summary
                .mixture
                .domains
                .iter()
                .find(|d| in_shards && d.domain == row.domain)
                .map(|d| d.tokens.to_string())
                .unwrap_or_default();
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{},{},{}",
                csv_field(&row.domain),
                csv_field(&row.terms.join(" ")),
                row.docs,
                row.bytes,
                row.words,
                tokens,
                row.mean_quality
                    .map(|q| format!("{q:.6}"))
                    .unwrap_or_default(),
                row.fine_clusters
            );
        }
        write_atomic(&path, csv.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}
