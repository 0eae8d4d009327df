//! Extra seeds from `../shared/data` when it is present (read, trimmed, and kept in memory:
//! nothing is copied into the repository): the first lines of two real JSONL corpora, the
//! first runs of RegMix's two experiment tables, and real tokenizer.json files cut down to
//! their first few hundred tokens (same normalizer, pre-tokenizer and decoder).

use std::path::Path;

use blend_mixers::ExperimentTable;
use serde_json::Value;

use super::target::{Position, Target};

/// The lines of `path` that fit in `max_bytes`.
fn first_lines(path: &Path, max_bytes: usize) -> Vec<u8> {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    for line in text.split_inclusive(|&b| b == b'\n') {
        if out.len() + line.len() > max_bytes && !out.is_empty() {
            break;
        }
        out.extend_from_slice(line);
    }
    out
}

pub fn jsonl_seeds(shared: &Path) -> Vec<(String, Vec<u8>)> {
    ["web_dolma_cc.jsonl", "code_c_cuda_llmc.jsonl"]
        .iter()
        .map(|name| {
            (
                format!("shared_{name}"),
                first_lines(&shared.join("corpora").join(name), 24 << 10),
            )
        })
        .collect()
}

/// The vocabulary entries with an id below `keep_ids` (plus the added tokens), and the
/// merges among them.
fn trimmed_tokenizer(path: &Path, keep_ids: u64) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut json: Value = serde_json::from_str(&text).expect("tokenizer JSON");
    let added: Vec<String> = json["added_tokens"]
        .as_array()
        .map(|tokens| {
            tokens
                .iter()
                .filter_map(|t| t["content"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let model = &mut json["model"];
    let vocab: serde_json::Map<String, Value> = model["vocab"]
        .as_object()
        .expect("vocab")
        .iter()
        .filter(|(token, id)| id.as_u64().is_some_and(|id| id < keep_ids) || added.contains(token))
        .map(|(token, id)| (token.clone(), id.clone()))
        .collect();
    let merges: Vec<Value> = model["merges"]
        .as_array()
        .expect("merges")
        .iter()
        .filter(|merge| {
            let pair = match merge {
                Value::String(text) => text
                    .split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string())),
                Value::Array(parts) => Some((
                    parts[0].as_str().unwrap_or("").to_string(),
                    parts[1].as_str().unwrap_or("").to_string(),
                )),
                _ => None,
            };
            pair.is_some_and(|(a, b)| {
                vocab.contains_key(&a)
                    && vocab.contains_key(&b)
                    && vocab.contains_key(&format!("{a}{b}"))
            })
        })
        .cloned()
        .collect();
    model["vocab"] = Value::Object(vocab);
    model["merges"] = Value::Array(merges);
    json.to_string().into_bytes()
}

pub fn tokenizer_seeds(shared: &Path) -> Vec<(String, Vec<u8>)> {
    ["gpt_2", "gpt_neox", "llama", "mistral"]
        .iter()
        .map(|name| {
            let path = shared
                .join("tokenizers")
                .join(format!("{name}_tokenizer.json"));
            (
                format!("shared_{name}.tokenizer.json"),
                trimmed_tokenizer(&path, 700),
            )
        })
        .collect()
}

/// The end-of-text token of a tokenizer.json: GPT-style `<|endoftext|>` when the text has
/// it, else SentencePiece-style `</s>` (Llama, Mistral).
pub fn eos_of(tokenizer_json: &[u8]) -> &'static str {
    let gpt = b"\"<|endoftext|>\"";
    if tokenizer_json.windows(gpt.len()).any(|w| w == gpt) {
        "<|endoftext|>"
    } else {
        "</s>"
    }
}

/// The header and first `rows` rows of a CSV file.
fn first_rows(path: &Path, rows: usize) -> Vec<u8> {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.split_inclusive(|&b| b == b'\n')
        .take(rows + 1)
        .flatten()
        .copied()
        .collect()
}

/// RegMix's mixtures and losses (their first 30 runs), read joined on `index`.
pub fn regmix_target(shared: &Path) -> Target {
    let regmix = shared.join("regmix");
    let files = vec![
        (
            "mixtures.csv".to_string(),
            first_rows(&regmix.join("train_mixture_1m.csv"), 30),
        ),
        (
            "losses.csv".to_string(),
            first_rows(&regmix.join("train_pile_loss_1m.csv"), 30),
        ),
    ];
    Target {
        format: "experiment-joined",
        mutable: files.iter().map(|(name, _)| name.clone()).collect(),
        files,
        position: Position::NumberedWhenMentioned("row"),
        names_folder: false,
        read: |dir, _| {
            ExperimentTable::read_joined(
                &dir.join("mixtures.csv"),
                &dir.join("losses.csv"),
                "index",
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
        },
    }
}
