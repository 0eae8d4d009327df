//! The tokenizer: either loaded from a `tokenizer.json`, or a byte-level BPE (GPT-2 style
//! pre-tokenization, no normalizer) trained with the `tokenizers` crate on a seeded sample
//! of the output documents and cached under `work/tokenizer-<hash>/`. Encoding runs in
//! parallel with rayon, in document order, with EOS appended to each document.

use std::path::{Path, PathBuf};

use arrow::array::{Array, RecordBatch, StringArray};
use blend_datasets::files::sha256_file;
use blend_datasets::shards::TokenizerInfo;
use blend_datasets::{ID_COLUMN, TEXT_COLUMN};
use blend_kernels::SeededRng;
use blend_kernels::byte_level_bpe::ByteLevelBpe;
use blend_operators::operator::string_column;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use rayon::prelude::*;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer, TokenizerBuilder};

use crate::config::TokenizerConfig;
use crate::progress::Progress;
use crate::session::stream_parts;
use crate::stage_cache::{PendingStage, StageManifest, stage_dir, stage_hash};
use crate::{BLEND_VERSION, PipelineError, Result};

pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// A ready tokenizer and what the manifest records about it.
#[derive(Debug)]
pub struct LoadedTokenizer {
    pub tokenizer: Tokenizer,
    /// The fast encoder, when the tokenizer is a plain GPT-2-style byte-level BPE.
    pub fast: Option<FastEncoder>,
    pub info: TokenizerInfo,
    pub path: PathBuf,
    pub trained: bool,
}

fn tokenizer_error(path: &Path, error: impl std::fmt::Display) -> PipelineError {
    PipelineError::Tokenizer(format!("{}: {error}", path.display()))
}

/// Loads `path` and checks it has `eos_token`.
pub fn load_tokenizer(
    path: &Path,
    eos_token: &str,
    name: Option<String>,
) -> Result<LoadedTokenizer> {
    let tokenizer = Tokenizer::from_file(path).map_err(|e| tokenizer_error(path, e))?;
    let eos_id = tokenizer.token_to_id(eos_token).ok_or_else(|| {
        tokenizer_error(
            path,
            format!("has no `{eos_token}` token; set tokenizer.eos_token to its end-of-text token"),
        )
    })?;
    let name = name.unwrap_or_else(|| {
        path.parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "tokenizer".into())
    });
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).map_err(|e| PipelineError::io(path, e))?)
            .map_err(|e| tokenizer_error(path, e))?;
    let fast = FastEncoder::from_tokenizer_json(&json);
    tracing::debug!(
        "{}: fast byte-level BPE path {}",
        path.display(),
        if fast.is_some() { "on" } else { "off" }
    );
    Ok(LoadedTokenizer {
        fast,
        info: TokenizerInfo {
            name,
            sha256: sha256_file(path)?,
            vocab_size: tokenizer.get_vocab_size(true) as u64,
            eos_token: eos_token.to_string(),
            eos_id,
        },
        tokenizer,
        path: path.to_path_buf(),
        trained: false,
    })
}

/// Trains a byte-level BPE of `vocab_size` on `texts` and writes its tokenizer.json to `out`.
pub fn train_bpe(texts: &[String], config: &TokenizerConfig, out: &Path) -> Result<()> {
    let json = train_bpe_json(texts, config).map_err(|e| tokenizer_error(out, e))?;
    std::fs::write(out, json).map_err(|e| PipelineError::io(out, e))
}

/// Trains a byte-level BPE (GPT-2's pre-tokenizer, no prefix space) of `vocab_size` on
/// `texts` and returns its tokenizer.json text.
pub fn train_bpe_json(
    texts: &[String],
    config: &TokenizerConfig,
) -> std::result::Result<String, String> {
    let mut trainer = BpeTrainerBuilder::new()
        .show_progress(false)
        .vocab_size(config.vocab_size)
        .min_frequency(config.min_frequency)
        .special_tokens(vec![AddedToken::from(config.eos_token.clone(), true)])
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build();
    let byte_level = ByteLevel::new(false, true, true);
    let mut tokenizer =
        TokenizerBuilder::<BPE, NormalizerWrapper, ByteLevel, ByteLevel, ByteLevel>::new()
            .with_model(BPE::default())
            .with_normalizer(None)
            .with_pre_tokenizer(Some(byte_level))
            .with_post_processor(Some(byte_level))
            .with_decoder(Some(byte_level))
            .build()
            .map_err(|e| e.to_string())?;
    tokenizer
        .train(&mut trainer, texts.iter())
        .map_err(|e| e.to_string())?;
    tokenizer.to_string(false).map_err(|e| e.to_string())
}

/// The configured tokenizer, or one trained on (and cached for) the documents of `docs`.
pub async fn prepare_tokenizer(
    ctx: &SessionContext,
    config: &TokenizerConfig,
    seed: u64,
    docs: (&Path, &StageManifest),
    work_dir: &Path,
    progress: &dyn Progress,
) -> Result<LoadedTokenizer> {
    if let Some(path) = &config.path {
        return load_tokenizer(path, &config.eos_token, None);
    }
    let (docs_dir, docs_manifest) = docs;
    let hash = stage_hash(&serde_json::json!({
        "blend": BLEND_VERSION,
        "stage": "tokenizer",
        "docs": docs_manifest.hash,
        "config": config,
        "seed": seed,
    }));
    let dir = stage_dir(work_dir, "tokenizer", &hash);
    let name = format!("blend-bpe-{}-{hash}", config.vocab_size);
    let path = dir.join(TOKENIZER_FILE);
    if path.exists()
        && let Ok(mut loaded) = load_tokenizer(&path, &config.eos_token, Some(name.clone()))
    {
        loaded.trained = true;
        return Ok(loaded);
    }
    let keep_probability = if docs_manifest.text_bytes_out == 0 {
        1.0
    } else {
        (config.train_sample_bytes as f64 / docs_manifest.text_bytes_out as f64).min(1.0)
    };
    let mut rng = SeededRng::for_stream(seed, "tokenizer/sample");
    let mut sample = Vec::new();
    let mut stream = stream_parts(ctx, "tokenizer", docs_dir, &docs_manifest.parts).await?;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| PipelineError::datafusion("tokenizer", e))?;
        let texts = string_column("tokenizer", &batch, TEXT_COLUMN)
            .map_err(|e| PipelineError::operator("tokenizer", e))?;
        for text in texts.iter().flatten() {
            if rng.bernoulli(keep_probability) {
                sample.push(text.to_string());
            }
        }
    }
    if sample.is_empty() {
        return Err(PipelineError::Tokenizer(
            "no documents left to train a tokenizer on (every document was removed?)".into(),
        ));
    }
    let sample_bytes: usize = sample.iter().map(String::len).sum();
    let task = progress.start("train tokenizer", None, "docs");
    tracing::info!(
        "training a {}-token BPE on {} documents ({sample_bytes} bytes)",
        config.vocab_size,
        sample.len()
    );
    let pending = PendingStage::begin(dir)?;
    let result = train_bpe(&sample, config, &pending.tmp.join(TOKENIZER_FILE));
    if let Err(error) = result {
        pending.abandon();
        return Err(error);
    }
    let manifest = serde_json::json!({"documents": sample.len(), "bytes": sample_bytes, "config": config, "seed": seed});
    let dir = pending.commit(&serde_json::to_string_pretty(&manifest).expect("json"))?;
    task.finish(&format!("{} documents", sample.len()));
    let mut loaded = load_tokenizer(&dir.join(TOKENIZER_FILE), &config.eos_token, Some(name))?;
    loaded.trained = true;
    Ok(loaded)
}

/// One batch of documents, tokenized: ids, domains and tokens (EOS appended) per row.
#[derive(Debug)]
pub struct EncodedBatch {
    pub ids: StringArray,
    pub domains: StringArray,
    pub tokens: Vec<Vec<u32>>,
}

impl EncodedBatch {
    /// The domain of `row` (`unknown` when null).
    pub fn domain(&self, row: usize) -> &str {
        if self.domains.is_null(row) {
            "unknown"
        } else {
            self.domains.value(row)
        }
    }
}

/// Tokenizes the `text` of every row of `batch`, reading ids and `domain_column` beside.
pub fn encode_batch(
    stage: &str,
    batch: &RecordBatch,
    tokenizer: &LoadedTokenizer,
    domain_column: &str,
) -> Result<EncodedBatch> {
    let column = |name: &str| {
        string_column(stage, batch, name).map_err(|e| PipelineError::operator(stage, e))
    };
    let texts = column(TEXT_COLUMN)?;
    let text_refs: Vec<&str> = (0..texts.len()).map(|i| texts.value(i)).collect();
    Ok(EncodedBatch {
        ids: column(ID_COLUMN)?,
        domains: column(domain_column)?,
        tokens: encode_documents(tokenizer, &text_refs, tokenizer.info.eos_id)?,
    })
}

/// blend's encoder for GPT-2-style byte-level BPE tokenizers (`blend_kernels::ByteLevelBpe`):
/// the same tokens as `tokenizers`, faster. Documents containing an added token's text (such
/// as `<|endoftext|>`) go through `tokenizers`, which splits those out first.
#[derive(Debug)]
pub struct FastEncoder {
    bpe: ByteLevelBpe,
    added_tokens: Vec<String>,
}

fn is_null_or(value: &serde_json::Value, allowed: &[serde_json::Value]) -> bool {
    value.is_null() || allowed.contains(value)
}

impl FastEncoder {
    /// `Some` when `json` is a byte-level BPE this encoder reproduces exactly: no normalizer,
    /// a `ByteLevel` pre-tokenizer with GPT-2's pattern and no prefix space, and a BPE model
    /// without dropout, affixes, byte fallback or whole-word shortcuts.
    pub fn from_tokenizer_json(json: &serde_json::Value) -> Option<Self> {
        use serde_json::Value;
        let pre = &json["pre_tokenizer"];
        let model = &json["model"];
        let eligible = json["normalizer"].is_null()
            && pre["type"] == "ByteLevel"
            && pre["add_prefix_space"] == false
            && is_null_or(&pre["use_regex"], &[Value::Bool(true)])
            && is_null_or(&model["type"], &[Value::from("BPE")])
            && model["dropout"].is_null()
            && is_null_or(&model["continuing_subword_prefix"], &[Value::from("")])
            && is_null_or(&model["end_of_word_suffix"], &[Value::from("")])
            && is_null_or(&model["byte_fallback"], &[Value::Bool(false)])
            && is_null_or(&model["ignore_merges"], &[Value::Bool(false)]);
        if !eligible {
            return None;
        }
        let vocab: std::collections::HashMap<String, u32> = model["vocab"]
            .as_object()?
            .iter()
            .map(|(token, id)| Some((token.clone(), u32::try_from(id.as_u64()?).ok()?)))
            .collect::<Option<_>>()?;
        let merges: Vec<(String, String)> = model["merges"]
            .as_array()?
            .iter()
            .map(|merge| match merge {
                Value::String(pair) => pair
                    .split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string())),
                Value::Array(pair) if pair.len() == 2 => {
                    Some((pair[0].as_str()?.to_string(), pair[1].as_str()?.to_string()))
                }
                _ => None,
            })
            .collect::<Option<_>>()?;
        let added_tokens = json["added_tokens"]
            .as_array()
            .map(|tokens| {
                tokens
                    .iter()
                    .filter_map(|t| t["content"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        Some(Self {
            bpe: ByteLevelBpe::new(&vocab, &merges).ok()?,
            added_tokens,
        })
    }

    /// The tokens of `text`, or `None` when it holds an added token's text.
    pub fn encode(&self, text: &str) -> Option<Vec<u32>> {
        if self
            .added_tokens
            .iter()
            .any(|token| text.contains(token.as_str()))
        {
            return None;
        }
        let mut tokens = Vec::with_capacity(text.len() / 3);
        self.bpe.encode(text, &mut tokens);
        Some(tokens)
    }
}

/// Token ids of each text with EOS appended, in parallel, in input order.
pub fn encode_documents(
    tokenizer: &LoadedTokenizer,
    texts: &[&str],
    eos_id: u32,
) -> Result<Vec<Vec<u32>>> {
    texts
        .par_iter()
        .map(|text| {
            let mut ids = match tokenizer.fast.as_ref().and_then(|fast| fast.encode(text)) {
                Some(ids) => ids,
                None => tokenizer
                    .tokenizer
                    .encode_fast(*text, false)
                    .map_err(|e| PipelineError::Tokenizer(e.to_string()))?
                    .get_ids()
                    .to_vec(),
            };
            ids.push(eos_id);
            Ok(ids)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trains_saves_loads_and_round_trips_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKENIZER_FILE);
        let texts: Vec<String> = (0..200)
            .map(|i| format!("the quick brown fox {i} jumps over the lazy dog. Ünïcödé ✓"))
            .collect();
        let config = TokenizerConfig {
            vocab_size: 400,
            ..TokenizerConfig::default()
        };
        train_bpe(&texts, &config, &path).unwrap();
        let first = std::fs::read(&path).unwrap();
        train_bpe(&texts, &config, &path).unwrap();
        assert_eq!(
            first,
            std::fs::read(&path).unwrap(),
            "training is deterministic"
        );
        let loaded = load_tokenizer(&path, "<|endoftext|>", None).unwrap();
        assert!(loaded.info.vocab_size <= 400);
        assert!(loaded.fast.is_some(), "blend's own BPE takes the fast path");
        let ids = encode_documents(&loaded, &["the lazy dog ✓"], loaded.info.eos_id).unwrap();
        assert_eq!(*ids[0].last().unwrap(), loaded.info.eos_id);
        let decoded = loaded
            .tokenizer
            .decode(&ids[0][..ids[0].len() - 1], false)
            .unwrap();
        assert_eq!(decoded, "the lazy dog ✓");
        assert!(
            load_tokenizer(&path, "<eos>", None)
                .unwrap_err()
                .to_string()
                .contains("<eos>")
        );
    }
}
