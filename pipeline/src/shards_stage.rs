//! Token shards for the output documents: each document is tokenized (EOS appended) and
//! written, in the corpus's stable order, to Megatron `.bin`/`.idx` shards of at most
//! `max_tokens_per_shard` tokens under `out/shards/`, with `manifest.json`. The natural
//! mixture (domain weights = token shares) goes to `out/mixture.json`. The folder is written
//! under a temporary name and renamed, so a half-written shard set is never trusted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::Array;
use blend_datasets::files::write_atomic;
use blend_datasets::shards::{
    FileEntry, MANIFEST_FILE, MegatronWriter, ShardEntry, ShardManifest, TokenDtype, verify_shards,
};
use blend_datasets::{SOURCE_COLUMN, TEXT_COLUMN};
use blend_mixers::{DomainStats, Mixture, natural_mixture};
use blend_operators::operator::string_column;
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::config::OutputConfig;
use crate::progress::Progress;
use crate::stage_cache::{StageManifest, stage_hash};
use crate::tokenize::{LoadedTokenizer, encode_documents};
use crate::{BLEND_VERSION, PipelineError, Result};

pub const SHARDS_DIR: &str = "shards";
pub const MIXTURE_FILE: &str = "mixture.json";
pub const SHARD_FORMAT: &str = "megatron-mmidx";

#[derive(Debug, Clone)]
pub struct ShardsOutcome {
    pub dir: PathBuf,
    pub manifest: ShardManifest,
    pub mixture: Mixture,
    pub mixture_path: PathBuf,
    pub cached: bool,
}

#[derive(Debug, Default)]
struct DomainCounts {
    documents: BTreeMap<String, u64>,
    tokens: BTreeMap<String, u64>,
}

impl DomainCounts {
    fn add(&mut self, domain: &str, tokens: u64) {
        *self.documents.entry(domain.to_string()).or_default() += 1;
        *self.tokens.entry(domain.to_string()).or_default() += tokens;
    }
}

struct OpenShard {
    prefix: String,
    writer: MegatronWriter,
    counts: DomainCounts,
}

fn close_shard(shard: OpenShard) -> Result<ShardEntry> {
    let written = shard.writer.finish()?;
    Ok(ShardEntry {
        bin: FileEntry {
            path: format!("{}.bin", shard.prefix),
            bytes: written.bin_bytes,
            sha256: written.bin_sha256,
        },
        idx: FileEntry {
            path: format!("{}.idx", shard.prefix),
            bytes: written.idx_bytes,
            sha256: written.idx_sha256,
        },
        prefix: shard.prefix,
        documents: written.documents,
        tokens: written.tokens,
        documents_per_domain: shard.counts.documents,
        tokens_per_domain: shard.counts.tokens,
    })
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
    std::fs::create_dir_all(out_dir).map_err(|e| PipelineError::io(out_dir, e))?;
    let tmp = out_dir.join(format!(".tmp-{SHARDS_DIR}-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| PipelineError::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| PipelineError::io(&tmp, e))?;
    let result = write_into(
        ctx,
        docs_dir,
        docs_manifest,
        tokenizer,
        output,
        seed,
        &run_key,
        &tmp,
        progress,
    )
    .await;
    let (manifest, mixture) = match result {
        Ok(written) => written,
        Err(error) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(error);
        }
    };
    write_atomic(&mixture_path, mixture.to_json().as_bytes())?;
    write_atomic(&tmp.join(MANIFEST_FILE), manifest.to_json().as_bytes())?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| PipelineError::io(&dir, e))?;
    }
    std::fs::rename(&tmp, &dir).map_err(|e| PipelineError::io(&dir, e))?;
    Ok(ShardsOutcome {
        dir,
        manifest,
        mixture,
        mixture_path,
        cached: false,
    })
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
    let dtype = TokenDtype::for_vocab_size(tokenizer.info.vocab_size as usize);
    let eos_id = tokenizer.info.eos_id;
    let mut stream =
        crate::session::stream_parts(ctx, STAGE, docs_dir, &docs_manifest.parts).await?;
    let domain_column = if stream
        .schema()
        .column_with_name(&output.domain_column)
        .is_some()
    {
        output.domain_column.clone()
    } else {
        tracing::warn!(
            "the output documents have no `{}` column; using `{SOURCE_COLUMN}` as the domain",
            output.domain_column
        );
        SOURCE_COLUMN.to_string()
    };
    let task = progress.start("tokenize + shards", Some(docs_manifest.rows_out), "docs");
    let mut shards: Vec<ShardEntry> = Vec::new();
    let mut current: Option<OpenShard> = None;
    let mut totals = DomainCounts::default();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| PipelineError::datafusion(STAGE, e))?;
        let texts = string_column(STAGE, &batch, TEXT_COLUMN)
            .map_err(|e| PipelineError::operator(STAGE, e))?;
        let domains = string_column(STAGE, &batch, &domain_column)
            .map_err(|e| PipelineError::operator(STAGE, e))?;
        let text_refs: Vec<&str> = (0..texts.len()).map(|i| texts.value(i)).collect();
        let encoded = encode_documents(&tokenizer.tokenizer, &text_refs, eos_id)?;
        for (row, tokens) in encoded.iter().enumerate() {
            let full = current
                .as_ref()
                .is_some_and(|s| s.writer.tokens() >= output.max_tokens_per_shard);
            if full {
                shards.push(close_shard(current.take().expect("shard is open"))?);
            }
            if current.is_none() {
                let prefix = format!("shard_{:05}", shards.len());
                let writer = MegatronWriter::create(&tmp.join(&prefix), dtype)?;
                current = Some(OpenShard {
                    prefix,
                    writer,
                    counts: DomainCounts::default(),
                });
            }
            let shard = current.as_mut().expect("shard is open");
            let domain = if domains.is_null(row) {
                "unknown"
            } else {
                domains.value(row)
            };
            shard.writer.add_document(tokens)?;
            shard.counts.add(domain, tokens.len() as u64);
            totals.add(domain, tokens.len() as u64);
        }
        task.advance(batch.num_rows() as u64);
    }
    if let Some(shard) = current.take() {
        shards.push(close_shard(shard)?);
    }
    task.finish(&format!("{} shards", shards.len()));
    let domain_stats: Vec<DomainStats> = totals
        .tokens
        .iter()
        .map(|(domain, tokens)| DomainStats {
            domain: domain.clone(),
            documents: totals.documents[domain],
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
        manifest_version: 1,
        created_by: format!("blend {BLEND_VERSION}"),
        format: SHARD_FORMAT.into(),
        dtype,
        tokenizer: tokenizer.info.clone(),
        mixture_sha256: mixture.sha256(),
        seed,
        run_key: run_key.to_string(),
        eos_appended: true,
        total_documents: shards.iter().map(|s| s.documents).sum(),
        total_tokens: shards.iter().map(|s| s.tokens).sum(),
        documents_per_domain: totals.documents,
        tokens_per_domain: totals.tokens,
        shards,
    };
    Ok((manifest, mixture))
}
