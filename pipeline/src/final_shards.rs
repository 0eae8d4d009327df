//! `blend shards`: the final training shards of a finished run, drawn by a mixture to an
//! exact token budget. Pass 1 tokenizes the run's output documents (EOS appended) into a
//! temporary token file, keeping per document only its offset, length, domain and id, so
//! memory grows with documents, not tokens; a seeded share of each domain's documents is held
//! out as `valid`. The budget plan then picks train documents per domain (whole epochs plus a
//! seeded remainder, capped), shuffles them globally, and pass 2 copies their tokens into
//! shards of every requested format. The folder is assembled under a temporary name and
//! renamed, so a half-written shard set is never trusted.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use blend_datasets::shards::{
    DomainDocuments, MANIFEST_FILE, MANIFEST_VERSION, ShardFormat, ShardManifest, SplitWriter,
    TokenDtype, plan_selection,
};
use blend_kernels::SeededRng;
use blend_mixers::Mixture;
use futures::StreamExt;
use serde::Serialize;

use crate::progress::Progress;
use crate::session::{new_session, stream_parts};
use crate::shards_stage::domain_column;
use crate::stage_cache::{PendingStage, load_verified};
use crate::summary::RunSummary;
use crate::tokenize::{LoadedTokenizer, TOKENIZER_FILE, encode_batch, load_tokenizer};
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

/// Per-document facts kept between the passes.
#[derive(Debug, Default)]
struct DocumentIndex {
    offsets: Vec<u64>,
    lengths: Vec<u32>,
    domains: Vec<u32>,
    ids: Vec<String>,
    valid: Vec<bool>,
    domain_names: Vec<String>,
}

impl DocumentIndex {
    fn domain_index(&mut self, name: &str, lookup: &mut HashMap<String, u32>) -> u32 {
        *lookup.entry(name.to_string()).or_insert_with(|| {
            self.domain_names.push(name.to_string());
            (self.domain_names.len() - 1) as u32
        })
    }
}

fn check(request: &FinalShardsRequest) -> Result<()> {
    let fail = |message: String| Err(PipelineError::Invalid(message));
    if request.tokens == 0 {
        return fail("--tokens must be positive".into());
    }
    if !(request.max_epochs.is_finite() && request.max_epochs > 0.0) {
        return fail(format!(
            "--max-epochs must be positive, got {}",
            request.max_epochs
        ));
    }
    if !(0.0..1.0).contains(&request.valid_fraction) {
        return fail(format!(
            "--valid-fraction must be in [0, 1), got {}",
            request.valid_fraction
        ));
    }
    if request.sequence_length == Some(0) {
        return fail("--seq-len must be positive".into());
    }
    Ok(())
}

/// Writes the final shards of `request` and returns their manifest.
pub async fn build_final_shards(
    request: &FinalShardsRequest,
    progress: &dyn Progress,
) -> Result<ShardManifest> {
    check(request)?;
    let mixture = Mixture::read(&request.mixture)?;
    let summary = RunSummary::read(&request.run)?;
    let docs_stage = summary
        .stages
        .iter()
        .find(|s| {
            s.name == summary.output_stage || (summary.output_stage == "input" && s.name == "read")
        })
        .ok_or_else(|| {
            PipelineError::Invalid(format!(
                "{}: the run names no output stage",
                request.run.display()
            ))
        })?;
    let docs_manifest = load_verified(&docs_stage.dir).ok_or_else(|| {
        PipelineError::Invalid(format!(
            "{}: the run's output documents are missing or changed; run `blend run` again",
            docs_stage.dir.display()
        ))
    })?;
    let tokenizer_path = request
        .tokenizer
        .clone()
        .unwrap_or_else(|| summary.out_dir.join(TOKENIZER_FILE));
    let tokenizer = load_tokenizer(&tokenizer_path, &summary.shards.tokenizer.eos_token, None)?;
    let seed = request.seed.unwrap_or(mixture.seed);
    let dtype = TokenDtype::for_vocab_size(tokenizer.info.vocab_size as usize);
    if dtype == TokenDtype::Int32
        && request
            .formats
            .iter()
            .any(|f| matches!(f, ShardFormat::Nanogpt | ShardFormat::Llmc))
    {
        return Err(PipelineError::Invalid(format!(
            "{} has {} tokens; nanoGPT and llm.c files hold uint16 ids (vocabulary below 65,536)",
            tokenizer_path.display(),
            tokenizer.info.vocab_size
        )));
    }

    let holds_other_files = !request.out.join(MANIFEST_FILE).exists()
        && std::fs::read_dir(&request.out).is_ok_and(|mut entries| entries.next().is_some());
    if holds_other_files {
        return Err(PipelineError::Invalid(format!(
            "{} exists and is not a blend shard folder; choose another --out",
            request.out.display()
        )));
    }
    let pending = PendingStage::begin(request.out.clone())?;
    let result = write_final(
        request,
        &mixture,
        &docs_stage.dir,
        &docs_manifest,
        &tokenizer,
        seed,
        dtype,
        &pending.tmp,
        progress,
    )
    .await;
    let manifest = match result {
        Ok(manifest) => manifest,
        Err(error) => {
            pending.abandon();
            return Err(error);
        }
    };
    pending.commit(&manifest.to_json())?;
    Ok(manifest)
}

#[allow(clippy::too_many_arguments)]
async fn write_final(
    request: &FinalShardsRequest,
    mixture: &Mixture,
    docs_dir: &Path,
    docs_manifest: &crate::stage_cache::StageManifest,
    tokenizer: &LoadedTokenizer,
    seed: u64,
    dtype: TokenDtype,
    tmp: &Path,
    progress: &dyn Progress,
) -> Result<ShardManifest> {
    let token_path = tmp.join("tokens.u32.tmp");
    let index = tokenize_into(
        request,
        docs_dir,
        docs_manifest,
        tokenizer,
        seed,
        &token_path,
        progress,
    )
    .await?;
    let token_file = File::open(&token_path).map_err(|e| PipelineError::io(&token_path, e))?;

    // Train documents per mixture domain; documents of other domains are not drawn.
    let mut train_docs: Vec<Vec<u32>> = vec![Vec::new(); mixture.domains.len()];
    let position: HashMap<&str, usize> = mixture
        .domains
        .iter()
        .enumerate()
        .map(|(i, d)| (d.domain.as_str(), i))
        .collect();
    let mut unmatched: BTreeMap<String, u64> = BTreeMap::new();
    for doc in 0..index.lengths.len() {
        let domain = &index.domain_names[index.domains[doc] as usize];
        match position.get(domain.as_str()) {
            Some(&slot) if !index.valid[doc] => train_docs[slot].push(doc as u32),
            Some(_) => {}
            None => *unmatched.entry(domain.clone()).or_default() += 1,
        }
    }
    for (domain, count) in &unmatched {
        tracing::warn!(
            "{count} documents of domain `{domain}` are not in the mixture and are not drawn"
        );
    }
    let domains: Vec<DomainDocuments> = mixture
        .domains
        .iter()
        .zip(&train_docs)
        .map(|(d, docs)| DomainDocuments {
            domain: d.domain.clone(),
            weight: d.weight,
            doc_tokens: docs
                .iter()
                .map(|&doc| u64::from(index.lengths[doc as usize]))
                .collect(),
        })
        .collect();
    let plan = plan_selection(&domains, request.tokens, request.max_epochs, seed).map_err(|e| {
        PipelineError::Invalid(format!(
            "cannot draw {} tokens by {}: {e}",
            request.tokens,
            request.mixture.display()
        ))
    })?;

    let read_tokens = |doc: usize, buffer: &mut Vec<u32>| -> Result<()> {
        let length = index.lengths[doc] as usize;
        let mut bytes = vec![0u8; length * 4];
        token_file
            .read_exact_at(&mut bytes, index.offsets[doc] * 4)
            .map_err(|e| PipelineError::io(&token_path, e))?;
        buffer.clear();
        buffer.extend(
            bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        Ok(())
    };
    let mut buffer = Vec::new();
    let task = progress.start("write shards", Some(plan.order.len() as u64), "docs");
    let mut train = SplitWriter::new(
        tmp,
        TRAIN_SPLIT,
        &request.formats,
        dtype,
        request.max_tokens_per_shard,
        request.sequence_length,
    );
    for &(domain, doc_in_domain) in &plan.order {
        let doc = train_docs[domain as usize][doc_in_domain as usize] as usize;
        read_tokens(doc, &mut buffer)?;
        train.add_document(
            &buffer,
            &index.ids[doc],
            &mixture.domains[domain as usize].domain,
        )?;
        task.advance(1);
    }
    let mut valid_order: Vec<usize> = (0..index.valid.len()).filter(|&d| index.valid[d]).collect();
    SeededRng::for_stream(seed, "shards/valid-order").shuffle(&mut valid_order);
    let mut valid = SplitWriter::new(
        tmp,
        VALID_SPLIT,
        &request.formats,
        dtype,
        request.max_tokens_per_shard,
        request.sequence_length,
    );
    for doc in valid_order {
        read_tokens(doc, &mut buffer)?;
        valid.add_document(
            &buffer,
            &index.ids[doc],
            &index.domain_names[index.domains[doc] as usize],
        )?;
    }
    drop(token_file);
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
    let request_json = serde_json::to_value(request).expect("request serializes");
    let manifest = ShardManifest {
        manifest_version: MANIFEST_VERSION,
        created_by: format!("blend {BLEND_VERSION}"),
        formats: request.formats.clone(),
        dtype,
        sequence_length: request.sequence_length,
        tokenizer: tokenizer.info.clone(),
        mixture_sha256: mixture.sha256(),
        seed,
        run_key: crate::stage_cache::stage_hash(&serde_json::json!({
            "blend": BLEND_VERSION, "docs": docs_manifest.hash, "request": request_json, "tokenizer": tokenizer.info.sha256,
        })),
        eos_appended: true,
        total_documents: shards.iter().map(|s| s.documents).sum(),
        total_tokens: shards.iter().map(|s| s.tokens).sum(),
        splits,
        shards,
    };
    Ok(manifest)
}

/// Pass 1: tokens of every output document into `token_path` (u32 little endian), and the
/// per-document index.
async fn tokenize_into(
    request: &FinalShardsRequest,
    docs_dir: &Path,
    docs_manifest: &crate::stage_cache::StageManifest,
    tokenizer: &LoadedTokenizer,
    seed: u64,
    token_path: &Path,
    progress: &dyn Progress,
) -> Result<DocumentIndex> {
    const STAGE: &str = "tokenize";
    let ctx = new_session(4096);
    let mut stream = stream_parts(&ctx, STAGE, docs_dir, &docs_manifest.parts).await?;
    let domain_column = domain_column(&stream.schema(), "domain");
    let mut out = BufWriter::with_capacity(
        1 << 20,
        File::create(token_path).map_err(|e| PipelineError::io(token_path, e))?,
    );
    let mut index = DocumentIndex::default();
    let mut lookup = HashMap::new();
    let mut valid_rng = SeededRng::for_stream(seed, "shards/valid");
    let mut offset = 0u64;
    let task = progress.start("tokenize", Some(docs_manifest.rows_out), "docs");
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| PipelineError::datafusion(STAGE, e))?;
        let encoded = encode_batch(STAGE, &batch, tokenizer, &domain_column)?;
        for (row, tokens) in encoded.tokens.iter().enumerate() {
            let bytes: Vec<u8> = tokens.iter().flat_map(|t| t.to_le_bytes()).collect();
            out.write_all(&bytes)
                .map_err(|e| PipelineError::io(token_path, e))?;
            let domain_index = index.domain_index(encoded.domain(row), &mut lookup);
            index.offsets.push(offset);
            index.lengths.push(u32::try_from(tokens.len()).map_err(|_| {
                PipelineError::Invalid(format!(
                    "document {} has more than 2^32 tokens",
                    encoded.ids.value(row)
                ))
            })?);
            index.domains.push(domain_index);
            index.ids.push(encoded.ids.value(row).to_string());
            index
                .valid
                .push(valid_rng.bernoulli(request.valid_fraction));
            offset += tokens.len() as u64;
        }
        task.advance(batch.num_rows() as u64);
    }
    out.flush().map_err(|e| PipelineError::io(token_path, e))?;
    task.finish(&format!(
        "{} documents, {offset} tokens",
        index.lengths.len()
    ));
    Ok(index)
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
