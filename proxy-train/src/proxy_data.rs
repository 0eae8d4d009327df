//! The token streams proxies train and are scored on: per domain, a `train` and a `valid`
//! Megatron `.bin`/`.idx` pair (one sequence per document, EOS appended), plus
//! `manifest.json` naming each domain's files, documents and tokens. Written under a
//! temporary name and renamed, so a half-written folder is never read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use blend_datasets::files::write_atomic;
use blend_datasets::shards::{MegatronReader, MegatronWriter, TokenDtype, TokenizerInfo};
use serde::{Deserialize, Serialize};

use crate::sequence_sampler::DomainTokens;
use crate::{ProxyError, Result};

pub const PROXY_DATA_MANIFEST: &str = "manifest.json";
pub const PROXY_DATA_VERSION: u32 = 1;
pub const SPLITS: [&str; 2] = ["train", "valid"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainFiles {
    pub domain: String,
    /// File prefix inside the folder (`<prefix>.train.bin`, …).
    pub prefix: String,
    pub train_documents: u64,
    pub train_tokens: u64,
    pub valid_documents: u64,
    pub valid_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyDataManifest {
    pub version: u32,
    pub tokenizer: TokenizerInfo,
    /// Hash of what produced the folder (inputs, tokenizer, split); equal keys mean reusable.
    pub key: String,
    /// Sorted by domain name.
    pub domains: Vec<DomainFiles>,
}

impl ProxyDataManifest {
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(PROXY_DATA_MANIFEST);
        let bytes = std::fs::read(&path).map_err(|e| ProxyError::Data {
            path: path.clone(),
            message: e.to_string(),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| ProxyError::Data {
            path,
            message: format!("not a proxy data manifest: {e}"),
        })
    }
}

/// All domains' token streams, in memory, domain order as in the manifest.
#[derive(Debug, Clone)]
pub struct ProxyData {
    pub domains: Vec<String>,
    pub vocab_size: usize,
    pub train: Vec<DomainTokens>,
    pub valid: Vec<DomainTokens>,
}

impl ProxyData {
    pub fn read(dir: &Path) -> Result<Self> {
        let manifest = ProxyDataManifest::read(dir)?;
        let stream = |files: &DomainFiles, split: &str| -> Result<DomainTokens> {
            let reader = MegatronReader::open(&dir.join(format!("{}.{split}", files.prefix)))?;
            let mut tokens = Vec::with_capacity(reader.total_tokens() as usize);
            for index in 0..reader.sequences() {
                tokens.extend(reader.sequence(index));
            }
            Ok(DomainTokens {
                domain: files.domain.clone(),
                tokens,
            })
        };
        let mut train = Vec::new();
        let mut valid = Vec::new();
        let vocab_size = manifest.tokenizer.vocab_size as usize;
        for files in &manifest.domains {
            for (split, streams) in [("train", &mut train), ("valid", &mut valid)] {
                let tokens = stream(files, split)?;
                if let Some(&bad) = tokens.tokens.iter().find(|&&t| t as usize >= vocab_size) {
                    return Err(ProxyError::Data {
                        path: dir.join(format!("{}.{split}.bin", files.prefix)),
                        message: format!(
                            "token {bad} of domain `{}` is outside the tokenizer's vocabulary of {vocab_size}",
                            files.domain
                        ),
                    });
                }
                streams.push(tokens);
            }
        }
        Ok(Self {
            domains: manifest.domains.iter().map(|d| d.domain.clone()).collect(),
            vocab_size,
            train,
            valid,
        })
    }

    pub fn train_tokens(&self) -> Vec<u64> {
        self.train.iter().map(|d| d.tokens.len() as u64).collect()
    }
}

#[derive(Debug)]
struct DomainWriters {
    prefix: String,
    writers: [MegatronWriter; 2],
}

/// Streams documents into a proxy data folder.
#[derive(Debug)]
pub struct ProxyDataWriter {
    dir: PathBuf,
    tmp: PathBuf,
    dtype: TokenDtype,
    tokenizer: TokenizerInfo,
    key: String,
    domains: BTreeMap<String, DomainWriters>,
}

impl ProxyDataWriter {
    pub fn create(dir: &Path, tokenizer: TokenizerInfo, key: String) -> Result<Self> {
        let tmp = dir.with_extension("partial");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| blend_datasets::DatasetError::io(&tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| blend_datasets::DatasetError::io(&tmp, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            tmp,
            dtype: TokenDtype::for_vocab_size(tokenizer.vocab_size as usize),
            tokenizer,
            key,
            domains: BTreeMap::new(),
        })
    }

    /// Appends one document's tokens to `domain`'s `train` or `valid` stream.
    pub fn add(&mut self, domain: &str, valid: bool, tokens: &[u32]) -> Result<()> {
        if !self.domains.contains_key(domain) {
            let prefix = format!("domain_{:04}", self.domains.len());
            let open = |split: &str| {
                MegatronWriter::create(&self.tmp.join(format!("{prefix}.{split}")), self.dtype)
            };
            let writers = [open(SPLITS[0])?, open(SPLITS[1])?];
            self.domains
                .insert(domain.to_string(), DomainWriters { prefix, writers });
        }
        let entry = self.domains.get_mut(domain).expect("inserted above");
        entry.writers[usize::from(valid)].add_document(tokens)?;
        Ok(())
    }

    /// Finishes every file, writes the manifest and moves the folder into place.
    pub fn finish(self) -> Result<ProxyDataManifest> {
        let mut domains = Vec::new();
        for (domain, entry) in self.domains {
            let [train, valid] = entry.writers;
            let (train, valid) = (train.finish()?, valid.finish()?);
            domains.push(DomainFiles {
                domain,
                prefix: entry.prefix,
                train_documents: train.documents,
                train_tokens: train.tokens,
                valid_documents: valid.documents,
                valid_tokens: valid.tokens,
            });
        }
        let manifest = ProxyDataManifest {
            version: PROXY_DATA_VERSION,
            tokenizer: self.tokenizer,
            key: self.key,
            domains,
        };
        let json = serde_json::to_string_pretty(&manifest).expect("manifest serializes");
        write_atomic(&self.tmp.join(PROXY_DATA_MANIFEST), json.as_bytes())?;
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir)
                .map_err(|e| blend_datasets::DatasetError::io(&self.dir, e))?;
        }
        std::fs::rename(&self.tmp, &self.dir)
            .map_err(|e| blend_datasets::DatasetError::io(&self.dir, e))?;
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_domains_and_splits() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("proxy-data");
        let tokenizer = TokenizerInfo {
            name: "t".into(),
            sha256: "00".into(),
            vocab_size: 100,
            eos_token: "<eos>".into(),
            eos_id: 0,
        };
        let mut writer = ProxyDataWriter::create(&dir, tokenizer, "k".into()).unwrap();
        writer.add("web", false, &[1, 2, 3, 0]).unwrap();
        writer.add("code", false, &[7, 8, 0]).unwrap();
        writer.add("web", true, &[4, 5, 0]).unwrap();
        writer.add("web", false, &[6, 0]).unwrap();
        writer.add("code", true, &[9, 0]).unwrap();
        let manifest = writer.finish().unwrap();
        assert_eq!(manifest.domains[0].domain, "code", "sorted by name");
        assert_eq!(manifest.domains[1].train_documents, 2);
        assert_eq!(manifest.domains[1].train_tokens, 6);
        let data = ProxyData::read(&dir).unwrap();
        assert_eq!(data.domains, vec!["code", "web"]);
        assert_eq!(data.train[1].tokens, vec![1, 2, 3, 0, 6, 0]);
        assert_eq!(data.valid[1].tokens, vec![4, 5, 0]);
        assert_eq!(data.valid[0].tokens, vec![9, 0]);
        assert!(!root.path().join("proxy-data.partial").exists());
        assert_eq!(ProxyDataManifest::read(&dir).unwrap().key, "k");
    }
}
