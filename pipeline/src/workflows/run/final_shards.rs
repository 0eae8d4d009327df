//! The final shards of a run: drawn by the chosen mixture to `[shards] tokens` with the
//! same code as `blend shards`, into `out/shards`, as a cached step keyed by the documents,
//! the mixture's bytes, the shard settings and the tokenizer (editing `[shards] tokens`
//! re-runs only this step).

use std::path::{Path, PathBuf};

use blend_datasets::files::write_atomic;
use blend_datasets::shards::{ShardFormat, ShardManifest, TokenDtype};
use blend_mixers::Mixture;

use crate::engine::cache::{CacheKey, cached_async};
use crate::engine::config::ShardsConfig;
use crate::engine::runner::Curation;
use crate::engine::shards::{MIXTURE_FILE, SHARDS_DIR};
use crate::engine::step_cost::StepCost;
use crate::progress::Progress;
use crate::workflows::shards::{FinalInputs, FinalShardsKey, draw_final_shards};
use crate::{BLEND_VERSION, PipelineError, Result};

/// Final shards written (or reused), with the mixture beside them.
pub struct FinalShards {
    pub dir: PathBuf,
    pub manifest: ShardManifest,
    pub mixture_path: PathBuf,
    pub reused: bool,
    pub cost: Option<StepCost>,
}

/// Writes `mixture` to `out/mixture.json` and draws (or reuses) the final shards by it;
/// `seed` picks the valid split, the draw and the order.
pub async fn write_final_shards(
    curation: &Curation,
    mixture: &Mixture,
    settings: &ShardsConfig,
    domain_column: &str,
    seed: u64,
    out_dir: &Path,
    progress: &dyn Progress,
) -> Result<FinalShards> {
    let mixture_path = out_dir.join(MIXTURE_FILE);
    write_atomic(&mixture_path, mixture.to_json().as_bytes())?;
    let tokenizer = curation.tokenizer.clone();
    let dtype = TokenDtype::for_vocab_size(tokenizer.info.vocab_size as usize);
    let uint16_only = settings
        .formats
        .iter()
        .any(|f| matches!(f, ShardFormat::Nanogpt | ShardFormat::Llmc));
    if dtype == TokenDtype::Int32 && uint16_only {
        return Err(PipelineError::VocabularyTooLarge {
            tokenizer: tokenizer.path.clone(),
            vocab_size: tokenizer.info.vocab_size,
        });
    }
    let inputs = FinalInputs {
        mixture: mixture.clone(),
        mixture_path: mixture_path.clone(),
        docs_dir: curation.docs.0.clone(),
        docs_manifest: curation.docs.1.clone(),
        domain_column: domain_column.to_string(),
        tokenizer,
        seed,
        dtype,
    };
    let key = CacheKey::new(&FinalShardsKey {
        blend: BLEND_VERSION,
        docs: &inputs.docs_manifest.content_digest(),
        mixture: &mixture.sha256(),
        settings,
        seed: inputs.seed,
        tokenizer: &inputs.tokenizer.info.sha256,
    });
    let step = cached_async(out_dir.join(SHARDS_DIR), &key, async |tmp: &Path| {
        draw_final_shards(settings, &inputs, &key, tmp, progress).await
    })
    .await?;
    Ok(FinalShards {
        dir: step.dir,
        manifest: step.output,
        mixture_path,
        reused: step.reused,
        cost: step.cost,
    })
}
