//! `cargo bench -p blend-operators --bench langid -- corpora=DIR out=PREDICTIONS.jsonl
//! [max_chars=N]`: `quality.language` (whatlang) on the documents of the multilingual files
//! of DIR (`multilingual_tatoeba.jsonl`, `multilingual_udhr.jsonl`; gold language in
//! `lang`). Writes one JSON line per document (file, id, gold, predicted, score) for
//! `bench/langid/compare.py`, and prints docs/s and MB/s on one thread and on all threads.
#![allow(clippy::print_stdout)]

mod shared;

use std::io::Write;
use std::time::Instant;

use blend_operators::OperatorSpec;
use blend_operators::quality::language::Language;
use rayon::prelude::*;

const FILES: &[&str] = &["multilingual_tatoeba.jsonl", "multilingual_udhr.jsonl"];

fn main() {
    let Some(args) = shared::bench_args(
        "langid benchmark: run `cargo bench -p blend-operators --bench langid -- corpora=… out=…`",
    ) else {
        return;
    };
    let corpora = std::path::Path::new(&args["corpora"]);
    let max_chars = args
        .get("max_chars")
        .map_or(4000, |v| v.parse().expect("max_chars"));
    let mut docs: Vec<(String, String, String, String)> = Vec::new(); // file, id, gold, text
    for file in FILES {
        let text = std::fs::read_to_string(corpora.join(file)).expect("multilingual corpus file");
        for line in text.lines() {
            let record: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            docs.push((
                (*file).to_string(),
                record["id"].as_str().expect("id").to_string(),
                record["lang"].as_str().expect("lang").to_string(),
                record["text"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    let detector =
        Language::from_json(&serde_json::json!({ "max_chars": max_chars })).expect("operator");
    // Bytes whatlang looks at (the first `max_chars` characters of each document).
    let bytes: usize = docs
        .iter()
        .map(|d| match max_chars {
            0 => d.3.len(),
            max => {
                d.3.char_indices()
                    .nth(max)
                    .map_or(d.3.len(), |(end, _)| end)
            }
        })
        .sum();

    let started = Instant::now();
    let predicted: Vec<(&str, f64)> = docs.iter().map(|d| detector.detect(&d.3)).collect();
    let one_thread = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let parallel: Vec<(&str, f64)> = docs.par_iter().map(|d| detector.detect(&d.3)).collect();
    let all_threads = started.elapsed().as_secs_f64();
    assert_eq!(predicted, parallel, "detection does not depend on threads");

    let mut out = std::io::BufWriter::new(std::fs::File::create(&args["out"]).expect("out file"));
    for ((file, id, gold, _), (lang, score)) in docs.iter().zip(&predicted) {
        let line = serde_json::json!({"file": file, "id": id, "gold": gold, "predicted": lang, "score": score});
        writeln!(out, "{line}").expect("write");
    }
    out.flush().expect("flush");
    let mb = bytes as f64 / 1e6;
    println!(
        "whatlang (max_chars {max_chars}): {} docs, {mb:.1} MB looked at; 1 thread {:.0} docs/s ({:.1} MB/s); {} threads {:.0} docs/s ({:.1} MB/s)",
        docs.len(),
        docs.len() as f64 / one_thread,
        mb / one_thread,
        rayon::current_num_threads(),
        docs.len() as f64 / all_threads,
        mb / all_threads,
    );
}
