//! `blend dedup` end to end: accuracy on the synthetic corpus's planted near duplicates,
//! byte-identical output under any memory budget and on re-runs, and precision/recall on
//! the shared real near-duplicate sets (skipped, saying so, when absent).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use blend_datasets::read::InputSpec;
use blend_datasets::synthetic::{CORPUS_DIR, ClusteredDoc};
use blend_pipeline::NoProgress;
use blend_pipeline::workflows::dedup::{FuzzyDedupOutcome, FuzzyDedupRequest, run_fuzzy_dedup};
use blend_pipeline::workflows::dedup_accuracy::read_clustered_docs;

use blend_tests::{read_parquet_dir, shared_data, synthetic_corpus};

fn dedup(
    inputs: Vec<PathBuf>,
    out: &Path,
    params: serde_json::Value,
    memory: &str,
) -> FuzzyDedupOutcome {
    let request = FuzzyDedupRequest {
        inputs: inputs.into_iter().map(InputSpec::new).collect(),
        out_dir: out.to_path_buf(),
        params,
        seed: 42,
        memory: memory.into(),
        truth: None,
    };
    run_fuzzy_dedup(&request, &NoProgress).expect("dedup runs")
}

fn file_bytes(files: &[PathBuf]) -> Vec<Vec<u8>> {
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn planted_near_duplicates_are_found_with_high_precision() {
    let root = tempfile::tempdir().unwrap();
    synthetic_corpus(root.path(), 6000, 7);
    let corpus = root.path().join(CORPUS_DIR);
    let params = serde_json::json!({ "ngram": 3, "threshold": 0.3 });
    let outcome = dedup(
        vec![corpus.clone()],
        &root.path().join("out"),
        params.clone(),
        "4GiB",
    );
    let accuracy = outcome
        .accuracy
        .clone()
        .expect("the synthetic corpus has ground truth");
    eprintln!("{}", serde_json::to_string_pretty(&accuracy).unwrap());
    assert!(
        accuracy.precision >= 0.99,
        "precision {}",
        accuracy.precision
    );
    for rate in &accuracy.by_edit_rate {
        if rate.edit_rate <= 0.15 {
            assert!(rate.f1 >= 0.95, "F1 at {} edits: {}", rate.copies, rate.f1);
        }
    }
    assert_eq!(accuracy.by_edit_rate[0].copies, "exact");
    assert_eq!(accuracy.by_edit_rate[0].recall, 1.0);
    assert_eq!(accuracy.by_edit_rate.len(), 4, "exact, 5%, 15%, 30%");

    // Output: every input column plus the three new ones, one row per input document.
    let batches = read_parquet_dir(&root.path().join("out"));
    let schema = batches[0].schema();
    for column in [
        "id",
        "text",
        "source",
        "dup_cluster",
        "dup_cluster_size",
        "is_dup",
    ] {
        assert!(
            schema.column_with_name(column).is_some(),
            "missing {column}"
        );
    }
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 6000);
    let docs = read_clustered_docs(&outcome.output_files).unwrap();
    assert_eq!(
        docs.iter().filter(|d| d.is_dup).count() as u64,
        outcome.duplicates
    );

    // A 64 KiB budget spills the band table to many partitions; the output is the same.
    let spilled = dedup(
        vec![corpus.clone()],
        &root.path().join("spilled"),
        params.clone(),
        "64KiB",
    );
    assert!(spilled.minhash.partitions > 1 && spilled.minhash.spilled_bytes > 0);
    assert_eq!(
        file_bytes(&outcome.output_files),
        file_bytes(&spilled.output_files)
    );

    // A second run reuses the stage and writes the same bytes.
    let again = dedup(vec![corpus], &root.path().join("out"), params, "4GiB");
    assert!(again.cached);
    assert_eq!(
        file_bytes(&outcome.output_files),
        file_bytes(&again.output_files)
    );
}

/// Writes `docs` (id, text) as JSONL.
fn write_jsonl(path: &Path, docs: &[(String, String)]) {
    let mut file = std::fs::File::create(path).unwrap();
    for (id, text) in docs {
        writeln!(file, "{}", serde_json::json!({ "id": id, "text": text })).unwrap();
    }
}

fn clusters_by_id(docs: &[ClusteredDoc]) -> HashMap<&str, &str> {
    docs.iter()
        .map(|d| (d.id.as_str(), d.cluster.as_str()))
        .collect()
}

#[test]
fn wikitext_2_and_103_twins_are_clustered() {
    let Some(data) = shared_data() else { return };
    let root = tempfile::tempdir().unwrap();
    let corpora = data.join("corpora");
    let inputs = vec![
        corpora.join("wiki_wt2.jsonl"),
        corpora.join("wiki_wt103.jsonl"),
    ];
    for (label, params, min_recall) in [
        ("word 5-grams at 0.7 (defaults)", serde_json::json!({}), 0.0),
        (
            "word 3-grams at 0.3",
            serde_json::json!({ "ngram": 3, "threshold": 0.3 }),
            0.95,
        ),
    ] {
        let out = root.path().join(label.replace(' ', "_"));
        let outcome = dedup(inputs.clone(), &out, params, "4GiB");
        let docs = read_clustered_docs(&outcome.output_files).unwrap();
        let cluster = clusters_by_id(&docs);
        let twins: Vec<&str> = docs
            .iter()
            .filter_map(|d| d.id.strip_prefix("wt2-"))
            .collect();
        let found = twins
            .iter()
            .filter(|suffix| {
                cluster[format!("wt2-{suffix}").as_str()]
                    == cluster[format!("wt103-{suffix}").as_str()]
            })
            .count();
        // Precision: a cluster never mixes articles.
        let mut suffix_of_cluster: HashMap<&str, &str> = HashMap::new();
        let mut wrong = 0;
        for doc in &docs {
            let suffix = doc.id.split_once('-').map_or(doc.id.as_str(), |(_, s)| s);
            if *suffix_of_cluster
                .entry(doc.cluster.as_str())
                .or_insert(suffix)
                != suffix
            {
                wrong += 1;
            }
        }
        let recall = found as f64 / twins.len() as f64;
        eprintln!(
            "wikitext {label}: {found} of {} twin pairs clustered (recall {recall:.3}), {wrong} documents in a cluster of another article",
            twins.len()
        );
        assert_eq!(twins.len(), 122);
        assert_eq!(wrong, 0);
        assert!(recall >= min_recall, "{label}: recall {recall}");
    }
}

#[test]
fn plagiarism_and_paraphrase_sets() {
    let Some(data) = shared_data() else { return };
    let root = tempfile::tempdir().unwrap();
    let params = serde_json::json!({ "ngram": 3, "threshold": 0.3 });

    // Clough & Stevenson: share of answers clustered with their source, per category.
    let path = data.join("neardup/plagiarism_clough_stevenson.jsonl");
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let outcome = dedup(
        vec![path],
        &root.path().join("plagiarism"),
        params.clone(),
        "4GiB",
    );
    let docs = read_clustered_docs(&outcome.output_files).unwrap();
    let cluster = clusters_by_id(&docs);
    let mut share: HashMap<String, (usize, usize)> = HashMap::new();
    for record in &records {
        let category = record["category"].as_str().unwrap().to_string();
        if category == "orig" {
            continue;
        }
        let entry = share.entry(category).or_default();
        entry.0 += 1;
        if cluster[record["id"].as_str().unwrap()] == cluster[record["orig_id"].as_str().unwrap()] {
            entry.1 += 1;
        }
    }
    let rate = |c: &str| share[c].1 as f64 / share[c].0 as f64;
    eprintln!(
        "plagiarism (3-grams, 0.3) clustered with source: cut {:.2}, light {:.2}, heavy {:.2}, non {:.2}",
        rate("cut"),
        rate("light"),
        rate("heavy"),
        rate("non")
    );
    assert_eq!(
        rate("non"),
        0.0,
        "independent answers are never clustered with the source"
    );
    assert!(rate("cut") > rate("heavy"), "more copying, more clustering");

    // MRPC: a pair is predicted a paraphrase when both sentences share a cluster.
    let pairs: Vec<serde_json::Value> =
        std::fs::read_to_string(data.join("neardup/mrpc_pairs.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let mut docs_in = Vec::new();
    for pair in &pairs {
        let id = pair["id"].as_str().unwrap();
        docs_in.push((
            format!("{id}-a"),
            pair["text_a"].as_str().unwrap().to_string(),
        ));
        docs_in.push((
            format!("{id}-b"),
            pair["text_b"].as_str().unwrap().to_string(),
        ));
    }
    let input = root.path().join("mrpc.jsonl");
    write_jsonl(&input, &docs_in);
    let outcome = dedup(vec![input], &root.path().join("mrpc"), params, "4GiB");
    let docs = read_clustered_docs(&outcome.output_files).unwrap();
    let cluster = clusters_by_id(&docs);
    let (mut tp, mut fp, mut positives) = (0, 0, 0);
    for pair in &pairs {
        let id = pair["id"].as_str().unwrap();
        let label = pair["label"].as_i64().unwrap() == 1;
        positives += usize::from(label);
        if cluster[format!("{id}-a").as_str()] == cluster[format!("{id}-b").as_str()] {
            if label {
                tp += 1;
            } else {
                fp += 1;
            }
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / positives as f64;
    let base_rate = positives as f64 / pairs.len() as f64;
    eprintln!(
        "MRPC (3-grams, 0.3): {} pairs clustered, precision {precision:.3}, recall {recall:.3} (paraphrase base rate {base_rate:.3})",
        tp + fp
    );
    assert!(
        precision >= base_rate + 0.05,
        "precision {precision} vs base rate {base_rate}"
    );
}
