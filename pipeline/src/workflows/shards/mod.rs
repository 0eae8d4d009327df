//! `blend shards`: the final training shards of a finished run, drawn by a mixture to an
//! exact token budget. Pass 1 ([`document_index`]) tokenizes the run's output documents into
//! a temporary token file and holds out a seeded share of each domain's documents as `valid`.
//! The budget plan then picks train documents per domain (whole epochs plus a seeded
//! remainder, capped), shuffles them globally, and pass 2 copies their tokens into shards of
//! every requested format. The folder is assembled under a temporary name and renamed, so a
//! half-written shard set is never trusted.

mod document_index;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use blend_datasets::files::write_atomic;
use blend_datasets::shards::{
    DomainDocuments, MANIFEST_FILE, MANIFEST_VERSION, SelectionPlan, ShardEntry, ShardFormat,
    ShardManifest, SplitSummary, SplitWriter, TokenDtype, plan_selection,
};
use blend_kernels::SeededRng;
use blend_mixers::Mixture;
use serde::Serialize;

use document_index::{DocumentIndex, TokenFile, tokenize_into};

use crate::engine::cache::{CacheKey, StageManifest, write_folder_async};
use crate::engine::summary::{RunSummary, StageSummary};
use crate::engine::tokenizer::{LoadedTokenizer, TOKENIZER_FILE, load_tokenizer};
use crate::progress::Progress;
use crate::{BLEND_VERSION, PipelineError, Result};

pub const TRAIN_SPLIT: &str = "train";
pub const VALID_SPLIT: &str = "valid";

/// Everything `blend shards` needs.
#[derive(Debug, Clone, Serialize)]
pub struct FinalShardsRequest {
    pub mixture: PathBuf,
    /// A finished run's output or work folder (holding run_summary.json).
    pub run: PathBuf,
    pub tokens: u64,
    pub out: PathBuf,
    /// Defaults to the run's tokenizer.json.
    pub tokenizer: Option<PathBuf>,
    /// Defaults to the mixture's seed.
    pub seed: Option<u64>,
    pub max_epochs: f64,
    pub formats: Vec<ShardFormat>,
    pub sequence_length: Option<u64>,
    pub valid_fraction: f64,
    pub max_tokens_per_shard: u64,
}

fn check(request: &FinalShardsRequest) -> Result<()> {
    if request.tokens == 0 {
        return Err(PipelineError::argument("--tokens", "must be positive"));
    }
    if !(request.max_epochs.is_finite() && request.max_epochs > 0.0) {
        return Err(PipelineError::argument(
            "--max-epochs",
            format!("must be positive, got {}", request.max_epochs),
        ));
    }
    if !(0.0..1.0).contains(&request.valid_fraction) {
        return Err(PipelineError::argument(
            "--valid-fraction",
            format!("must be in [0, 1), got {}", request.valid_fraction),
        ));
    }
    if request.sequence_length == Some(0) {
        return Err(PipelineError::argument("--seq-len", "must be positive"));
    }
    Ok(())
}

/// What the final shards are drawn from, read and checked before anything is written.
struct FinalInputs {
    mixture: Mixture,
    docs_dir: PathBuf,
    docs_manifest: StageManifest,
    tokenizer: LoadedTokenizer,
    seed: u64,
    dtype: TokenDtype,
}

/// Writes the final shards of `request` and returns their manifest.
pub async fn build_final_shards(
    request: &FinalShardsRequest,
    progress: &dyn Progress,
) -> Result<ShardManifest> {
    check(request)?;
    let inputs = read_inputs(request)?;
    let holds_other_files = !request.out.join(MANIFEST_FILE).exists()
        && std::fs::read_dir(&request.out).is_ok_and(|mut entries| entries.next().is_some());
    if holds_other_files {
        return Err(PipelineError::NotShardFolder {
            path: request.out.clone(),
        });
    }
    write_folder_async(&request.out, async |tmp: &Path| {
        let manifest = write_final(request, &inputs, tmp, progress).await?;
        write_atomic(&tmp.join(MANIFEST_FILE), manifest.to_json().as_bytes())?;
        Ok(manifest)
    })
    .await
}

/// The mixture, the run's output documents and the tokenizer of `request`.
fn read_inputs(request: &FinalShardsRequest) -> Result<FinalInputs> {
    let mixture = Mixture::read(&request.mixture)?;
    let summary = RunSummary::read(&request.run)?;
    let docs_stage = output_stage(&summary).ok_or_else(|| {
        PipelineError::unreadable(
            &request.run,
            "blend run summary",
            "it names no output stage",
        )
    })?;
    let docs_manifest =
        StageManifest::read_verified(&docs_stage.dir).map_err(|_| PipelineError::StaleRun {
            dir: docs_stage.dir.clone(),
        })?;
    let tokenizer_path = request
        .tokenizer
        .clone()
        .unwrap_or_else(|| summary.out_dir.join(TOKENIZER_FILE));
    let tokenizer = load_tokenizer(&tokenizer_path, &summary.shards.tokenizer.eos_token, None)?;
    let dtype = TokenDtype::for_vocab_size(tokenizer.info.vocab_size as usize);
    let uint16_only = request
        .formats
        .iter()
        .any(|f| matches!(f, ShardFormat::Nanogpt | ShardFormat::Llmc));
    if dtype == TokenDtype::Int32 && uint16_only {
        return Err(PipelineError::VocabularyTooLarge {
            tokenizer: tokenizer_path,
            vocab_size: tokenizer.info.vocab_size,
        });
    }
    Ok(FinalInputs {
        seed: request.seed.unwrap_or(mixture.seed),
        mixture,
        docs_dir: docs_stage.dir.clone(),
        docs_manifest,
        tokenizer,
        dtype,
    })
}

/// The stage whose documents the run wrote as shards.
fn output_stage(summary: &RunSummary) -> Option<&StageSummary> {
    summary.stages.iter().find(|s| {
        s.name == summary.output_stage || (summary.output_stage == "input" && s.name == "read")
    })
}

async fn write_final(
    request: &FinalShardsRequest,
    inputs: &FinalInputs,
    tmp: &Path,
    progress: &dyn Progress,
) -> Result<ShardManifest> {
    let token_path = tmp.join("tokens.u32.tmp");
    let index = tokenize_into(
        request,
        &inputs.docs_dir,
        &inputs.docs_manifest,
        &inputs.tokenizer,
        inputs.seed,
        &token_path,
        progress,
    )
    .await?;
    let tokens = TokenFile::open(&token_path)?;
    let train_docs = train_documents_by_domain(&index, &inputs.mixture);
    let plan = plan_draw(request, inputs, &index, &train_docs)?;
    let task = progress.start("write shards", Some(plan.order.len() as u64), "docs");
    let mut buffer = Vec::new();
    let mut train = split_writer(request, inputs, tmp, TRAIN_SPLIT);
    for &(domain, doc_in_domain) in &plan.order {
        let doc = train_docs[domain as usize][doc_in_domain as usize] as usize;
        tokens.read(&index, doc, &mut buffer)?;
        let domain = &inputs.mixture.domains[domain as usize].domain;
        train.add_document(&buffer, &index.ids[doc], domain)?;
        task.advance(1);
    }
    let mut valid_order: Vec<usize> = (0..index.valid.len()).filter(|&d| index.valid[d]).collect();
    SeededRng::for_stream(inputs.seed, "shards/valid-order").shuffle(&mut valid_order);
    let mut valid = split_writer(request, inputs, tmp, VALID_SPLIT);
    for doc in valid_order {
        tokens.read(&index, doc, &mut buffer)?;
        valid.add_document(&buffer, &index.ids[doc], index.domain(doc))?;
    }
    drop(tokens);
    std::fs::remove_file(&token_path).map_err(|e| PipelineError::io(&token_path, e))?;
    let (mut shards, mut train_summary) = train.finish()?;
    let (valid_shards, valid_summary) = valid.finish()?;
    shards.extend(valid_shards);
    task.finish(&format!("{} shards", shards.len()));
    for domain in &plan.domains {
        train_summary
            .budget_per_domain
            .insert(domain.domain.clone(), domain.budget_tokens);
        train_summary
            .epochs_per_domain
            .insert(domain.domain.clone(), domain.epochs);
    }
    let mut splits = BTreeMap::from([(TRAIN_SPLIT.to_string(), train_summary)]);
    if valid_summary.documents > 0 {
        splits.insert(VALID_SPLIT.to_string(), valid_summary);
    }
    Ok(final_manifest(request, inputs, splits, shards))
}

/// The train documents of each mixture domain (in mixture order); documents of other
/// domains are not drawn, with a warning per domain.
fn train_documents_by_domain(index: &DocumentIndex, mixture: &Mixture) -> Vec<Vec<u32>> {
    let mut train_docs: Vec<Vec<u32>> = vec![Vec::new(); mixture.domains.len()];
    let position: HashMap<&str, usize> = mixture
        .domains
        .iter()
        .enumerate()
        .map(|(i, d)| (d.domain.as_str(), i))
        .collect();
    let mut unmatched: BTreeMap<&str, u64> = BTreeMap::new();
    for doc in 0..index.lengths.len() {
        match position.get(index.domain(doc)) {
            Some(&slot) if !index.valid[doc] => train_docs[slot].push(doc as u32),
            Some(_) => {}
            None => *unmatched.entry(index.domain(doc)).or_default() += 1,
        }
    }
    for (domain, count) in &unmatched {
        tracing::warn!(
            "{count} documents of domain `{domain}` are not in the mixture and are not drawn"
        );
    }
    train_docs
}

/// Which train documents to write, in which order, to meet the budget by the mixture.
fn plan_draw(
    request: &FinalShardsRequest,
    inputs: &FinalInputs,
    index: &DocumentIndex,
    train_docs: &[Vec<u32>],
) -> Result<SelectionPlan> {
    let domains: Vec<DomainDocuments> = inputs
        .mixture
        .domains
        .iter()
        .zip(train_docs)
        .map(|(d, docs)| DomainDocuments {
            domain: d.domain.clone(),
            weight: d.weight,
            doc_tokens: docs
                .iter()
                .map(|&doc| u64::from(index.lengths[doc as usize]))
                .collect(),
        })
        .collect();
    plan_selection(&domains, request.tokens, request.max_epochs, inputs.seed).map_err(|e| {
        PipelineError::Budget {
            tokens: request.tokens,
            mixture: request.mixture.clone(),
            problem: e.to_string(),
        }
    })
}

fn split_writer(
    request: &FinalShardsRequest,
    inputs: &FinalInputs,
    dir: &Path,
    split: &str,
) -> SplitWriter {
    SplitWriter::new(
        dir,
        split,
        &request.formats,
        inputs.dtype,
        request.max_tokens_per_shard,
        request.sequence_length,
    )
}

/// What the final shards depend on; its hash is the manifest's `run_key`.
#[derive(Debug, Serialize)]
struct FinalShardsKey<'a> {
    blend: &'a str,
    docs: &'a str,
    request: &'a FinalShardsRequest,
    tokenizer: &'a str,
}

fn final_manifest(
    request: &FinalShardsRequest,
    inputs: &FinalInputs,
    splits: BTreeMap<String, SplitSummary>,
    shards: Vec<ShardEntry>,
) -> ShardManifest {
    let key = CacheKey::new(&FinalShardsKey {
        blend: BLEND_VERSION,
        docs: &inputs.docs_manifest.hash,
        request,
        tokenizer: &inputs.tokenizer.info.sha256,
    });
    ShardManifest {
        manifest_version: MANIFEST_VERSION,
        created_by: format!("blend {BLEND_VERSION}"),
        formats: request.formats.clone(),
        dtype: inputs.dtype,
        sequence_length: request.sequence_length,
        tokenizer: inputs.tokenizer.info.clone(),
        mixture_sha256: inputs.mixture.sha256(),
        seed: inputs.seed,
        run_key: key.hash().to_string(),
        eos_appended: true,
        total_documents: shards.iter().map(|s| s.documents).sum(),
        total_tokens: shards.iter().map(|s| s.tokens).sum(),
        splits,
        shards,
    }
}

/// Parses token counts such as `2B`, `500M`, `1.5e9`, `10_000`, `64k` (decimal units).
pub fn parse_token_count(text: &str) -> Option<u64> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| *c != '_' && *c != ',')
        .collect();
    let (number, multiplier) = match cleaned.chars().last()?.to_ascii_uppercase() {
        'K' => (&cleaned[..cleaned.len() - 1], 1e3),
        'M' => (&cleaned[..cleaned.len() - 1], 1e6),
        'B' | 'G' => (&cleaned[..cleaned.len() - 1], 1e9),
        'T' => (&cleaned[..cleaned.len() - 1], 1e12),
        _ => (cleaned.as_str(), 1.0),
    };
    let value: f64 = number.parse().ok()?;
    let tokens = value * multiplier;
    (1.0..1e19).contains(&tokens).then(|| tokens.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_counts_parse() {
        assert_eq!(parse_token_count("2B"), Some(2_000_000_000));
        assert_eq!(parse_token_count("500m"), Some(500_000_000));
        assert_eq!(parse_token_count("64k"), Some(64_000));
        assert_eq!(parse_token_count("1.5e6"), Some(1_500_000));
        assert_eq!(parse_token_count("10_000"), Some(10_000));
        assert_eq!(parse_token_count("0"), None);
        assert_eq!(parse_token_count("lots"), None);
    }
}
