//! The tokenizer: either loaded from a `tokenizer.json`, or a byte-level BPE (GPT-2 style
//! pre-tokenization, no normalizer) trained with the `tokenizers` crate on a seeded sample
//! of the output documents and cached under `work/tokenizer-<hash>/`.

use std::path::{Path, PathBuf};

use blend_datasets::TEXT_COLUMN;
use blend_datasets::files::{sha256_file, write_atomic};
use blend_datasets::shards::TokenizerInfo;
use blend_kernels::SeededRng;
use blend_mixers::bpe_inference::check_bpe_merges;
use blend_operators::operator::string_column;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer, TokenizerBuilder};

use super::cache::{
    CacheKey, STAGE_MANIFEST, StageManifest, StepOutput, Unusable, cached_async, stage_dir,
};
use super::config::TokenizerConfig;
use super::encode::FastEncoder;
use super::session::stream_parts;
use super::summary::StepRecord;
use crate::progress::Progress;
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
    // Checked as JSON, and a BPE's merges against its vocabulary, first: the `tokenizers`
    // crate panics on a syntax error inside `decoder` and on a merge whose result is longer
    // than every vocabulary token, instead of returning an error.
    let text = std::fs::read_to_string(path).map_err(|e| PipelineError::io(path, e))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| tokenizer_error(path, format!("not JSON: {e}")))?;
    check_bpe_merges(&json).map_err(|message| tokenizer_error(path, message))?;
    let tokenizer: Tokenizer = text.parse().map_err(|e| tokenizer_error(path, e))?;
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

/// What a trained tokenizer depends on.
#[derive(Debug, Serialize)]
struct TokenizerKey<'a> {
    blend: &'a str,
    stage: &'a str,
    docs: &'a str,
    config: &'a TokenizerConfig,
    seed: u64,
}

/// What `work/tokenizer-<hash>/manifest.json` records of a trained tokenizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TrainedTokenizer {
    documents: usize,
    bytes: usize,
    config: TokenizerConfig,
    seed: u64,
    hash: String,
    tokenizer_sha256: String,
}

impl StepOutput for TrainedTokenizer {
    fn read_committed(dir: &Path, key: &CacheKey) -> std::result::Result<Self, Unusable> {
        let bytes = std::fs::read(dir.join(STAGE_MANIFEST)).map_err(|_| Unusable::Missing)?;
        let manifest: Self = serde_json::from_slice(&bytes)
            .map_err(|e| Unusable::Damaged(format!("{STAGE_MANIFEST}: {e}")))?;
        if manifest.hash != key.hash() {
            return Err(Unusable::OtherKey);
        }
        let sha256 =
            sha256_file(&dir.join(TOKENIZER_FILE)).map_err(|e| Unusable::Damaged(e.to_string()))?;
        if sha256 != manifest.tokenizer_sha256 {
            return Err(Unusable::Damaged(format!(
                "{TOKENIZER_FILE} has sha256 {sha256}, the manifest says {}",
                manifest.tokenizer_sha256
            )));
        }
        Ok(manifest)
    }

    fn write_manifest(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).expect("manifest serializes");
        write_atomic(&dir.join(STAGE_MANIFEST), json.as_bytes())?;
        Ok(())
    }
}

/// A run's tokenizer and, when it was trained, the step that trained it.
#[derive(Debug)]
pub struct PreparedTokenizer {
    pub tokenizer: LoadedTokenizer,
    pub step: Option<StepRecord>,
}

/// The configured tokenizer, or one trained on (and cached for) the documents of `docs`.
pub async fn prepare_tokenizer(
    ctx: &SessionContext,
    config: &TokenizerConfig,
    seed: u64,
    docs: (&Path, &StageManifest),
    work_dir: &Path,
    progress: &dyn Progress,
) -> Result<PreparedTokenizer> {
    if let Some(path) = &config.path {
        return Ok(PreparedTokenizer {
            tokenizer: load_tokenizer(path, &config.eos_token, None)?,
            step: None,
        });
    }
    let (docs_dir, docs_manifest) = docs;
    let key = CacheKey::new(&TokenizerKey {
        blend: BLEND_VERSION,
        stage: "tokenizer",
        docs: &docs_manifest.content_digest(),
        config,
        seed,
    });
    let dir = stage_dir(work_dir, "tokenizer", &key);
    let step = cached_async(dir, &key, async |tmp: &Path| {
        let sample = sample_documents(ctx, config, seed, docs_dir, docs_manifest).await?;
        let sample_bytes: usize = sample.iter().map(String::len).sum();
        let task = progress.start("train tokenizer", None, "docs");
        tracing::info!(
            "training a {}-token BPE on {} documents ({sample_bytes} bytes)",
            config.vocab_size,
            sample.len()
        );
        let path = tmp.join(TOKENIZER_FILE);
        train_bpe(&sample, config, &path)?;
        task.finish(&format!("{} documents", sample.len()));
        Ok(TrainedTokenizer {
            documents: sample.len(),
            bytes: sample_bytes,
            config: config.clone(),
            seed,
            hash: key.hash().to_string(),
            tokenizer_sha256: sha256_file(&path)?,
        })
    })
    .await?;
    let name = format!("blend-bpe-{}-{key}", config.vocab_size);
    let mut loaded = load_tokenizer(
        &step.dir.join(TOKENIZER_FILE),
        &config.eos_token,
        Some(name),
    )?;
    loaded.trained = true;
    Ok(PreparedTokenizer {
        tokenizer: loaded,
        step: Some(StepRecord::new("tokenizer", step.reused, step.cost)),
    })
}

/// A seeded sample of the documents' texts, of about `train_sample_bytes`.
async fn sample_documents(
    ctx: &SessionContext,
    config: &TokenizerConfig,
    seed: u64,
    docs_dir: &Path,
    docs_manifest: &StageManifest,
) -> Result<Vec<String>> {
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
    Ok(sample)
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
        let ids = crate::engine::encode::encode_documents(
            &loaded,
            &["the lazy dog ✓"],
            loaded.info.eos_id,
        )
        .unwrap();
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

    /// The `tokenizers` crate panics (`expect("Helper")`) on a JSON syntax error inside
    /// `decoder`; the file is checked as JSON first, so this is an error naming it.
    #[test]
    fn a_syntax_error_inside_the_decoder_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKENIZER_FILE);
        let texts = vec!["some text to train on".to_string(); 20];
        let config = TokenizerConfig {
            vocab_size: 270,
            ..TokenizerConfig::default()
        };
        let json = train_bpe_json(&texts, &config).unwrap();
        let at = json.find("\"decoder\"").unwrap();
        let damaged = format!("{}\"decoder\": {{\"type\" \"ByteLevel\"}}}}", &json[..at]);
        std::fs::write(&path, damaged).unwrap();
        let error = load_tokenizer(&path, "<|endoftext|>", None)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(TOKENIZER_FILE)
                && error.contains("not JSON")
                && error.contains("at line"),
            "{error}"
        );
    }
}
