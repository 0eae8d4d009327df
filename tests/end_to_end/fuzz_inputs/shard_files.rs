//! Fuzz targets of the token-file readers: each shard format (`read_shard`: Megatron
//! `.bin`/`.idx`, nanoGPT, llm.c, Parquet tokens), a whole shard folder under `blend shards
//! verify`, and a proxy-training data folder. Seeds are written by the project's writers
//! from the synthetic corpus's documents (tokens: the text's bytes + 1, EOS 0).

use std::collections::BTreeMap;
use std::path::Path;

use blend_datasets::shards::{
    MANIFEST_FILE, MANIFEST_VERSION, MegatronWriter, ShardEntry, ShardFormat, ShardManifest,
    ShardSetWriter, SplitSummary, TokenDtype, TokenizerInfo, read_shard, verify_shards,
};
use blend_datasets::synthetic::{SyntheticConfig, SyntheticCorpus};
use blend_proxy_train::{ProxyData, ProxyDataWriter};

use super::target::{Position, Target};

const EOS: u32 = 0;
const FORMATS: [ShardFormat; 4] = [
    ShardFormat::Megatron,
    ShardFormat::Nanogpt,
    ShardFormat::Llmc,
    ShardFormat::Parquet,
];

/// (id, domain, tokens with EOS) of a few short synthetic documents.
fn token_documents(count: u64, seed: u64) -> Vec<(String, String, Vec<u32>)> {
    SyntheticCorpus::new(SyntheticConfig::new(count, seed))
        .map(|doc| {
            let mut tokens: Vec<u32> = doc
                .text
                .bytes()
                .take(48)
                .map(|b| u32::from(b) + 1)
                .collect();
            tokens.push(EOS);
            (doc.id, doc.source, tokens)
        })
        .collect()
}

fn tokenizer_info() -> TokenizerInfo {
    TokenizerInfo {
        name: "bytes".into(),
        sha256: "00".repeat(32),
        vocab_size: 257,
        eos_token: "<eos>".into(),
        eos_id: EOS,
    }
}

/// Every file of `dir` (recursively), by path relative to it.
fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("folder") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        files.push((name, std::fs::read(&path).expect("file")));
    }
    files.sort();
    files
}

/// One shard of `documents` in every format, with its manifest entry.
fn write_shard(dir: &Path, name: &str, documents: &[(String, String, Vec<u32>)]) -> ShardEntry {
    let mut writer =
        ShardSetWriter::create(dir, name, &FORMATS, TokenDtype::Uint16, true).expect("shard");
    let mut documents_per_domain = BTreeMap::new();
    let mut tokens_per_domain = BTreeMap::new();
    for (id, domain, tokens) in documents {
        writer.add_sequence(tokens, id, domain).expect("sequence");
        *documents_per_domain.entry(domain.clone()).or_insert(0) += 1;
        *tokens_per_domain.entry(domain.clone()).or_insert(0) += tokens.len() as u64;
    }
    let (sequences, tokens) = (writer.sequences(), writer.tokens());
    ShardEntry {
        name: name.into(),
        split: "train".into(),
        sequences,
        documents: sequences,
        tokens,
        documents_per_domain,
        tokens_per_domain,
        files: writer.finish().expect("shard files"),
    }
}

/// A shard folder of two shards in every format with its manifest.
fn shard_folder(dir: &Path) {
    let documents = token_documents(9, 21);
    let shards = vec![
        write_shard(dir, "shard_00000", &documents[..6]),
        write_shard(dir, "shard_00001", &documents[6..]),
    ];
    let mut split = SplitSummary::default();
    for shard in &shards {
        split.documents += shard.documents;
        split.tokens += shard.tokens;
        for (domain, tokens) in &shard.tokens_per_domain {
            *split.tokens_per_domain.entry(domain.clone()).or_insert(0) += tokens;
        }
    }
    let manifest = ShardManifest {
        manifest_version: MANIFEST_VERSION,
        created_by: "blend fuzz seed".into(),
        formats: FORMATS.to_vec(),
        dtype: TokenDtype::Uint16,
        sequence_length: None,
        tokenizer: tokenizer_info(),
        mixture_sha256: "11".repeat(32),
        seed: 7,
        run_key: "fuzz".into(),
        eos_appended: true,
        total_documents: split.documents,
        total_tokens: split.tokens,
        splits: BTreeMap::from([("train".to_string(), split)]),
        shards,
    };
    std::fs::write(dir.join(MANIFEST_FILE), manifest.to_json()).expect("manifest");
}

/// Reads one shard file: the shard's name is the file name up to its first `.`.
fn read_one_shard(dir: &Path, mutated: &str, format: ShardFormat) -> Result<(), String> {
    let name = mutated.split('.').next().unwrap_or(mutated);
    let sequences = read_shard(dir, name, format).map_err(|e| e.to_string())?;
    let _tokens: usize = sequences.iter().map(Vec::len).sum();
    Ok(())
}

fn shard_target(
    format: &'static str,
    files: &[(String, Vec<u8>)],
    keep: fn(&str) -> bool,
    read: fn(&Path, &str) -> Result<(), String>,
) -> Target {
    let files: Vec<(String, Vec<u8>)> = files.iter().filter(|(n, _)| keep(n)).cloned().collect();
    Target {
        format,
        mutable: files.iter().map(|(name, _)| name.clone()).collect(),
        files,
        position: Position::File,
        names_folder: false,
        read,
    }
}

fn proxy_data_files() -> Vec<(String, Vec<u8>)> {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("proxy-data");
    let mut writer =
        ProxyDataWriter::create(&dir, tokenizer_info(), "fuzz".into()).expect("writer");
    for (i, (_, domain, tokens)) in token_documents(10, 22).iter().enumerate() {
        writer.add(domain, i % 4 == 3, tokens).expect("document");
    }
    writer.finish().expect("proxy data");
    files_of(&dir)
}

pub fn targets() -> Vec<Target> {
    let root = tempfile::tempdir().expect("temp dir");
    shard_folder(root.path());
    let wide = root.path().join("wide");
    let mut writer = MegatronWriter::create(&wide, TokenDtype::Int32).expect("writer");
    for (_, _, tokens) in token_documents(3, 23) {
        writer.add_document(&tokens).expect("document");
    }
    writer.finish().expect("wide shard");
    let files = files_of(root.path());
    let shard_folder_files: Vec<(String, Vec<u8>)> = files
        .iter()
        .filter(|(name, _)| !name.starts_with("wide"))
        .cloned()
        .collect();
    let proxy_files = proxy_data_files();
    vec![
        shard_target(
            "megatron",
            &files,
            |n| n.ends_with(".idx") || (n.ends_with(".bin") && n.matches('.').count() == 1),
            |dir, mutated| read_one_shard(dir, mutated, ShardFormat::Megatron),
        ),
        shard_target(
            "nanogpt",
            &files,
            |n| n.ends_with(".nanogpt.bin"),
            |dir, mutated| read_one_shard(dir, mutated, ShardFormat::Nanogpt),
        ),
        shard_target(
            "llmc",
            &files,
            |n| n.ends_with(".llmc.bin"),
            |dir, mutated| read_one_shard(dir, mutated, ShardFormat::Llmc),
        ),
        shard_target(
            "parquet-tokens",
            &files,
            |n| n.ends_with(".parquet"),
            |dir, mutated| read_one_shard(dir, mutated, ShardFormat::Parquet),
        ),
        Target {
            format: "shards-verify",
            mutable: shard_folder_files.iter().map(|(n, _)| n.clone()).collect(),
            files: shard_folder_files,
            position: Position::File,
            names_folder: true,
            read: |dir, _| verify_shards(dir).map(|_| ()).map_err(|e| e.to_string()),
        },
        Target {
            format: "proxy-data",
            mutable: proxy_files.iter().map(|(n, _)| n.clone()).collect(),
            files: proxy_files,
            position: Position::File,
            names_folder: true,
            read: |dir, _| ProxyData::read(dir).map(|_| ()).map_err(|e| e.to_string()),
        },
    ]
}
