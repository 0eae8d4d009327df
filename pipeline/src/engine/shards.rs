//! Token shards for the output documents: each document is tokenized (EOS appended) and
//! written, in the corpus's stable order, to Megatron `.bin`/`.idx` shards (`train_NNNNN`) of
//! at most `max_tokens_per_shard` tokens under `out/shards/`, with `manifest.json`. The natural
//! mixture (domain weights = token shares), read off the shard manifest, goes to
//! `out/mixture.json`. The shards are a cached step whose key is the manifest's `run_key`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use blend_datasets::SOURCE_COLUMN;
use blend_datasets::files::write_atomic;
use blend_datasets::shards::{
    MANIFEST_FILE, MANIFEST_VERSION, ShardFormat, ShardManifest, SplitWriter, TokenDtype,
    verify_shards,
};
use blend_mixers::{DomainStats, Mixture, natural_mixture};
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use serde::Serialize;

use super::cache::{CacheKey, StageManifest, StepOutput, Unusable, cached_async};
use super::config::OutputConfig;
use super::encode::encode_batch;
use super::session::stream_parts;
use super::step_cost::StepCost;
use super::tokenizer::LoadedTokenizer;
use crate::progress::Progress;
use crate::{BLEND_VERSION, PipelineError, Result};

pub const SHARDS_DIR: &str = "shards";
pub const MIXTURE_FILE: &str = "mixture.json";
const SPLIT: &str = "train";

#[derive(Debug, Clone)]
pub struct ShardsOutcome {
    pub dir: PathBuf,
    pub manifest: ShardManifest,
    pub mixture: Mixture,
    pub mixture_path: PathBuf,
    pub cached: bool,
    pub cost: Option<StepCost>,
}

/// What the shards of a run depend on.
#[derive(Debug, Serialize)]
struct ShardsKey<'a> {
    blend: &'a str,
    docs: &'a str,
    tokenizer: &'a str,
    output: &'a OutputConfig,
    seed: u64,
}

impl StepOutput for ShardManifest {
    fn read_committed(dir: &Path, key: &CacheKey) -> std::result::Result<Self, Unusable> {
        if !dir.join(MANIFEST_FILE).exists() {
            return Err(Unusable::Missing);
        }
        let manifest = ShardManifest::read(dir).map_err(|e| Unusable::Damaged(e.to_string()))?;
        if manifest.run_key != key.hash() {
            return Err(Unusable::OtherKey);
        }
        verify_shards(dir).map_err(|e| Unusable::Damaged(e.to_string()))?;
        Ok(manifest)
    }

    fn write_manifest(&self, dir: &Path) -> Result<()> {
        write_atomic(&dir.join(MANIFEST_FILE), self.to_json().as_bytes())?;
        Ok(())
    }
}

/// Writes (or reuses) `out/shards` and writes `out/mixture.json` beside it.
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
    let key = CacheKey::new(&ShardsKey {
        blend: BLEND_VERSION,
        docs: &docs_manifest.content_digest(),
        tokenizer: &tokenizer.info.sha256,
        output,
        seed,
    });
    let run = ShardsRun {
        ctx,
        docs_dir,
        docs_manifest,
        tokenizer,
        output,
        seed,
        progress,
    };
    let step = cached_async(out_dir.join(SHARDS_DIR), &key, async |tmp: &Path| {
        run.write(&key, tmp).await
    })
    .await?;
    let mixture = shard_mixture(&step.output, &docs_manifest.content_digest())?;
    let mixture_path = out_dir.join(MIXTURE_FILE);
    write_atomic(&mixture_path, mixture.to_json().as_bytes())?;
    Ok(ShardsOutcome {
        dir: step.dir,
        manifest: step.output,
        mixture,
        mixture_path,
        cached: step.reused,
        cost: step.cost,
    })
}

/// The natural mixture of the shards in `manifest` (token shares of the train split).
fn shard_mixture(manifest: &ShardManifest, docs_hash: &str) -> Result<Mixture> {
    let mut documents_per_domain: BTreeMap<&str, u64> = BTreeMap::new();
    for shard in manifest.shards.iter().filter(|s| s.split == SPLIT) {
        for (domain, documents) in &shard.documents_per_domain {
            *documents_per_domain.entry(domain).or_default() += documents;
        }
    }
    let domain_stats: Vec<DomainStats> = manifest.splits[SPLIT]
        .tokens_per_domain
        .iter()
        .map(|(domain, tokens)| DomainStats {
            domain: domain.clone(),
            documents: documents_per_domain
                .get(domain.as_str())
                .copied()
                .unwrap_or(0),
            tokens: *tokens,
        })
        .collect();
    let inputs = BTreeMap::from([
        ("documents_stage".to_string(), docs_hash.to_string()),
        (
            "tokenizer_sha256".to_string(),
            manifest.tokenizer.sha256.clone(),
        ),
    ]);
    Ok(natural_mixture(&domain_stats, manifest.seed, inputs)?)
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

/// The shards being written.
#[derive(Clone, Copy)]
struct ShardsRun<'a> {
    ctx: &'a SessionContext,
    docs_dir: &'a Path,
    docs_manifest: &'a StageManifest,
    tokenizer: &'a LoadedTokenizer,
    output: &'a OutputConfig,
    seed: u64,
    progress: &'a dyn Progress,
}

impl ShardsRun<'_> {
    /// Tokenizes the documents into shards in `tmp`; the manifest's `run_key` is `key`.
    async fn write(&self, key: &CacheKey, tmp: &Path) -> Result<ShardManifest> {
        const STAGE: &str = "shards";
        let Self {
            ctx,
            docs_dir,
            docs_manifest,
            tokenizer,
            output,
            seed,
            progress,
        } = *self;
        let dtype = TokenDtype::for_vocab_size(tokenizer.info.vocab_size as usize);
        let mut stream = stream_parts(ctx, STAGE, docs_dir, &docs_manifest.parts).await?;
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
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| PipelineError::datafusion(STAGE, e))?;
            let encoded = encode_batch(STAGE, &batch, tokenizer, &domain_column)?;
            for (row, tokens) in encoded.tokens.iter().enumerate() {
                writer.add_document(tokens, encoded.ids.value(row), encoded.domain(row))?;
            }
            task.advance(batch.num_rows() as u64);
        }
        let (shards, split) = writer.finish()?;
        task.finish(&format!("{} shards", shards.len()));
        let mut manifest = ShardManifest {
            manifest_version: MANIFEST_VERSION,
            created_by: format!("blend {BLEND_VERSION}"),
            formats: formats.to_vec(),
            dtype,
            sequence_length: None,
            tokenizer: tokenizer.info.clone(),
            mixture_sha256: String::new(),
            seed,
            run_key: key.hash().to_string(),
            eos_appended: true,
            total_documents: split.documents,
            total_tokens: split.tokens,
            splits: BTreeMap::from([(SPLIT.to_string(), split)]),
            shards,
        };
        manifest.mixture_sha256 =
            shard_mixture(&manifest, &docs_manifest.content_digest())?.sha256();
        Ok(manifest)
    }
}
