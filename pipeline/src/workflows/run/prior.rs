//! The prior of a run's search (`[mixture] prior`): the natural token shares, uniform
//! weights, or the mixture BPE mixture inference reads off a tokenizer's merges over a
//! sample of each of the run's own domains (what a known model was trained on).

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::{Array, StringArray};
use blend_datasets::TEXT_COLUMN;
use blend_mixers::bpe_inference::{InferenceOptions, MergeList};
use futures::StreamExt;

use crate::engine::config::{NamedPrior, PriorConfig};
use crate::engine::mixture_summary::NamedWeights;
use crate::engine::runner::Curation;
use crate::engine::session::stream_parts;
use crate::engine::shards::domain_column;
use crate::progress::Progress;
use crate::workflows::bpe::infer::{CategoryText, infer_from_texts};
use crate::{PipelineError, Result};

/// Text per domain the BPE prior reads (the first documents in corpus order).
const PRIOR_SAMPLE_BYTES: u64 = 1 << 20;

/// The prior's name and weights in `domains` order; `natural` is the token shares.
pub async fn prior_weights(
    prior: &PriorConfig,
    curation: &Curation,
    domain_column_name: &str,
    domains: &[String],
    natural: &[f64],
    progress: &dyn Progress,
) -> Result<NamedWeights> {
    match prior {
        PriorConfig::Named(NamedPrior::Natural) => Ok(NamedWeights {
            name: "natural (token share)".into(),
            weights: natural.to_vec(),
        }),
        PriorConfig::Named(NamedPrior::Uniform) => Ok(NamedWeights {
            name: "uniform".into(),
            weights: vec![1.0 / domains.len() as f64; domains.len()],
        }),
        PriorConfig::Tokenizer { tokenizer } => {
            let texts = domain_texts(curation, domain_column_name, domains).await?;
            bpe_prior(tokenizer, &texts, domains, progress)
        }
    }
}

/// The first [`PRIOR_SAMPLE_BYTES`] of text of every domain, in `domains` order.
async fn domain_texts(
    curation: &Curation,
    domain_column_name: &str,
    domains: &[String],
) -> Result<Vec<CategoryText>> {
    const STAGE: &str = "prior sample";
    let (docs_dir, docs_manifest) = (&curation.docs.0, &curation.docs.1);
    let mut stream = stream_parts(&curation.ctx, STAGE, docs_dir, &docs_manifest.parts).await?;
    let column = domain_column(&stream.schema(), domain_column_name);
    let mut texts: BTreeMap<&str, (u64, Vec<String>)> = domains
        .iter()
        .map(|d| (d.as_str(), (0, Vec::new())))
        .collect();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| PipelineError::datafusion(STAGE, e))?;
        let Some(text) = batch
            .column_by_name(TEXT_COLUMN)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        else {
            return Err(PipelineError::column(
                STAGE,
                TEXT_COLUMN,
                "is missing or not text",
            ));
        };
        let labels = batch
            .column_by_name(&column)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>());
        for row in 0..batch.num_rows() {
            let domain = labels
                .filter(|l| !l.is_null(row))
                .map_or("unknown", |l| l.value(row));
            if let Some((bytes, sample)) = texts.get_mut(domain)
                && *bytes < PRIOR_SAMPLE_BYTES
                && !text.is_null(row)
            {
                *bytes += text.value(row).len() as u64;
                sample.push(text.value(row).to_string());
            }
        }
    }
    Ok(domains
        .iter()
        .map(|d| CategoryText {
            name: d.clone(),
            texts: texts.remove(d.as_str()).map(|(_, t)| t).unwrap_or_default(),
        })
        .collect())
}

fn bpe_prior(
    tokenizer: &Path,
    texts: &[CategoryText],
    domains: &[String],
    progress: &dyn Progress,
) -> Result<NamedWeights> {
    let merge_list = MergeList::from_file(tokenizer)?;
    let outcome = infer_from_texts(
        &merge_list,
        texts,
        None,
        &InferenceOptions::default(),
        progress,
    )?;
    let estimate = &outcome.estimate;
    let weights = domains
        .iter()
        .map(|d| {
            estimate
                .categories
                .iter()
                .position(|c| c == d)
                .map_or(0.0, |i| estimate.weights[i])
        })
        .collect();
    tracing::info!(
        "prior: BPE mixture inference of {} over {} domains ({} merges)",
        tokenizer.display(),
        domains.len(),
        estimate.merges
    );
    Ok(NamedWeights {
        name: format!(
            "BPE inference of {}",
            tokenizer.file_name().map_or_else(
                || tokenizer.display().to_string(),
                |n| n.to_string_lossy().into_owned()
            )
        ),
        weights,
    })
}
