//! `manifest.json` of a shard folder: the tokenizer (name, sha256, vocabulary, EOS), the
//! mixture's sha256, the seed, and per shard its files' sha256, documents and tokens per
//! domain. `verify_shards` re-reads every shard and checks all of it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::megatron::{MegatronReader, TokenDtype, shard_hashes};
use crate::{DatasetError, Result};

pub const MANIFEST_FILE: &str = "manifest.json";

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
    /// Relative to the manifest's folder.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// `<prefix>.bin` / `<prefix>.idx`, relative to the manifest's folder.
    pub prefix: String,
    pub bin: FileEntry,
    pub idx: FileEntry,
    pub documents: u64,
    /// Including one EOS per document.
    pub tokens: u64,
    pub documents_per_domain: BTreeMap<String, u64>,
    pub tokens_per_domain: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardManifest {
    pub manifest_version: u32,
    pub created_by: String,
    pub format: String,
    pub dtype: TokenDtype,
    pub tokenizer: TokenizerInfo,
    pub mixture_sha256: String,
    pub seed: u64,
    /// Hash of everything that produced these shards (documents, tokenizer, settings);
    /// a re-run with the same key reuses them.
    pub run_key: String,
    pub eos_appended: bool,
    pub total_documents: u64,
    pub total_tokens: u64,
    pub documents_per_domain: BTreeMap<String, u64>,
    pub tokens_per_domain: BTreeMap<String, u64>,
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
}

/// What `verify_shards` checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedShards {
    pub dir: PathBuf,
    pub shards: u64,
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

/// Re-hashes every file, re-reads every index and checks counts and totals against the
/// manifest.
pub fn verify_shards(dir: &Path) -> Result<VerifiedShards> {
    let manifest = ShardManifest::read(dir)?;
    let mut documents = 0u64;
    let mut tokens = 0u64;
    for shard in &manifest.shards {
        let prefix = dir.join(&shard.prefix);
        let (bin_sha, idx_sha) = shard_hashes(&prefix)?;
        if bin_sha != shard.bin.sha256 {
            return Err(mismatch(
                &dir.join(&shard.bin.path),
                "sha256",
                bin_sha,
                &shard.bin.sha256,
            ));
        }
        if idx_sha != shard.idx.sha256 {
            return Err(mismatch(
                &dir.join(&shard.idx.path),
                "sha256",
                idx_sha,
                &shard.idx.sha256,
            ));
        }
        let reader = MegatronReader::open(&prefix)?;
        if reader.dtype != manifest.dtype {
            return Err(DatasetError::invalid(
                &prefix,
                "dtype differs from the manifest",
            ));
        }
        if reader.sequences() as u64 != shard.documents {
            return Err(mismatch(
                &prefix,
                "document count",
                reader.sequences(),
                shard.documents,
            ));
        }
        if reader.total_tokens() != shard.tokens {
            return Err(mismatch(
                &prefix,
                "token count",
                reader.total_tokens(),
                shard.tokens,
            ));
        }
        if shard.tokens_per_domain.values().sum::<u64>() != shard.tokens {
            return Err(DatasetError::invalid(
                &prefix,
                "tokens per domain do not add up to the shard's tokens",
            ));
        }
        if manifest.eos_appended {
            for index in 0..reader.sequences() {
                if reader.sequence(index).last() != Some(&manifest.tokenizer.eos_id) {
                    return Err(DatasetError::invalid(
                        &prefix,
                        format!("document {index} does not end in EOS"),
                    ));
                }
            }
        }
        documents += shard.documents;
        tokens += shard.tokens;
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
        documents,
        tokens,
    })
}
