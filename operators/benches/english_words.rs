//! `cargo bench -p blend-operators --bench english_words -- spacy=WORDS.jsonl corpora=DIR`:
//! blend's English word splitter against spaCy's, document by document. WORDS.jsonl is what
//! `bench/quality/spacy_words.py` wrote (file, id, words) for documents of the JSONL files in
//! DIR; prints the share of documents split identically, the token-count error, docs/s and
//! MB/s of blend's splitter, and the most frequent differences.
#![allow(clippy::print_stdout)]

mod shared;

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use blend_kernels::english_words;

fn main() {
    let Some(args) = shared::bench_args(
        "english_words benchmark: run `cargo bench -p blend-operators --bench english_words -- spacy=… corpora=…`",
    ) else {
        return;
    };
    let spacy = std::fs::read_to_string(&args["spacy"]).expect("spaCy words file");
    let texts = shared::jsonl_texts(std::path::Path::new(&args["corpora"]));
    let mut docs = 0usize;
    let mut same = 0usize;
    let mut tokens_spacy = 0usize;
    let mut tokens_blend = 0usize;
    let mut per_file: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut differences: HashMap<(String, String), usize> = HashMap::new();
    let mut bytes = 0usize;
    let mut seconds = 0f64;
    for line in spacy.lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let file = record["file"].as_str().expect("file").to_string();
        let id = record["id"].as_str().expect("id").to_string();
        let Some(text) = texts.get(&(file.clone(), id)) else {
            continue;
        };
        let expected: Vec<&str> = record["words"]
            .as_array()
            .expect("words")
            .iter()
            .map(|w| w.as_str().expect("word"))
            .collect();
        let started = Instant::now();
        let got = english_words(text);
        seconds += started.elapsed().as_secs_f64();
        bytes += text.len();
        docs += 1;
        tokens_spacy += expected.len();
        tokens_blend += got.len();
        let entry = per_file.entry(file).or_default();
        entry.0 += 1;
        if got == expected {
            same += 1;
            entry.1 += 1;
            continue;
        }
        // The first difference, with the chunks around it.
        let at = got
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(expected.len()));
        let window =
            |words: &[&str]| words[at.saturating_sub(1)..(at + 3).min(words.len())].join(" ");
        *differences
            .entry((window(&got), window(&expected)))
            .or_default() += 1;
    }
    println!(
        "{}",
        serde_json::json!({
            "docs": docs, "identical": same, "identical_share": same as f64 / docs.max(1) as f64,
            "tokens_spacy": tokens_spacy, "tokens_blend": tokens_blend,
            "docs_per_second": docs as f64 / seconds, "mb_per_second": bytes as f64 / 1e6 / seconds,
        })
    );
    for (file, (n, ok)) in &per_file {
        println!("{file}: {ok}/{n} identical");
    }
    let mut common: Vec<_> = differences.into_iter().collect();
    common.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for ((got, expected), n) in common.iter().take(40) {
        println!("{n:>4}  blend: {got:?}\n      spaCy: {expected:?}");
    }
}
