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
use std::sync::Arc;

use blend_datasets::files::write_atomic;
use blend_datasets::shards::{
    DomainDocuments, MANIFEST_FILE, MANIFEST_VERSION, SelectionPlan, ShardEntry, ShardFormat,
    ShardManifest, SplitSummary, SplitWriter, TokenDtype, plan_selection,
};

pub use crate::engine::config::{ShardsConfig, parse_token_count};
use blend_kernels::SeededRng;
use blend_mixers::Mixture;
use blend_mixers::quadmix::QualitySampling;
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
    pub out: PathBuf,
    /// Defaults to the run's tokenizer.json.
    pub tokenizer: Option<PathBuf>,
    /// Budget, formats, packing, epochs cap, valid split, shard size; `seed` defaults to
    /// the mixture's.
    pub settings: ShardsConfig,
}

/// What the final shards are drawn from, read and checked before anything is written.
pub(crate) struct FinalInputs {
    pub mixture: Mixture,
    /// Where the mixture is (or will be) written, named in budget errors.
    pub mixture_path: PathBuf,
    pub docs_dir: PathBuf,
    pub docs_manifest: StageManifest,
    pub domain_column: String,
    pub tokenizer: Arc<LoadedTokenizer>,
    pub seed: u64,
    pub dtype: TokenDtype,
}

/// Writes the final shards of `request` and returns their manifest.
pub async fn build_final_shards(
    request: &FinalShardsRequest,
    progress: &dyn Progress,
) -> Result<ShardManifest> {
    if let Some((key, problem)) = request.settings.problem() {
        return Err(PipelineError::argument(format!("shards {key}"), problem));
    }
    let inputs = read_inputs(request)?;
    let holds_other_files = !request.out.join(MANIFEST_FILE).exists()
        && std::fs::read_dir(&request.out).is_ok_and(|mut entries| entries.next().is_some());
    if holds_other_files {
        return Err(PipelineError::NotShardFolder {
            path: request.out.clone(),
        });
    }
    let key = CacheKey::new(&FinalShardsKey {
        blend: BLEND_VERSION,
        docs: &inputs.docs_manifest.content_digest(),
        mixture: &inputs.mixture.sha256(),
        settings: &request.settings,
        seed: inputs.seed,
        tokenizer: &inputs.tokenizer.info.sha256,
    });
    write_folder_async(&request.out, async |tmp: &Path| {
        let manifest = draw_final_shards(&request.settings, &inputs, &key, tmp, progress).await?;
        write_atomic(&tmp.join(MANIFEST_FILE), manifest.to_json().as_bytes())?;
        Ok(manifest)
    })
    .await
}

/// Whether a document is held out of the final shards' train split (a seeded hash of its
/// id, so any pass over the documents agrees on it).
pub(crate) fn is_valid_document(id: &str, seed: u64, fraction: f64) -> bool {
    fraction > 0.0
        && SeededRng::for_stream(seed, &format!("shards/valid/{id}")).next_f64() < fraction
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
    let docs_dir = relative_to(&request.run, docs_stage.dir.clone());
    let docs_manifest =
        StageManifest::read_verified(&docs_dir).map_err(|_| PipelineError::StaleRun {
            dir: docs_dir.clone(),
        })?;
    let tokenizer_path = request
        .tokenizer
        .clone()
        .unwrap_or_else(|| summary.out_dir.join(TOKENIZER_FILE));
    // Paths recorded by older runs may be relative to the folder the run was started in;
    // a relative one is taken relative to the summary's folder.
    let tokenizer_path = relative_to(&request.run, tokenizer_path);
    let tokenizer = load_tokenizer(&tokenizer_path, &summary.shards.tokenizer.eos_token, None)?;
    let dtype = TokenDtype::for_vocab_size(tokenizer.info.vocab_size as usize);
    let uint16_only = request
        .settings
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
        seed: request.settings.seed.unwrap_or(mixture.seed),
        mixture,
        mixture_path: request.mixture.clone(),
        docs_dir,
        docs_manifest,
        domain_column: summary.domain_column.clone(),
        tokenizer: Arc::new(tokenizer),
        dtype,
    })
}

/// `path` as recorded in the run summary of `run` (a folder or the summary file): relative
/// paths are taken relative to the summary's folder.
fn relative_to(run: &Path, path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        return path;
    }
    let folder = if run.is_file() {
        run.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        run.to_path_buf()
    };
    folder.join(path)
}

/// The stage whose documents the run wrote as shards.
fn output_stage(summary: &RunSummary) -> Option<&StageSummary> {
    summary.stages.iter().find(|s| {
        s.name == summary.output_stage || (summary.output_stage == "input" && s.name == "read")
    })
}

/// Draws the final shards of `inputs` by `settings` into `tmp`; the manifest's `run_key` is
/// `key`. `blend shards` and `blend run` both write their final shards with it.
pub(crate) async fn draw_final_shards(
    settings: &ShardsConfig,
    inputs: &FinalInputs,
    key: &CacheKey,
    tmp: &Path,
    progress: &dyn Progress,
) -> Result<ShardManifest> {
    let token_path = tmp.join("tokens.u32.tmp");
    let index = tokenize_into(inputs, settings.valid_fraction, &token_path, progress).await?;
    let tokens = TokenFile::open(&token_path)?;
    let train_docs = train_documents_by_domain(&index, &inputs.mixture);
    let plan = plan_draw(settings, inputs, &index, &train_docs)?;
    let task = progress.start("write shards", Some(plan.order.len() as u64), "docs");
    let mut buffer = Vec::new();
    let mut train = split_writer(settings, inputs, tmp, TRAIN_SPLIT);
    for &(domain, doc_in_domain) in &plan.order {
        let doc = train_docs[domain as usize][doc_in_domain as usize] as usize;
        tokens.read(&index, doc, &mut buffer)?;
        let domain = &inputs.mixture.domains[domain as usize].domain;
        train.add_document(&buffer, &index.ids[doc], domain)?;
        task.advance(1);
    }
    let mut valid_order: Vec<usize> = (0..index.valid.len()).filter(|&d| index.valid[d]).collect();
    SeededRng::for_stream(inputs.seed, "shards/valid-order").shuffle(&mut valid_order);
    let mut valid = split_writer(settings, inputs, tmp, VALID_SPLIT);
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
    Ok(final_manifest(settings, inputs, key, splits, shards))
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
    settings: &ShardsConfig,
    inputs: &FinalInputs,
    index: &DocumentIndex,
    train_docs: &[Vec<u32>],
) -> Result<SelectionPlan> {
    let domains: Vec<DomainDocuments> = inputs
        .mixture
        .domains
        .iter()
        .zip(train_docs)
        .map(|(d, docs)| {
            Ok(DomainDocuments {
                domain: d.domain.clone(),
                weight: d.weight,
                doc_tokens: docs
                    .iter()
                    .map(|&doc| u64::from(index.lengths[doc as usize]))
                    .collect(),
                doc_weights: match &inputs.mixture.sampling {
                    Some(sampling) => Some(quality_weights(sampling, &d.domain, index, docs)?),
                    None => None,
                },
            })
        })
        .collect::<Result<_>>()?;
    let tokens = settings.tokens.get();
    plan_selection(&domains, tokens, settings.max_epochs, inputs.seed).map_err(|e| {
        PipelineError::Budget {
            tokens,
            mixture: inputs.mixture_path.clone(),
            problem: e.to_string(),
        }
    })
}

/// Expected copies of each of a domain's train documents `docs` under QuaDMix's sampling
/// function: their quality ranks within the domain, through `S(r)`.
fn quality_weights(
    sampling: &QualitySampling,
    domain: &str,
    index: &DocumentIndex,
    docs: &[u32],
) -> Result<Vec<f64>> {
    let columns: Vec<Vec<f64>> = index
        .quality
        .iter()
        .map(|values| docs.iter().map(|&doc| values[doc as usize]).collect())
        .collect();
    Ok(sampling.frequencies(domain, &sampling.ranks(&columns))?)
}

fn split_writer(
    settings: &ShardsConfig,
    inputs: &FinalInputs,
    dir: &Path,
    split: &str,
) -> SplitWriter {
    SplitWriter::new(
        dir,
        split,
        &settings.formats,
        inputs.dtype,
        settings.shard_tokens.get(),
        settings.sequence_length,
    )
}

/// What the final shards depend on; its hash is the manifest's `run_key`.
#[derive(Debug, Serialize)]
pub(crate) struct FinalShardsKey<'a> {
    pub blend: &'a str,
    pub docs: &'a str,
    pub mixture: &'a str,
    pub settings: &'a ShardsConfig,
    pub seed: u64,
    pub tokenizer: &'a str,
}

fn final_manifest(
    settings: &ShardsConfig,
    inputs: &FinalInputs,
    key: &CacheKey,
    splits: BTreeMap<String, SplitSummary>,
    shards: Vec<ShardEntry>,
) -> ShardManifest {
    ShardManifest {
        manifest_version: MANIFEST_VERSION,
        created_by: format!("blend {BLEND_VERSION}"),
        formats: settings.formats.clone(),
        dtype: inputs.dtype,
        sequence_length: settings.sequence_length,
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
