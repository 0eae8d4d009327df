//! Domain clustering (`embed` → `cluster`) against known sources: the synthetic corpus
//! through the whole pipeline (domains become the mixture's keys), and the shared real
//! corpora by file category (skipped, saying so, when absent).

use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, UInt32Type};
use blend_operators::cluster::domains::{ClusterSummary, PRUNED_DOMAIN};
use blend_operators::{OperatorEnv, build_operator};
use blend_pipeline::engine::config::StageConfig;
use blend_pipeline::{NoProgress, run_pipeline_blocking};

use blend_tests::{
    demo_config, minilm_dir, read_parquet_dir, shared_data, strings, synthetic_corpus,
};

fn print_table(summary: &ClusterSummary) {
    for row in &summary.domains {
        eprintln!(
            "{:>7} {:>6} docs {:>10} bytes  {}",
            row.domain,
            row.docs,
            row.bytes,
            row.terms.join(" ")
        );
    }
}

#[test]
fn synthetic_domains_recover_the_planted_sources() {
    let root = tempfile::tempdir().unwrap();
    let corpus = synthetic_corpus(root.path(), 3000, 7);
    let (mut config, path) = demo_config(root.path(), &corpus.corpus_dir, 42);
    config.stages = vec![
        StageConfig::new("embed", "embed", serde_json::json!({})),
        StageConfig::new(
            "cluster",
            "cluster",
            serde_json::json!({ "fine_clusters": 60, "domains": 5 }),
        ),
    ];
    let outcome = run_pipeline_blocking(&config, &path, &NoProgress).expect("pipeline runs");
    let stage = outcome
        .summary
        .stages
        .iter()
        .find(|s| s.name == "cluster")
        .unwrap();
    let summary = ClusterSummary::from_json(stage.operator_summary.as_ref().unwrap()).unwrap();
    print_table(&summary);
    let agreement = summary.agreement.as_ref().expect("the corpus has `source`");
    eprintln!(
        "fine: {:?}\ndomains: {:?}",
        agreement.fine, agreement.domains
    );
    // Measured: purity 0.971, NMI 0.916, ARI 0.918 (3% of the corpus is planted junk, which
    // belongs to no domain's style).
    assert!(agreement.domains.nmi >= 0.9, "{:?}", agreement.domains);
    assert!(agreement.domains.purity >= 0.95, "{:?}", agreement.domains);
    assert!(agreement.domains.ari >= 0.85, "{:?}", agreement.domains);
    assert!(agreement.fine.purity >= 0.95, "{:?}", agreement.fine);
    assert_eq!((summary.fine_clusters, summary.domains.len()), (60, 5));
    assert_eq!(summary.domains.iter().map(|d| d.docs).sum::<u64>(), 3000);
    assert!(summary.domains.windows(2).all(|w| w[0].docs >= w[1].docs));
    // Labels name the structure words each style shares across the four languages.
    let labels: Vec<String> = summary.domains.iter().map(|d| d.terms.join(" ")).collect();
    for expected in [
        ["def", "return"],
        ["user", "assistant"],
        ["problem", "solution"],
        ["posted", "by"],
    ] {
        assert!(
            labels
                .iter()
                .any(|l| expected.iter().any(|w| l.split(' ').any(|t| t == *w))),
            "no label with {expected:?}: {labels:?}"
        );
    }

    // Every document carries its cluster and domain, and the mixture is over the domains.
    let batches = read_parquet_dir(&stage.dir);
    let domains = strings(&batches, "domain");
    assert_eq!(domains.len(), 3000);
    assert!(
        domains
            .iter()
            .all(|d| d.as_deref().is_some_and(|d| d.starts_with('d')))
    );
    let clusters: Vec<u32> = batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("cluster")
                .unwrap()
                .as_primitive::<UInt32Type>()
                .values()
                .to_vec()
        })
        .collect();
    assert!(clusters.iter().all(|&c| c < 60));
    let mut keys: Vec<&str> = outcome
        .summary
        .mixture
        .domains
        .iter()
        .map(|d| d.domain.as_str())
        .collect();
    keys.sort();
    assert_eq!(keys, ["d00", "d01", "d02", "d03", "d04"]);
    assert!(!domains.iter().any(|d| d.as_deref() == Some(PRUNED_DOMAIN)));
}

/// Runs `embed` then `cluster` over in-memory batches (the operators' observe/apply protocol).
fn embed_and_cluster(
    batches: &[RecordBatch],
    embed: &serde_json::Value,
    cluster: &serde_json::Value,
) -> ClusterSummary {
    let env = OperatorEnv {
        scratch_dir: std::env::temp_dir(),
        memory_budget: 1 << 30,
        expected_rows: batches.iter().map(|b| b.num_rows() as u64).sum(),
        seed: 42,
    };
    let mut embedded = Vec::new();
    let mut embed = build_operator("embed", embed).unwrap();
    embed.prepare(&env).unwrap();
    for pass in 0..embed.observe_passes() {
        batches.iter().for_each(|b| embed.observe(pass, b).unwrap());
        embed.end_pass(pass).unwrap();
    }
    for batch in batches {
        embedded.push(embed.apply(batch.clone()).unwrap());
    }
    let mut op = build_operator("cluster", cluster).unwrap();
    op.prepare(&env).unwrap();
    for pass in 0..op.observe_passes() {
        embedded.iter().for_each(|b| op.observe(pass, b).unwrap());
        op.end_pass(pass).unwrap();
    }
    for batch in embedded {
        op.apply(batch).unwrap();
    }
    ClusterSummary::from_json(&op.summary().unwrap()).unwrap()
}

#[test]
fn shared_corpora_domains_against_file_categories() {
    let Some(data) = shared_data() else { return };
    let mut files: Vec<_> = std::fs::read_dir(data.join("corpora"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let schema = Arc::new(Schema::new(vec![
        Field::new("text", DataType::Utf8, false),
        Field::new("category", DataType::Utf8, false),
    ]));
    let mut batches = Vec::new();
    let mut categories = std::collections::BTreeSet::new();
    for file in &files {
        // The category is the file name's first word: books, chat, code, math, …
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let category = name.split('_').next().unwrap().to_string();
        categories.insert(category.clone());
        let texts: Vec<String> = std::fs::read_to_string(file)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        let labels = vec![category; texts.len()];
        batches.push(
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(texts)),
                    Arc::new(StringArray::from(labels)),
                ],
            )
            .unwrap(),
        );
    }
    let summary = embed_and_cluster(
        &batches,
        &serde_json::json!({}),
        &serde_json::json!({ "fine_clusters": 100, "domains": categories.len(), "reference_column": "category" }),
    );
    print_table(&summary);
    let agreement = summary.agreement.unwrap();
    eprintln!(
        "shared corpora, {} categories: fine {:?}\ndomains {:?}",
        categories.len(),
        agreement.fine,
        agreement.domains
    );
    assert_eq!(agreement.domains.documents, summary.documents);
    // Real text mixes styles within a category (QA holds math, chat holds code); the
    // figures are reported, and only a clearly better-than-chance partition is required.
    assert!(agreement.domains.nmi > 0.3, "{:?}", agreement.domains);
}

#[test]
fn minilm_matches_sentence_transformers() {
    let Some(dir) = minilm_dir() else { return };
    // Written by bench/embed/minilm_reference.py (sentence-transformers 6.2.0, CPU).
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/minilm_reference.json")).unwrap();
    let sentences: Vec<&str> = reference["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let expected: Vec<Vec<f32>> = reference["embeddings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    let schema = Arc::new(Schema::new(vec![Field::new("text", DataType::Utf8, false)]));
    let batch =
        RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(sentences.clone()))]).unwrap();
    // Batches of 2: padding inside a batch must not change any embedding.
    let mut op = build_operator(
        "embed",
        &serde_json::json!({ "method": "minilm", "model_dir": dir, "batch_size": 2 }),
    )
    .unwrap();
    assert_eq!(op.observe_passes(), 0);
    op.prepare(&OperatorEnv {
        scratch_dir: std::env::temp_dir(),
        memory_budget: 1 << 30,
        expected_rows: 5,
        seed: 1,
    })
    .unwrap();
    let out = op.apply(batch).unwrap();
    let column = out
        .column_by_name("embedding")
        .unwrap()
        .as_fixed_size_list();
    assert_eq!(column.value_length(), 384);
    let values = column
        .values()
        .as_primitive::<arrow::datatypes::Float32Type>()
        .values();
    for (row, want) in expected.iter().enumerate() {
        let got = &values[row * 384..(row + 1) * 384];
        let cosine: f32 = got.iter().zip(want).map(|(a, b)| a * b).sum();
        let norm: f32 = got.iter().map(|a| a * a).sum();
        eprintln!("sentence {row}: cosine {cosine:.7}");
        assert!((norm - 1.0).abs() < 1e-4, "unit length, got {norm}");
        assert!(
            cosine >= 0.999,
            "sentence {row} ({:?}…): cosine {cosine}",
            &sentences[row][..20.min(sentences[row].len())]
        );
    }
}

/// A tokenizer.json with a syntax error inside `decoder` made the `tokenizers` crate panic
/// (found by fuzzing); MiniLM's model folder gives an error naming the file instead.
#[test]
fn a_minilm_tokenizer_with_a_broken_decoder_is_an_error_naming_it() {
    let Some(dir) = minilm_dir() else { return };
    let broken = tempfile::tempdir().unwrap();
    for file in ["model.safetensors", "config.json"] {
        std::os::unix::fs::symlink(dir.join(file), broken.path().join(file)).unwrap();
    }
    let text = std::fs::read_to_string(dir.join("tokenizer.json")).unwrap();
    let decoder = text.find("\"decoder\"").expect("a decoder");
    let bad = format!(
        "{}\"decoder\": {{\"type\": ,{}",
        &text[..decoder],
        &text[decoder + 10..]
    );
    std::fs::write(broken.path().join("tokenizer.json"), bad).unwrap();
    let params = serde_json::json!({ "method": "minilm", "model_dir": broken.path() });
    let error = build_operator("embed", &params).and_then(|mut op| {
        op.prepare(&OperatorEnv {
            scratch_dir: std::env::temp_dir(),
            memory_budget: 1 << 30,
            expected_rows: 1,
            seed: 1,
        })
    });
    let message = error.unwrap_err().to_string();
    assert!(
        message.contains("tokenizer.json") && message.contains("not JSON"),
        "{message}"
    );
}
