//! The prior of a run's search (`[mixture] prior`): the natural token shares, uniform
//! weights, or the mixture BPE mixture inference reads off a tokenizer's merges over a
//! sample of each of the run's own domains (what a known model was trained on).

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::{Array, StringArray};
use blend_datasets::TEXT_COLUMN;
use blend_mixers::bpe_inference::{InferenceOptions, MergeList};
use futures::StreamExt;

use blend_datasets::files::sha256_file;
use serde::Serialize;

use super::json_step::JsonStep;
use crate::engine::cache::{CacheKey, cached_async, stage_dir};
use crate::engine::config::{NamedPrior, PriorConfig};
use crate::engine::mixture_summary::NamedWeights;
use crate::engine::runner::Curation;
use crate::engine::session::stream_parts;
use crate::engine::shards::domain_column;
use crate::engine::summary::StepRecord;
use crate::progress::Progress;
use crate::workflows::bpe::infer::{CategoryText, infer_from_texts};
use crate::{BLEND_VERSION, PipelineError, Result};

/// Text per domain the BPE prior reads (the first documents in corpus order).
const PRIOR_SAMPLE_BYTES: u64 = 512 << 10;

/// What the BPE prior depends on.
#[derive(Serialize)]
struct PriorKey<'a> {
    blend: &'a str,
    docs: &'a str,
    tokenizer_sha256: String,
    domain_column: &'a str,
    domains: &'a [String],
    sample_bytes: u64,
    merges: usize,
}

/// The prior's name and weights in `domains` order (`natural` is the token shares), and
/// for the BPE prior its step (cached in `search_dir`).
pub async fn prior_weights(
    prior: &PriorConfig,
    curation: &Curation,
    domain_column_name: &str,
    domains: &[String],
    natural: &[f64],
    search_dir: &Path,
    progress: &dyn Progress,
) -> Result<(NamedWeights, Option<StepRecord>)> {
    let (tokenizer, merges) = match prior {
        PriorConfig::Named(NamedPrior::Natural) => {
            let prior = NamedWeights {
                name: "natural (token share)".into(),
                weights: natural.to_vec(),
            };
            return Ok((prior, None));
        }
        PriorConfig::Named(NamedPrior::Uniform) => {
            let prior = NamedWeights {
                name: "uniform".into(),
                weights: vec![1.0 / domains.len() as f64; domains.len()],
            };
            return Ok((prior, None));
        }
        PriorConfig::Tokenizer { tokenizer, merges } => (tokenizer, *merges),
    };
    let key = CacheKey::new(&PriorKey {
        blend: BLEND_VERSION,
        docs: &curation.docs.1.content_digest(),
        tokenizer_sha256: sha256_file(tokenizer)?,
        domain_column: domain_column_name,
        domains,
        sample_bytes: PRIOR_SAMPLE_BYTES,
        merges,
    });
    let step = cached_async(
        stage_dir(search_dir, "prior", &key),
        &key,
        async |_: &Path| {
            let texts = domain_texts(curation, domain_column_name, domains).await?;
            Ok(JsonStep::new(
                &key,
                bpe_prior(tokenizer, merges, &texts, domains, progress)?,
            ))
        },
    )
    .await?;
    let record = StepRecord::new("prior", step.reused, step.cost);
    Ok((step.output.output, Some(record)))
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
    merges: usize,
    texts: &[CategoryText],
    domains: &[String],
    progress: &dyn Progress,
) -> Result<NamedWeights> {
    let merge_list = MergeList::from_file(tokenizer)?;
    let outcome = infer_from_texts(
        &merge_list,
        texts,
        Some(merges),
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
