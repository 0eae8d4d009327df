//! A corpus several times the memory budget through dedup, MinHash, embeddings, clustering,
//! a filter, the tokenizer and shards: every step's peak resident size stays under the
//! budget plus a fixed overhead, each stage says what it expects before it starts, and the
//! embedding column is not carried past the clustering.

use std::process::Command;

use crate::job::{first_named, root};

const BUDGET_MIB: u64 = 16;
/// The process itself (~95 MiB: DataFusion, tokenizers, candle), the streaming buffers of a
/// stage (64 MiB: one row group read, one written) and allocator slack.
const OVERHEAD_MIB: u64 = 200;

const PIPELINE: &str = r#"
[pipeline]
name = "memory"
seed = 5
work_dir = "work"
out_dir = "output"
memory = "16MiB"
rows_per_part = 5000

[[inputs]]
path = "corpus"

[[stages]]
name = "dedup"
operator = "dedup.exact"

[[stages]]
name = "fuzzy_dedup"
operator = "dedup.minhash"

[[stages]]
name = "embed"
operator = "domain.embed"

[[stages]]
name = "cluster"
operator = "domain.cluster"
params = { domains = 4, domain_column = "cluster_domain" }

[[stages]]
name = "domain"
operator = "domain.from_column"
params = { column = "source" }

[[stages]]
name = "filter"
operator = "filter"

[[stages.params.rules]]
name = "dedup"
keep = "NOT exact_dup AND NOT is_dup"

[tokenizer]
vocab_size = 1024
train_sample_bytes = 8388608
"#;

#[test]
fn every_step_stays_under_the_budget_plus_a_fixed_overhead() {
    let dir = root().join("memory");
    std::fs::create_dir_all(&dir).unwrap();
    let blend = env!("CARGO_BIN_EXE_blend");
    let corpus = Command::new(blend)
        .args([
            "-q",
            "gen-corpus",
            "--docs",
            "30000",
            "--seed",
            "5",
            "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(corpus.status.success());
    std::fs::write(dir.join("pipeline.toml"), PIPELINE).unwrap();
    let run = Command::new(blend)
        .current_dir(&dir)
        .args(["run", "pipeline.toml"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{log}");
    for stage in ["dedup", "fuzzy_dedup", "cluster"] {
        assert!(
            log.contains(&format!("stage `{stage}`: expected peak")),
            "{stage} did not say what it expects:\n{log}"
        );
    }

    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("output/run_summary.json")).unwrap())
            .unwrap();
    let input_mib = summary["stages"][0]["text_bytes_in"].as_u64().unwrap() >> 20;
    assert!(
        input_mib >= 2 * BUDGET_MIB,
        "the corpus ({input_mib} MiB of text) must outgrow the budget"
    );
    let steps = summary["stages"]
        .as_array()
        .unwrap()
        .iter()
        .chain(summary["steps"].as_array().unwrap());
    let mut peaks = Vec::new();
    for step in steps {
        let name = step["name"].as_str().unwrap().to_string();
        let Some(peak) = step["cost"]["peak_rss_bytes"].as_u64() else {
            continue;
        };
        peaks.push((name, peak >> 20));
    }
    eprintln!("{input_mib} MiB of text, budget {BUDGET_MIB} MiB; peak RSS (MiB): {peaks:?}");
    assert!(peaks.len() >= 8, "{peaks:?}");
    for (name, peak) in &peaks {
        assert!(
            *peak <= BUDGET_MIB + OVERHEAD_MIB,
            "step `{name}` peaked at {peak} MiB, over {BUDGET_MIB} MiB + {OVERHEAD_MIB} MiB"
        );
    }

    let filtered = first_named(&dir.join("work"), "filter-");
    let part = std::fs::read(filtered.join("part-00000.parquet")).unwrap();
    assert!(
        !part.windows(9).any(|w| w == b"embedding"),
        "the embedding column was carried past the clustering"
    );
}
