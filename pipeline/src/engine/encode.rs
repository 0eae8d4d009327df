//! Encoding documents into token ids: [`encode_documents`] in parallel with rayon, in
//! document order, EOS appended to each; [`FastEncoder`] reproduces `tokenizers`' byte-level
//! BPE exactly, faster, for the tokenizers it can (GPT-2-style, as blend trains them).

use arrow::array::{Array, RecordBatch, StringArray};
use blend_datasets::{ID_COLUMN, TEXT_COLUMN};
use blend_kernels::byte_level_bpe::ByteLevelBpe;
use blend_operators::operator::string_column;
use rayon::prelude::*;

use super::tokenizer::LoadedTokenizer;
use crate::{PipelineError, Result};

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
                    .map_err(|e| {
                        PipelineError::Tokenizer(format!(
                            "{}: cannot encode a document: {e}",
                            tokenizer.path.display()
                        ))
                    })?
                    .get_ids()
                    .to_vec(),
            };
            ids.push(eos_id);
            Ok(ids)
        })
        .collect()
}
