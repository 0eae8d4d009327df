//! blend's byte-level BPE encoder gives exactly the tokens of `tokenizers`, on the synthetic
//! corpus with a tokenizer trained on it and, when present, on every shared corpus with the
//! GPT-2, GPT-3 and GPT-NeoX tokenizer files (those it accepts).

use std::path::Path;

use blend_pipeline::engine::config::TokenizerConfig;
use blend_pipeline::engine::tokenizer::{load_tokenizer, train_bpe};
use blend_tests::{read_parquet_dir, shared_data, strings, synthetic_corpus};

fn assert_same_tokens(tokenizer_path: &Path, texts: &[String]) -> usize {
    let loaded = load_tokenizer(tokenizer_path, "<|endoftext|>", None).unwrap();
    let fast = loaded
        .fast
        .as_ref()
        .unwrap_or_else(|| panic!("{} takes the fast path", tokenizer_path.display()));
    let mut compared = 0;
    for text in texts {
        let Some(ours) = fast.encode(text) else {
            continue;
        };
        let reference = loaded.tokenizer.encode_fast(text.as_str(), false).unwrap();
        assert_eq!(
            ours,
            reference.get_ids(),
            "{}: {:?}",
            tokenizer_path.display(),
            &text[..text.len().min(200)]
        );
        compared += 1;
    }
    compared
}

#[test]
fn fast_encoder_matches_tokenizers_on_the_synthetic_corpus() {
    let root = tempfile::tempdir().unwrap();
    let corpus = synthetic_corpus(root.path(), 400, 21);
    let texts: Vec<String> = strings(&read_parquet_dir(&corpus.corpus_dir), "text")
        .into_iter()
        .flatten()
        .collect();
    let path = root.path().join("tokenizer.json");
    train_bpe(
        &texts,
        &TokenizerConfig {
            vocab_size: 3000,
            ..TokenizerConfig::default()
        },
        &path,
    )
    .unwrap();
    let mut tricky: Vec<String> = vec![
        "  leading spaces\n\n\ttabs\r\n and \u{a0}nbsp  ".into(),
        "it's they'll we've I'M don't 'quoted'".into(),
        "números 3.14159 1,000,000 ½ ³ ٣".into(),
        "emoji 👍🏽 and 中文字符 and עברית".into(),
        "trailing whitespace   ".into(),
        String::new(),
    ];
    tricky.extend(texts);
    assert_eq!(assert_same_tokens(&path, &tricky), tricky.len());
}

#[test]
fn fast_encoder_matches_tokenizers_on_shared_corpora() {
    let Some(data) = shared_data() else { return };
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(data.join("corpora")).unwrap() {
        let path = entry.unwrap().path();
        for line in std::fs::read_to_string(&path).unwrap().lines().take(300) {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            texts.push(value["text"].as_str().unwrap().to_string());
        }
    }
    for name in ["gpt_2_tokenizer.json", "gpt_3_tokenizer.json"] {
        let compared = assert_same_tokens(&data.join("tokenizers").join(name), &texts);
        assert!(
            compared > texts.len() * 9 / 10,
            "{name}: compared {compared} of {}",
            texts.len()
        );
    }
    let neox = load_tokenizer(
        &data.join("tokenizers/gpt_neox_tokenizer.json"),
        "<|endoftext|>",
        None,
    )
    .unwrap();
    assert!(
        neox.fast.is_none(),
        "NeoX normalizes with NFC first, so it keeps the tokenizers path"
    );
}
