//! Fuzz targets of the corpus readers: JSON Lines (plain, .gz, .zst), Parquet document files
//! and folders of .txt, seeded from the synthetic corpus and read the way `blend run` reads
//! its inputs (`CorpusReader::open`, then every batch).

use std::io::Write;
use std::path::Path;

use blend_datasets::read::{CorpusReader, InputSpec, ReadOptions};
use blend_datasets::synthetic::{SyntheticConfig, SyntheticCorpus, SyntheticDoc, write_corpus};

use super::target::{Position, Target};

fn documents(count: u64, seed: u64) -> Vec<SyntheticDoc> {
    SyntheticCorpus::new(SyntheticConfig::new(count, seed)).collect()
}

/// Reads every document under `path` (a file or a folder).
pub fn read_corpus(path: &Path) -> Result<(), String> {
    let reader = CorpusReader::open(&[InputSpec::new(path)], ReadOptions::default())
        .map_err(|e| e.to_string())?;
    let mut rows = 0usize;
    reader
        .read(&mut |batch| {
            rows += batch.num_rows();
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// JSON Lines of synthetic documents, with an extra field (kept as metadata) on some lines.
fn jsonl(docs: &[SyntheticDoc]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let mut line = serde_json::json!({"id": doc.id, "text": doc.text, "source": doc.source});
        if i % 3 == 0 {
            line["score"] = serde_json::json!(i as f64 / 7.0);
            line["tags"] = serde_json::json!(["a", i]);
        }
        out.extend_from_slice(line.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

fn jsonl_target(format: &'static str, file: &str, bytes: Vec<u8>) -> Target {
    Target {
        format,
        files: vec![(file.into(), bytes)],
        mutable: vec![file.into()],
        position: Position::FileLine,
        names_folder: false,
        read: |dir, mutated| read_corpus(&dir.join(mutated)),
    }
}

/// The Parquet parts `write_corpus` writes for a small synthetic corpus.
fn corpus_parquet(docs: u64, seed: u64) -> Vec<u8> {
    let root = tempfile::tempdir().expect("temp dir");
    let written = write_corpus(&SyntheticConfig::new(docs, seed), root.path(), &mut |_| {})
        .expect("corpus is written");
    assert_eq!(written.parts.len(), 1, "one part for a small corpus");
    std::fs::read(written.corpus_dir.join(&written.parts[0].name)).expect("part file")
}

pub fn targets() -> Vec<Target> {
    let small = jsonl(&documents(24, 11));
    let other = jsonl(&documents(6, 12));
    let mut plain = jsonl_target("jsonl", "docs.jsonl", small.clone());
    plain.files.push(("other.jsonl".into(), other));
    plain.mutable.push("other.jsonl".into());
    let texts: Vec<(String, Vec<u8>)> = documents(5, 13)
        .into_iter()
        .enumerate()
        .map(|(i, doc)| (format!("texts/doc{i}.txt"), doc.text.into_bytes()))
        .collect();
    vec![
        plain,
        jsonl_target("jsonl.gz", "docs.jsonl.gz", gzip(&small)),
        jsonl_target(
            "jsonl.zst",
            "docs.jsonl.zst",
            zstd::encode_all(&small[..], 3).expect("zstd"),
        ),
        Target {
            format: "parquet",
            files: vec![
                ("part-a.parquet".into(), corpus_parquet(30, 14)),
                ("part-b.parquet".into(), corpus_parquet(8, 15)),
            ],
            mutable: vec!["part-a.parquet".into(), "part-b.parquet".into()],
            position: Position::NumberedWhenMentioned("row"),
            names_folder: false,
            read: |dir, mutated| read_corpus(&dir.join(mutated)),
        },
        Target {
            format: "txt-folder",
            mutable: texts.iter().map(|(name, _)| name.clone()).collect(),
            files: texts,
            position: Position::File,
            names_folder: false,
            read: |dir, _| read_corpus(&dir.join("texts")),
        },
    ]
}
