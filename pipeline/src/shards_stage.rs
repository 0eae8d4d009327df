//! Token shards for the output documents: each document is tokenized (EOS appended) and
//! written, in the corpus's stable order, to Megatron `.bin`/`.idx` shards (`train_NNNNN`) of
//! at most `max_tokens_per_shard` tokens under `out/shards/`, with `manifest.json`. The natural
//! mixture (domain weights = token shares) goes to `out/mixture.json`. The folder is written
//! under a temporary name and renamed, so a half-written shard set is never trusted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use blend_datasets::SOURCE_COLUMN;
use blend_datasets::files::write_atomic;
use blend_datasets::shards::{
    MANIFEST_VERSION, ShardFormat, ShardManifest, SplitWriter, TokenDtype, verify_shards,
};
use blend_mixers::{DomainStats, Mixture, natural_mixture};
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::config::OutputConfig;
use crate::progress::Progress;
use crate::stage_cache::{PendingStage, StageManifest, stage_hash};
use crate::tokenize::{LoadedTokenizer, encode_batch};
use crate::{BLEND_VERSION, PipelineError, Result};

pub const SHARDS_DIR: &str = "shards";
pub const MIXTURE_FILE: &str = "mixture.json";

#[derive(Debug, Clone)]
pub struct ShardsOutcome {
    pub dir: PathBuf,
    pub manifest: ShardManifest,
    pub mixture: Mixture,
    pub mixture_path: PathBuf,
    pub cached: bool,
}

#[allow(clippy::too_many_arguments)]
pub async fn write_shards(
    ctx: &SessionContext,
    docs: (&Path, &StageManifest),
    tokenizer: &LoadedTokenizer,
    output: &OutputConfig,
    seed: u64,
    out_dir: &Path,
    progress: &dyn Progress,
) -> Result<ShardsOutcome> {
    let (docs_dir, docs_manifest) = docs;
    let run_key = stage_hash(&serde_json::json!({
        "blend": BLEND_VERSION,
        "docs": docs_manifest.hash,
        "tokenizer": tokenizer.info.sha256,
        "output": output,
        "seed": seed,
    }));
    let dir = out_dir.join(SHARDS_DIR);
    let mixture_path = out_dir.join(MIXTURE_FILE);
    if let (Ok(manifest), Ok(mixture)) = (ShardManifest::read(&dir), Mixture::read(&mixture_path))
        && manifest.run_key == run_key
        && manifest.mixture_sha256 == mixture.sha256()
    {
        match verify_shards(&dir) {
            Ok(_) => {
                return Ok(ShardsOutcome {
                    dir,
                    manifest,
                    mixture,
                    mixture_path,
                    cached: true,
                });
            }
            Err(error) => tracing::warn!("existing shards do not verify ({error}); rewriting them"),
        }
    }
    let pending = PendingStage::begin(dir)?;
    let result = write_into(
        ctx,
        docs_dir,
        docs_manifest,
        tokenizer,
        output,
        seed,
        &run_key,
        &pending.tmp,
        progress,
    )
    .await;
    let (manifest, mixture) = match result {
        Ok(written) => written,
        Err(error) => {
            pending.abandon();
            return Err(error);
        }
    };
    write_atomic(&mixture_path, mixture.to_json().as_bytes())?;
    let dir = pending.commit(&manifest.to_json())?;
    Ok(ShardsOutcome {
        dir,
        manifest,
        mixture,
        mixture_path,
        cached: false,
    })
}

/// The column holding each document's domain: `configured` when the documents have it,
/// else `source` (with a warning).
pub fn domain_column(schema: &arrow::datatypes::Schema, configured: &str) -> String {
    if schema.column_with_name(configured).is_some() {
        configured.to_string()
    } else {
        tracing::warn!(
            "the output documents have no `{configured}` column; using `{SOURCE_COLUMN}` as the domain"
        );
        SOURCE_COLUMN.to_string()
    }
}

#[allow(clippy::too_many_arguments)]
async fn write_into(
    ctx: &SessionContext,
    docs_dir: &Path,
    docs_manifest: &StageManifest,
    tokenizer: &LoadedTokenizer,
    output: &OutputConfig,
    seed: u64,
    run_key: &str,
    tmp: &Path,
    progress: &dyn Progress,
) -> Result<(ShardManifest, Mixture)> {
    const STAGE: &str = "shards";
    const SPLIT: &str = "train";
    let dtype = TokenDtype::for_vocab_size(tokenizer.info.vocab_size as usize);
    let mut stream =
        crate::session::stream_parts(ctx, STAGE, docs_dir, &docs_manifest.parts).await?;
    let domain_column = domain_column(&stream.schema(), &output.domain_column);
    let task = progress.start("tokenize + shards", Some(docs_manifest.rows_out), "docs");
    let formats = [ShardFormat::Megatron];
    let mut writer = SplitWriter::new(
        tmp,
        SPLIT,
        &formats,
        dtype,
        output.max_tokens_per_shard,
        None,
    );
    let mut documents_per_domain: BTreeMap<String, u64> = BTreeMap::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| PipelineError::datafusion(STAGE, e))?;
        let encoded = encode_batch(STAGE, &batch, tokenizer, &domain_column)?;
        for (row, tokens) in encoded.tokens.iter().enumerate() {
            let domain = encoded.domain(row);
            writer.add_document(tokens, encoded.ids.value(row), domain)?;
            *documents_per_domain.entry(domain.to_string()).or_default() += 1;
        }
        task.advance(batch.num_rows() as u64);
    }
    let (shards, split) = writer.finish()?;
    task.finish(&format!("{} shards", shards.len()));
    let domain_stats: Vec<DomainStats> = split
        .tokens_per_domain
        .iter()
        .map(|(domain, tokens)| DomainStats {
            domain: domain.clone(),
            documents: documents_per_domain[domain],
            tokens: *tokens,
        })
        .collect();
    let mut inputs = BTreeMap::new();
    inputs.insert("documents_stage".to_string(), docs_manifest.hash.clone());
    inputs.insert(
        "tokenizer_sha256".to_string(),
        tokenizer.info.sha256.clone(),
    );
    let mixture = natural_mixture(&domain_stats, seed, inputs)?;
    let manifest = ShardManifest {
        manifest_version: MANIFEST_VERSION,
        created_by: format!("blend {BLEND_VERSION}"),
        formats: formats.to_vec(),
        dtype,
        sequence_length: None,
        tokenizer: tokenizer.info.clone(),
        mixture_sha256: mixture.sha256(),
        seed,
        run_key: run_key.to_string(),
        eos_appended: true,
        total_documents: split.documents,
        total_tokens: split.tokens,
        splits: BTreeMap::from([(SPLIT.to_string(), split)]),
        shards,
    };
    Ok((manifest, mixture))
}
