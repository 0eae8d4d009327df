//! `manifest.json` of a shard folder: the tokenizer (name, sha256, vocabulary, EOS), the
//! mixture's sha256, the seed, the formats, per split the tokens per domain (with budget
//! and epochs), and per shard its files' sha256, sequences, documents and tokens per domain.
//! `verify_shards` re-reads every file of every shard and checks all of it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::format::{ShardFormat, read_shard};
use super::megatron::TokenDtype;
use crate::files::sha256_file;
use crate::{DatasetError, Result};

pub const MANIFEST_FILE: &str = "manifest.json";
pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenizerInfo {
    pub name: String,
    /// sha256 of the tokenizer.json bytes.
    pub sha256: String,
    pub vocab_size: u64,
    pub eos_token: String,
    pub eos_id: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub format: ShardFormat,
    /// Relative to the manifest's folder.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// Files are `<name>.bin`/`.idx` (Megatron), `<name>.nanogpt.bin`, `<name>.llmc.bin`, `<name>.parquet`.
    pub name: String,
    pub split: String,
    /// Records in the shard: documents, or packed sequences when `sequence_length` is set.
    pub sequences: u64,
    /// Documents that start in this shard.
    pub documents: u64,
    /// Including one EOS per document.
    pub tokens: u64,
    pub documents_per_domain: BTreeMap<String, u64>,
    pub tokens_per_domain: BTreeMap<String, u64>,
    pub files: Vec<FileEntry>,
}

/// Totals of one split (`train`, `valid`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitSummary {
    pub documents: u64,
    pub tokens: u64,
    pub tokens_per_domain: BTreeMap<String, u64>,
    /// The token budget each domain was drawn to (absent when every document is taken once).
    #[serde(default)]
    pub budget_per_domain: BTreeMap<String, u64>,
    /// Passes over each domain's documents (selected tokens / available tokens).
    #[serde(default)]
    pub epochs_per_domain: BTreeMap<String, f64>,
    /// Tokens after the last full packed sequence, not written.
    #[serde(default)]
    pub dropped_tail_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardManifest {
    pub manifest_version: u32,
    pub created_by: String,
    pub formats: Vec<ShardFormat>,
    pub dtype: TokenDtype,
    /// Set when documents were packed into fixed-length sequences.
    pub sequence_length: Option<u64>,
    pub tokenizer: TokenizerInfo,
    pub mixture_sha256: String,
    pub seed: u64,
    /// Hash of everything that produced these shards (documents, tokenizer, settings);
    /// a re-run with the same key reuses them.
    pub run_key: String,
    pub eos_appended: bool,
    pub total_documents: u64,
    pub total_tokens: u64,
    pub splits: BTreeMap<String, SplitSummary>,
    pub shards: Vec<ShardEntry>,
}

impl ShardManifest {
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(|e| DatasetError::io(&path, e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| DatasetError::invalid(&path, format!("not a blend shard manifest: {e}")))
    }

    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("manifest serializes");
        json.push('\n');
        json
    }

    /// Tokens per domain over all splits.
    pub fn tokens_per_domain(&self) -> BTreeMap<String, u64> {
        let mut totals = BTreeMap::new();
        for split in self.splits.values() {
            for (domain, tokens) in &split.tokens_per_domain {
                *totals.entry(domain.clone()).or_insert(0) += tokens;
            }
        }
        totals
    }
}

/// What `verify_shards` checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedShards {
    pub dir: PathBuf,
    pub shards: u64,
    pub files: u64,
    pub documents: u64,
    pub tokens: u64,
}

fn mismatch(
    path: &Path,
    what: &str,
    found: impl std::fmt::Display,
    recorded: impl std::fmt::Display,
) -> DatasetError {
    DatasetError::invalid(
        path,
        format!("{what} is {found} but the manifest records {recorded}"),
    )
}

/// Re-hashes every file, decodes every format of every shard, checks that all formats hold
/// the same tokens, and checks counts and totals against the manifest.
pub fn verify_shards(dir: &Path) -> Result<VerifiedShards> {
    let manifest = ShardManifest::read(dir)?;
    let mut documents = 0u64;
    let mut tokens = 0u64;
    let mut files = 0u64;
    for shard in &manifest.shards {
        for file in &shard.files {
            let path = dir.join(&file.path);
            let sha = sha256_file(&path)?;
            if sha != file.sha256 {
                return Err(mismatch(&path, "sha256", sha, &file.sha256));
            }
            files += 1;
        }
        let mut reference: Option<(ShardFormat, Vec<u32>)> = None;
        for &format in &manifest.formats {
            let path = dir.join(&shard.name);
            let sequences = read_shard(dir, &shard.name, format)?;
            if format.keeps_sequences() && sequences.len() as u64 != shard.sequences {
                return Err(mismatch(
                    &path,
                    &format!("{} sequence count", format.name()),
                    sequences.len(),
                    shard.sequences,
                ));
            }
            let unpacked_with_eos = format.keeps_sequences()
                && manifest.eos_appended
                && manifest.sequence_length.is_none();
            if unpacked_with_eos
                && let Some(index) = sequences
                    .iter()
                    .position(|s| s.last() != Some(&manifest.tokenizer.eos_id))
            {
                return Err(DatasetError::invalid(
                    &path,
                    format!("{} sequence {index} does not end in EOS", format.name()),
                ));
            }
            if let Some(length) = manifest
                .sequence_length
                .filter(|_| format.keeps_sequences())
                && let Some(index) = sequences.iter().position(|s| s.len() as u64 != length)
            {
                return Err(DatasetError::invalid(
                    &path,
                    format!("{} sequence {index} is not {length} tokens", format.name()),
                ));
            }
            let flat = sequences.concat();
            if flat.len() as u64 != shard.tokens {
                return Err(mismatch(
                    &path,
                    &format!("{} token count", format.name()),
                    flat.len(),
                    shard.tokens,
                ));
            }
            match &reference {
                Some((first, tokens)) if *tokens != flat => {
                    return Err(DatasetError::invalid(
                        &path,
                        format!(
                            "{} and {} files hold different tokens",
                            first.name(),
                            format.name()
                        ),
                    ));
                }
                Some(_) => {}
                None => reference = Some((format, flat)),
            }
        }
        let manifest_path = dir.join(MANIFEST_FILE);
        let per_domain = shard
            .tokens_per_domain
            .values()
            .try_fold(0u64, |sum, &tokens| sum.checked_add(tokens));
        if per_domain != Some(shard.tokens) {
            return Err(DatasetError::invalid(
                manifest_path,
                format!(
                    "shard {}: tokens per domain do not add up to the shard's {} tokens",
                    shard.name, shard.tokens
                ),
            ));
        }
        let (Some(more_documents), Some(more_tokens)) = (
            documents.checked_add(shard.documents),
            tokens.checked_add(shard.tokens),
        ) else {
            return Err(DatasetError::invalid(
                manifest_path,
                format!(
                    "shard {}: the documents or tokens overflow the totals",
                    shard.name
                ),
            ));
        };
        (documents, tokens) = (more_documents, more_tokens);
    }
    let path = dir.join(MANIFEST_FILE);
    if documents != manifest.total_documents {
        return Err(mismatch(
            &path,
            "total documents",
            documents,
            manifest.total_documents,
        ));
    }
    if tokens != manifest.total_tokens {
        return Err(mismatch(
            &path,
            "total tokens",
            tokens,
            manifest.total_tokens,
        ));
    }
    Ok(VerifiedShards {
        dir: dir.to_path_buf(),
        shards: manifest.shards.len() as u64,
        files,
        documents,
        tokens,
    })
}
