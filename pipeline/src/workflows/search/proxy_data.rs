//! The proxies' token streams, `out/proxy-data/`: the tokenizer (the configured one, or a
//! byte-level BPE trained on a seeded sample of the inputs), then every document's tokens in
//! its domain's train or valid stream (held out by a seeded hash of its id). A training
//! document long enough to fill a held-out window on its own also gives the last
//! `valid_fraction` of its tokens to the valid stream, so a domain of a few long documents
//! (books) still has held-out text. Reused while its key ([`ProxyDataKey`]: the input files,
//! the tokenizer, the split) is unchanged.

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use blend_datasets::files::sha256_file;
use blend_datasets::read::{CorpusReader, InputSpec, ReadOptions};
use blend_datasets::{ID_COLUMN, SOURCE_COLUMN, TEXT_COLUMN};
use blend_kernels::SeededRng;
use blend_operators::operator::{column_names, string_column};
use blend_proxy_train::{ProxyDataManifest, ProxyDataWriter};
use serde::Serialize;

use super::proxy_quality::{ProxyQuality, quality_values};
use super::{PROXY_DATA_DIR, ProxySearchRequest};
use crate::engine::cache::{CacheKey, FileFingerprint};
use crate::engine::checksums::{verify_checksums, write_checksums};
use crate::engine::config::TokenizerConfig;
use crate::engine::encode::encode_documents;
use crate::engine::read::for_each_batch;
use crate::engine::step_cost::CostMeter;
use crate::engine::tokenizer::{LoadedTokenizer, TOKENIZER_FILE, load_tokenizer, train_bpe};
use crate::progress::Progress;
use crate::{BLEND_VERSION, PipelineError, Result};

/// What the proxy token streams depend on.
#[derive(Debug, Serialize)]
struct ProxyDataKey<'a> {
    blend: &'a str,
    documents: ProxyDocuments<'a>,
    domain_column: &'a str,
    /// Without its path: a given tokenizer file is named by `tokenizer_sha256`.
    tokenizer: TokenizerConfig,
    tokenizer_sha256: String,
    valid_fraction: f64,
    /// Long documents give held-out tails of at least one window of this length + 1.
    sequence_length: usize,
    split: &'static str,
    seed: u64,
    /// QuaDMix's quality columns, kept beside the train streams (absent: none).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    quality: &'a [String],
}

/// The documents the proxy data is made of: input files as found (path, size, time), or
/// the content digest of a pipeline stage's rows.
#[derive(Debug, Serialize)]
enum ProxyDocuments<'a> {
    Files {
        files: Vec<FileFingerprint>,
        inputs: &'a [InputSpec],
    },
    Rows(&'a str),
}

/// Writes (or reuses) `out/proxy-data`: the tokenizer, then every document's tokens in its
/// domain's train or valid stream.
pub(crate) fn prepare_proxy_data(
    request: &ProxySearchRequest,
    progress: &dyn Progress,
) -> Result<(ProxyDataManifest, bool)> {
    let reader = CorpusReader::open(&request.inputs, ReadOptions::default())?;
    let documents = match &request.inputs_digest {
        Some(digest) => ProxyDocuments::Rows(digest),
        None => ProxyDocuments::Files {
            files: reader
                .files()
                .iter()
                .map(|file| FileFingerprint::of(&file.path))
                .collect::<Result<_>>()?,
            inputs: &request.inputs,
        },
    };
    let key = CacheKey::new(&ProxyDataKey {
        blend: BLEND_VERSION,
        documents,
        domain_column: &request.domain_column,
        tokenizer: TokenizerConfig {
            path: None,
            ..request.tokenizer.clone()
        },
        tokenizer_sha256: match &request.tokenizer.path {
            Some(path) => sha256_file(path)?,
            None => String::new(),
        },
        valid_fraction: request.valid_fraction,
        sequence_length: request.sequence_length,
        split: SPLIT_RULE,
        seed: request.seed,
        quality: &request.quality_columns,
    });
    let dir = request.out_dir.join(PROXY_DATA_DIR);
    if let Ok(manifest) = ProxyDataManifest::read(&dir)
        && manifest.key == key.hash()
    {
        match verify_checksums(&dir) {
            Ok(()) => {
                tracing::info!("reusing the proxy token streams in {}", dir.display());
                return Ok((manifest, true));
            }
            Err(why) => tracing::warn!(
                "{}: proxy token streams do not verify: {why}; recomputing them",
                dir.display()
            ),
        }
    }
    let meter = CostMeter::start();
    let tokenizer = proxy_tokenizer(request, &reader, progress)?;
    let mut writer = ProxyDataWriter::create(&dir, tokenizer.info.clone(), key.hash().to_string())?;
    let bar = progress.start("tokenize", None, "docs");
    let mut quality = ProxyQuality::new(request.quality_columns.clone());
    let mut write_batch = |batch: &RecordBatch| -> Result<()> {
        let texts = string_values(batch, TEXT_COLUMN)?;
        let ids = string_values(batch, ID_COLUMN)?;
        let domains = domain_values(batch, &request.domain_column)?;
        let text_refs: Vec<&str> = (0..texts.len())
            .map(|i| if texts.is_null(i) { "" } else { texts.value(i) })
            .collect();
        let tokens = encode_documents(&tokenizer, &text_refs, tokenizer.info.eos_id)?;
        let quality_values = quality_values(batch, &quality.columns)?;
        for (row, tokens) in tokens.iter().enumerate() {
            let domain = if domains.is_null(row) {
                "unknown"
            } else {
                domains.value(row)
            };
            let valid = is_valid_document(ids.value(row), request.seed, request.valid_fraction);
            let tail = held_out_tail(tokens.len(), valid, request);
            let (train, held_out) = tokens.split_at(tokens.len() - tail);
            if !train.is_empty() {
                writer.add(domain, valid, train)?;
                if !valid && !quality.columns.is_empty() {
                    quality.push(domain, &quality_values, row);
                }
            }
            if !held_out.is_empty() {
                writer.add(domain, true, held_out)?;
            }
        }
        bar.advance(batch.num_rows() as u64);
        Ok(())
    };
    for_each_batch(&reader, &mut |batch| write_batch(batch))?;
    let manifest = writer.finish()?;
    if !quality.columns.is_empty() {
        quality.write(&dir)?;
    }
    // Kept beside the committed streams (read back by `StepCost::read_from`).
    meter.finish().write_to(&dir)?;
    // Last: a folder without its checksum list (killed here) is recomputed.
    write_checksums(&dir)?;
    bar.finish(&format!("{} domains", manifest.domains.len()));
    Ok((manifest, false))
}

/// The domain of each row: `domain_column`, or `source` when that is `domain` and absent.
fn domain_values(batch: &RecordBatch, domain_column: &str) -> Result<StringArray> {
    let column = batch.column_by_name(domain_column).or_else(|| {
        (domain_column == "domain")
            .then(|| batch.column_by_name(SOURCE_COLUMN))
            .flatten()
    });
    let column = column.ok_or_else(|| {
        PipelineError::column(
            "the inputs",
            domain_column,
            format!(
                "is missing (they have: {}); pass --domain-column",
                column_names(batch)
            ),
        )
    })?;
    let cast = arrow::compute::cast(column, &DataType::Utf8)
        .map_err(|e| PipelineError::column("the inputs", domain_column, e.to_string()))?;
    Ok(cast
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8")
        .clone())
}

fn string_values(batch: &RecordBatch, name: &str) -> Result<StringArray> {
    string_column("search", batch, name).map_err(|e| PipelineError::operator("search", e))
}

/// How the documents are split, named in the key so a change of rule rebuilds the streams.
const SPLIT_RULE: &str = "id-hash documents + tails of long training documents";

/// Tokens at the end of a training document of `length` tokens that go to the valid stream:
/// the last `valid_fraction` of them when that fills at least one held-out window, else none.
pub(super) fn held_out_tail(length: usize, valid: bool, request: &ProxySearchRequest) -> usize {
    let tail = (length as f64 * request.valid_fraction).ceil() as usize;
    if valid || tail < request.sequence_length + 1 || tail >= length {
        0
    } else {
        tail
    }
}

/// Whether the document `id` is held out.
pub(super) fn is_valid_document(id: &str, seed: u64, fraction: f64) -> bool {
    SeededRng::for_stream(seed, &format!("proxy/split/{id}")).next_f64() < fraction
}

/// The configured tokenizer, or a byte-level BPE trained on a seeded sample of the inputs
/// (`tokenizer.json` in the output folder).
fn proxy_tokenizer(
    request: &ProxySearchRequest,
    reader: &CorpusReader,
    progress: &dyn Progress,
) -> Result<LoadedTokenizer> {
    let config = &request.tokenizer;
    if let Some(path) = &config.path {
        return load_tokenizer(path, &config.eos_token, None);
    }
    let task = progress.start("train tokenizer", None, "docs");
    let mut total_bytes = 0u64;
    reader.read(&mut |batch| {
        if let Some(texts) = batch
            .column_by_name(TEXT_COLUMN)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        {
            total_bytes += texts.iter().flatten().map(|t| t.len() as u64).sum::<u64>();
        }
        Ok(())
    })?;
    let keep = (config.train_sample_bytes as f64 / total_bytes.max(1) as f64).min(1.0);
    let mut rng = SeededRng::for_stream(request.seed, "proxy/tokenizer-sample");
    let mut sample = Vec::new();
    reader.read(&mut |batch| {
        if let Some(texts) = batch
            .column_by_name(TEXT_COLUMN)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        {
            for text in texts.iter().flatten() {
                if rng.bernoulli(keep) {
                    sample.push(text.to_string());
                }
            }
        }
        Ok(())
    })?;
    if sample.is_empty() {
        return Err(PipelineError::Tokenizer(
            "the inputs hold no text to train a tokenizer on".into(),
        ));
    }
    let path = request.out_dir.join(TOKENIZER_FILE);
    tracing::info!(
        "training a {}-token BPE on {} documents for the proxies",
        config.vocab_size,
        sample.len()
    );
    train_bpe(&sample, config, &path)?;
    task.finish(&format!("{} documents", sample.len()));
    let name = format!("blend-proxy-bpe-{}", config.vocab_size);
    let mut loaded = load_tokenizer(&path, &config.eos_token, Some(name))?;
    loaded.trained = true;
    Ok(loaded)
}
