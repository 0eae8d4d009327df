//! `cargo bench -p blend-kernels --bench minhash` (or, without a release build, `cargo test
//! -p blend-kernels --bench minhash --no-run` and the binary with `--bench`): throughput of the MinHash kernels on the
//! shared corpora (`../shared/data/corpora/*.jsonl`, text fields), or on generated text when
//! they are absent: shingling alone, signatures given shingles (k = 112 and 128, and
//! one-permutation hashing), shingles + signature on one thread and on all threads, and with
//! band keys. Prints MB/s of UTF-8 text; each figure is the best of 3 runs.
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::time::Instant;

use blend_kernels::SeededRng;
use blend_kernels::minhash::{
    LshParams, MinHasher, OnePermutationHasher, ShingleConfig, SignatureKind, SignatureScheme,
    band_keys, shingle_hashes, signature::simd_name,
};

fn load_texts() -> (String, Vec<String>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/corpora");
    let mut texts = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for file in files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        {
            for line in std::fs::read_to_string(file).unwrap_or_default().lines() {
                if let Some(text) = json_text(line) {
                    texts.push(text);
                }
            }
        }
    }
    if !texts.is_empty() {
        return (format!("shared corpora ({})", dir.display()), texts);
    }
    let mut rng = SeededRng::new(1);
    let words: Vec<String> = (0..20_000).map(|i| format!("word{i}")).collect();
    let texts = (0..20_000)
        .map(|_| {
            (0..300)
                .map(|_| words[rng.below(20_000) as usize].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    ("generated text (shared corpora absent)".into(), texts)
}

/// The `text` field of one JSONL line, unescaped (a minimal reader: the benchmark has no
/// JSON dependency).
fn json_text(line: &str) -> Option<String> {
    let start = line
        .find("\"text\": \"")
        .map(|i| i + 9)
        .or_else(|| line.find("\"text\":\"").map(|i| i + 8))?;
    let mut out = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?).unwrap_or(' '));
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

fn best_of_3(mut run: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    // `cargo test --all-targets` runs this binary without arguments: measure only when
    // asked (`cargo bench` passes --bench).
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "minhash benchmark: run `cargo bench -p blend-kernels --bench minhash` (or this binary with --bench)"
        );
        return;
    }
    let (label, texts) = load_texts();
    let bytes: usize = texts.iter().map(String::len).sum();
    let mb = bytes as f64 / 1e6;
    println!(
        "input: {label}: {} documents, {mb:.1} MB; signature loop: {}",
        texts.len(),
        simd_name()
    );
    let words5 = ShingleConfig::words(5);
    let report = |name: &str, seconds: f64| println!("{name:<52} {:>8.1} MB/s", mb / seconds);

    let shingles: Vec<Vec<u64>> = texts
        .iter()
        .map(|t| {
            let mut out = Vec::new();
            shingle_hashes(t, &words5, &mut out);
            out
        })
        .collect();
    report(
        "word-5-gram shingling, 1 thread",
        best_of_3(|| {
            let mut out = Vec::new();
            for text in &texts {
                out.clear();
                shingle_hashes(text, &words5, &mut out);
                std::hint::black_box(&out);
            }
        }),
    );
    for k in [112, 128] {
        let hasher = MinHasher::new(k, 1);
        let mut signature = vec![0u64; k];
        report(
            &format!("signatures given shingles, k={k}, 1 thread"),
            best_of_3(|| {
                for set in &shingles {
                    hasher.sign(set, &mut signature);
                    std::hint::black_box(&signature);
                }
            }),
        );
    }
    let oph = OnePermutationHasher::new(128, 1);
    let mut signature = vec![0u64; 128];
    report(
        "one-permutation signatures given shingles, k=128, 1 thread",
        best_of_3(|| {
            for set in &shingles {
                oph.sign(set, &mut signature);
                std::hint::black_box(&signature);
            }
        }),
    );
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let threads = rayon::current_num_threads();
    for kind in [SignatureKind::Permutations, SignatureKind::OnePermutation] {
        let scheme = SignatureScheme::new(words5, kind, 128, 1);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        report(
            &format!("shingles + {kind:?} signature, k=128, 1 thread"),
            best_of_3(|| {
                one.install(|| std::hint::black_box(scheme.sign_batch(&refs)));
            }),
        );
        report(
            &format!("shingles + {kind:?} signature, k=128, {threads} threads"),
            best_of_3(|| {
                std::hint::black_box(scheme.sign_batch(&refs));
            }),
        );
    }
    let scheme = SignatureScheme::new(words5, SignatureKind::Permutations, 112, 1);
    let lsh = LshParams { bands: 14, rows: 8 };
    report(
        &format!("shingles + signature + 14x8 band keys, k=112, {threads} threads"),
        best_of_3(|| {
            let (signatures, _) = scheme.sign_batch(&refs);
            let mut keys = [0u64; 14];
            for signature in signatures.chunks(112) {
                band_keys(signature, &lsh, 7, &mut keys);
                std::hint::black_box(&keys);
            }
        }),
    );
}
