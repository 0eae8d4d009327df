//! The tokens each domain of the output documents holds, counted with the run's tokenizer
//! on the train side of the final shards' split (the same seeded hash of each id the shards
//! use): the natural mixture, the search's epoch caps and the shards' draw all see the same
//! numbers. A cached step keyed by the documents, the tokenizer and the split.

use std::collections::BTreeMap;
use std::path::Path;

use blend_datasets::files::write_atomic;
use blend_mixers::{DomainStats, Mixture, natural_mixture};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::json_step::JsonStep;
use crate::engine::cache::{CacheKey, cached_async, stage_dir};
use crate::engine::encode::encode_batch;
use crate::engine::runner::Curation;
use crate::engine::session::stream_parts;
use crate::engine::shards::domain_column;
use crate::engine::summary::StepRecord;
use crate::progress::Progress;
use crate::workflows::csv_field;
use crate::workflows::shards::is_valid_document;
use crate::{BLEND_VERSION, PipelineError, Result};

/// One domain's documents and tokens (EOS included) in the final shards' splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainSize {
    pub domain: String,
    pub train_documents: u64,
    pub train_tokens: u64,
    pub valid_documents: u64,
    pub valid_tokens: u64,
}

/// Every domain of the output documents, in name order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainSizes {
    pub domains: Vec<DomainSize>,
}

impl DomainSizes {
    pub fn names(&self) -> Vec<String> {
        self.domains.iter().map(|d| d.domain.clone()).collect()
    }

    pub fn train_tokens(&self) -> u64 {
        self.domains.iter().map(|d| d.train_tokens).sum()
    }

    /// The size of `domain`, if the documents have it.
    pub fn get(&self, domain: &str) -> Option<&DomainSize> {
        self.domains.iter().find(|d| d.domain == domain)
    }

    /// Token shares of the train split, in `order`.
    pub fn shares(&self, order: &[String]) -> Vec<f64> {
        let total = self.train_tokens().max(1) as f64;
        order
            .iter()
            .map(|d| self.get(d).map_or(0.0, |s| s.train_tokens as f64 / total))
            .collect()
    }

    /// The natural mixture (token shares of the train split).
    pub fn natural_mixture(&self, seed: u64, docs_hash: &str) -> Result<Mixture> {
        let stats: Vec<DomainStats> = self
            .domains
            .iter()
            .map(|d| DomainStats {
                domain: d.domain.clone(),
                documents: d.train_documents,
                tokens: d.train_tokens,
            })
            .collect();
        let inputs = BTreeMap::from([("documents_stage".to_string(), docs_hash.to_string())]);
        Ok(natural_mixture(&stats, seed, inputs)?)
    }

    /// `domain,tokens,documents` (train split), the table the search reads its caps from.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let mut csv = String::from("domain,tokens,documents\n");
        for d in &self.domains {
            csv.push_str(&format!(
                "{},{},{}\n",
                csv_field(&d.domain),
                d.train_tokens,
                d.train_documents
            ));
        }
        write_atomic(path, csv.as_bytes())?;
        Ok(())
    }
}

#[derive(Serialize)]
struct DomainSizesKey<'a> {
    blend: &'a str,
    docs: &'a str,
    tokenizer: &'a str,
    domain_column: &'a str,
    valid_fraction: f64,
    seed: u64,
}

/// Counts (or reuses) the domain sizes of the curation's output documents.
pub async fn count_domain_sizes(
    curation: &Curation,
    domain_column_name: &str,
    valid_fraction: f64,
    seed: u64,
    work_dir: &Path,
    progress: &dyn Progress,
) -> Result<(DomainSizes, StepRecord)> {
    let (docs_dir, docs_manifest) = (&curation.docs.0, &curation.docs.1);
    let key = CacheKey::new(&DomainSizesKey {
        blend: BLEND_VERSION,
        docs: &docs_manifest.content_digest(),
        tokenizer: &curation.tokenizer.info.sha256,
        domain_column: domain_column_name,
        valid_fraction,
        seed,
    });
    let step = cached_async(
        stage_dir(work_dir, "domain-sizes", &key),
        &key,
        async |_: &Path| {
            const STAGE: &str = "domain sizes";
            let mut stream =
                stream_parts(&curation.ctx, STAGE, docs_dir, &docs_manifest.parts).await?;
            let column = domain_column(&stream.schema(), domain_column_name);
            let task = progress.start("count tokens", Some(docs_manifest.rows_out), "docs");
            let mut sizes: BTreeMap<String, DomainSize> = BTreeMap::new();
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| PipelineError::datafusion(STAGE, e))?;
                let encoded = encode_batch(STAGE, &batch, &curation.tokenizer, &column)?;
                for (row, tokens) in encoded.tokens.iter().enumerate() {
                    let domain = encoded.domain(row);
                    let size = sizes
                        .entry(domain.to_string())
                        .or_insert_with(|| DomainSize {
                            domain: domain.to_string(),
                            train_documents: 0,
                            train_tokens: 0,
                            valid_documents: 0,
                            valid_tokens: 0,
                        });
                    if is_valid_document(encoded.ids.value(row), seed, valid_fraction) {
                        size.valid_documents += 1;
                        size.valid_tokens += tokens.len() as u64;
                    } else {
                        size.train_documents += 1;
                        size.train_tokens += tokens.len() as u64;
                    }
                }
                task.advance(batch.num_rows() as u64);
            }
            task.finish(&format!("{} domains", sizes.len()));
            let sizes = DomainSizes {
                domains: sizes.into_values().collect(),
            };
            Ok(JsonStep::new(&key, sizes))
        },
    )
    .await?;
    let record = StepRecord::new("domain_sizes", step.reused, step.cost);
    Ok((step.output.output, record))
}
