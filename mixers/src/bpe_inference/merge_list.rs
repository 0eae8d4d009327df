//! A BPE tokenizer's ordered merge list, and its pre-tokenization, read from a
//! `tokenizer.json` (HuggingFace `tokenizers` format).
//!
//! Two families are handled: byte-level BPE (GPT-2, NeoX, Llama-3; a `ByteLevel`
//! pre-tokenizer maps bytes to printable characters) and SentencePiece-style BPE converted
//! to this format (Llama-2, Mistral: a normalizer turns spaces into `▁`, no pre-tokenizer,
//! byte fallback for characters outside the vocabulary). The normalizer and pre-tokenizer
//! are run by the `tokenizers` crate itself, so words are split exactly as the tokenizer does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use blend_kernels::bpe_replay::{Merge, UNKNOWN_SYMBOL};
use tokenizers::{
    Normalizer, OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer, Tokenizer,
};

use super::bpe_json_check::check_bpe_merges;
use crate::{MixerError, Result};

/// The SentencePiece word-boundary character.
const METASPACE: char = '▁';

/// How a tokenizer turns text into words before merging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordSplitting {
    /// The tokenizer's own pre-tokenizer (byte-level and others).
    PreTokenizer,
    /// SentencePiece-style: no pre-tokenizer, words start at a `▁` that follows another
    /// character (a run of `▁` stays with the word after it).
    Metaspace,
}

/// An ordered merge list with the vocabulary its symbols come from.
#[derive(Debug)]
pub struct MergeList {
    pub path: PathBuf,
    pub merges: Vec<Merge>,
    /// The merges as the file spells them (`left right`).
    pub merge_texts: Vec<String>,
    pub splitting: WordSplitting,
    vocab: HashMap<String, u32>,
    tokenizer: Tokenizer,
}

impl MergeList {
    /// Reads `path`; errors name the file and what is missing or unreadable.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| MixerError::TokenizerRead {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// Reads tokenizer.json `text`; `path` names it in errors.
    pub fn from_json(text: &str, path: &Path) -> Result<Self> {
        let json: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| MixerError::tokenizer(path, format!("not JSON: {e}")))?;
        let model = &json["model"];
        if let Some(kind) = model["type"].as_str()
            && kind != "BPE"
        {
            return Err(MixerError::tokenizer(
                path,
                format!("model type is `{kind}`, mixture inference needs a BPE merge list"),
            ));
        }
        let vocab: HashMap<String, u32> = model["vocab"]
            .as_object()
            .ok_or_else(|| {
                MixerError::tokenizer(path, "model.vocab is not an object of token → id")
            })?
            .iter()
            .map(|(token, id)| {
                id.as_u64()
                    .and_then(|id| u32::try_from(id).ok())
                    .filter(|&id| id < UNKNOWN_SYMBOL)
                    .map(|id| (token.clone(), id))
                    .ok_or_else(|| {
                        MixerError::tokenizer(
                            path,
                            format!("vocab id of `{token}` is {id}, not a token id below {UNKNOWN_SYMBOL}"),
                        )
                    })
            })
            .collect::<Result<_>>()?;
        let raw_merges = model["merges"]
            .as_array()
            .ok_or_else(|| MixerError::tokenizer(path, "model.merges is not a list"))?;
        let mut merges = Vec::with_capacity(raw_merges.len());
        let mut merge_texts = Vec::with_capacity(raw_merges.len());
        for (rank, raw) in raw_merges.iter().enumerate() {
            let (left, right) = match raw {
                serde_json::Value::String(text) => text.split_once(' ').ok_or_else(|| {
                    MixerError::tokenizer(
                        path,
                        format!("merge {rank} `{text}` is not `left right`"),
                    )
                })?,
                serde_json::Value::Array(parts) if parts.len() == 2 => {
                    match (parts[0].as_str(), parts[1].as_str()) {
                        (Some(left), Some(right)) => (left, right),
                        _ => {
                            return Err(MixerError::tokenizer(
                                path,
                                format!("merge {rank} is not two strings"),
                            ));
                        }
                    }
                }
                _ => {
                    return Err(MixerError::tokenizer(
                        path,
                        format!("merge {rank} is neither `left right` nor [left, right]"),
                    ));
                }
            };
            let id_of = |token: &str| {
                vocab.get(token).copied().ok_or_else(|| {
                    MixerError::tokenizer(
                        path,
                        format!(
                            "merge {rank} `{left} {right}`: `{token}` is not in the vocabulary"
                        ),
                    )
                })
            };
            merges.push(Merge {
                left: id_of(left)?,
                right: id_of(right)?,
                merged: id_of(&format!("{left}{right}"))?,
            });
            merge_texts.push(format!("{left} {right}"));
        }
        check_bpe_merges(&json).map_err(|message| MixerError::tokenizer(path, message))?;
        let tokenizer = Tokenizer::from_str(text).map_err(|e| {
            MixerError::tokenizer(path, format!("the tokenizers crate rejects it: {e}"))
        })?;
        let splitting = if json["pre_tokenizer"].is_null() && vocab.contains_key("▁") {
            WordSplitting::Metaspace
        } else {
            WordSplitting::PreTokenizer
        };
        Ok(Self {
            path: path.to_path_buf(),
            merges,
            merge_texts,
            splitting,
            vocab,
            tokenizer,
        })
    }

    /// Calls `word` for each pre-token of `text`, normalized and split as the tokenizer does.
    pub fn for_each_word(&self, text: &str, word: &mut dyn FnMut(&str)) -> Result<()> {
        let mut normalized = tokenizers::NormalizedString::from(text);
        if let Some(normalizer) = self.tokenizer.get_normalizer() {
            normalizer.normalize(&mut normalized).map_err(|e| {
                MixerError::tokenizer(&self.path, format!("normalizer failed: {e}"))
            })?;
        }
        let mut pre_tokenized = PreTokenizedString::from(normalized);
        if let Some(pre_tokenizer) = self.tokenizer.get_pre_tokenizer() {
            pre_tokenizer
                .pre_tokenize(&mut pre_tokenized)
                .map_err(|e| {
                    MixerError::tokenizer(&self.path, format!("pre-tokenizer failed: {e}"))
                })?;
        }
        for (piece, _, _) in
            pre_tokenized.get_splits(OffsetReferential::Normalized, OffsetType::Byte)
        {
            match self.splitting {
                WordSplitting::PreTokenizer => word(piece),
                WordSplitting::Metaspace => split_at_metaspace(piece, word),
            }
        }
        Ok(())
    }

    /// The initial symbols of a word: one vocabulary id per character, [`UNKNOWN_SYMBOL`]
    /// for characters outside the vocabulary.
    pub fn symbols(&self, word: &str) -> Vec<u32> {
        let mut buffer = [0u8; 4];
        word.chars()
            .map(|ch| {
                self.vocab
                    .get(&*ch.encode_utf8(&mut buffer))
                    .copied()
                    .unwrap_or(UNKNOWN_SYMBOL)
            })
            .collect()
    }
}

/// Splits SentencePiece-normalized text into words: a new word starts at each `▁` that
/// follows a character other than `▁`.
fn split_at_metaspace(text: &str, word: &mut dyn FnMut(&str)) {
    let mut start = 0;
    let mut previous_was_space = true;
    for (at, ch) in text.char_indices() {
        if ch == METASPACE && !previous_was_space && at > start {
            word(&text[start..at]);
            start = at;
        }
        previous_was_space = ch == METASPACE;
    }
    if start < text.len() {
        word(&text[start..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_of(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        split_at_metaspace(text, &mut |w| out.push(w.to_string()));
        out
    }

    #[test]
    fn metaspace_words_keep_space_runs_with_the_next_word() {
        assert_eq!(words_of("▁the▁cat"), vec!["▁the", "▁cat"]);
        assert_eq!(words_of("▁a▁▁▁b▁"), vec!["▁a", "▁▁▁b", "▁"]);
        assert_eq!(words_of("x"), vec!["x"]);
        assert!(words_of("").is_empty());
    }

    fn write_tokenizer(dir: &Path, json: &serde_json::Value) -> PathBuf {
        let path = dir.join("tokenizer.json");
        std::fs::write(&path, json.to_string()).unwrap();
        path
    }

    fn byte_level_json(merges: &serde_json::Value) -> serde_json::Value {
        let table = blend_kernels::byte_level_bpe::bytes_to_unicode();
        let mut vocab = serde_json::Map::new();
        for (id, ch) in table.iter().enumerate() {
            vocab.insert(ch.to_string(), id.into());
        }
        vocab.insert("Ġt".into(), 256.into());
        vocab.insert("Ġth".into(), 257.into());
        serde_json::json!({
            "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
            "normalizer": null,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
            "post_processor": null, "decoder": null,
            "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                      "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                      "vocab": vocab, "merges": merges}
        })
    }

    #[test]
    fn reads_both_merge_spellings_and_splits_like_the_tokenizer() {
        let dir = tempfile::tempdir().unwrap();
        for merges in [
            serde_json::json!(["Ġ t", "Ġt h"]),
            serde_json::json!([["Ġ", "t"], ["Ġt", "h"]]),
        ] {
            let path = write_tokenizer(dir.path(), &byte_level_json(&merges));
            let list = MergeList::from_file(&path).unwrap();
            assert_eq!(list.splitting, WordSplitting::PreTokenizer);
            assert_eq!(list.merge_texts, vec!["Ġ t", "Ġt h"]);
            let g = list.vocab["Ġ"];
            let t = list.vocab["t"];
            assert_eq!(
                list.merges[0],
                Merge {
                    left: g,
                    right: t,
                    merged: 256
                }
            );
            assert_eq!(list.merges[1].merged, 257);
            let mut words = Vec::new();
            list.for_each_word("the cat's  hat", &mut |w| words.push(w.to_string()))
                .unwrap();
            assert_eq!(words, vec!["the", "Ġcat", "'s", "Ġ", "Ġhat"]);
            assert_eq!(list.symbols("Ġt"), vec![g, t]);
        }
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_tokenizer(dir.path(), &byte_level_json(&serde_json::json!(["Ġ zz"])));
        let error = MergeList::from_file(&path).unwrap_err().to_string();
        assert!(error.contains("tokenizer.json"), "{error}");
        assert!(error.contains("`zz` is not in the vocabulary"), "{error}");
        let missing = MergeList::from_file(&dir.path().join("nope.json"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("nope.json"), "{missing}");
    }

    #[test]
    fn a_vocab_id_at_the_top_of_u32_is_an_error_not_an_overflow() {
        let dir = tempfile::tempdir().unwrap();
        for id in [u64::from(u32::MAX), u64::from(u32::MAX) + 7] {
            let mut json = byte_level_json(&serde_json::json!(["Ġ t", "Ġt h"]));
            json["model"]["vocab"]["Ġth"] = id.into();
            let path = write_tokenizer(dir.path(), &json);
            let error = MergeList::from_file(&path).unwrap_err().to_string();
            assert!(
                error.contains("tokenizer.json") && error.contains(&format!("is {id}")),
                "{error}"
            );
        }
    }

    /// The `tokenizers` crate panics on a merge whose result is longer than every vocabulary
    /// token; the merge is named instead.
    #[test]
    fn a_merge_whose_result_is_not_in_the_vocabulary_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_tokenizer(
            dir.path(),
            &byte_level_json(&serde_json::json!(["Ġ t", "Ġt h", "Ġth Ġth"])),
        );
        let error = MergeList::from_file(&path).unwrap_err().to_string();
        assert!(
            error.contains("tokenizer.json")
                && error.contains("merge 2 `Ġth Ġth`: `ĠthĠth` is not in the vocabulary"),
            "{error}"
        );
    }
}
