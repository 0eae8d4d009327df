//! `blend dedup`: MinHash-LSH near-duplicate clustering as one command. Writes Parquet with
//! every input column plus `dup_cluster`, `dup_cluster_size` and `is_dup`, and
//! `dedup_summary.json`; `--s-curve` only prints the LSH choice.

use std::path::PathBuf;

use anyhow::Context;
use blend_datasets::read::InputSpec;
use blend_kernels::minhash::LshParams;
use blend_operators::OperatorSpec;
use blend_operators::dedup::minhash::{MinHashDedup, MinHashDedupParams};
use blend_operators::operator::parse_params;
use blend_pipeline::Progress;
use blend_pipeline::workflows::dedup::{DEDUP_SUMMARY_FILE, FuzzyDedupRequest, run_fuzzy_dedup};
use clap::Args;

#[derive(Debug, Args)]
pub struct DedupArgs {
    /// Input files or folders (.parquet, .jsonl[.gz|.zst], folders of .txt); repeatable.
    #[arg(long, required_unless_present = "s_curve", num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// Output folder: Parquet parts, dedup_summary.json, and the stage cache in work/.
    #[arg(long, required_unless_present = "s_curve")]
    pub out: Option<PathBuf>,
    /// Jaccard similarity to detect (tunes the bands; the cut-off with --verify).
    #[arg(long, default_value_t = 0.7)]
    pub threshold: f64,
    /// MinHash permutations (signature length).
    #[arg(long, default_value_t = 128)]
    pub num_perm: usize,
    /// Words (or characters) per shingle.
    #[arg(long, default_value_t = 5)]
    pub ngram: usize,
    /// LSH bands (default: datasketch's optimum for the threshold).
    #[arg(long)]
    pub bands: Option<usize>,
    /// Rows per band.
    #[arg(long)]
    pub rows: Option<usize>,
    /// Shingle unit.
    #[arg(long, default_value = "word", value_parser = ["word", "char"])]
    pub shingle: String,
    /// Signature scheme: k permutations, or one-permutation hashing (faster).
    #[arg(long, default_value = "permutations", value_parser = ["permutations", "one-permutation"])]
    pub signature: String,
    /// Verify every LSH candidate pair by exact Jaccard (a second pass over the text).
    #[arg(long)]
    pub verify: bool,
    /// Keep the member with the highest value of this numeric column instead of the first.
    #[arg(long)]
    pub keep_highest: Option<String>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Memory budget; the band table spills to disk beyond it (e.g. 4GiB, 512MiB).
    #[arg(long, default_value = "4GiB")]
    pub memory: String,
    #[arg(long, default_value = "text")]
    pub text_column: String,
    #[arg(long, default_value = "id")]
    pub id_column: String,
    /// Ground truth (`ground_truth.jsonl` of `blend gen-corpus`) to print precision/recall
    /// per edit rate; found automatically for a synthetic corpus.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Print bands × rows and the S-curve for these settings, then exit.
    #[arg(long)]
    pub s_curve: bool,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

impl DedupArgs {
    fn params(&self) -> serde_json::Value {
        let mut params = serde_json::json!({
            "text_column": self.text_column,
            "id_column": self.id_column,
            "threshold": self.threshold,
            "num_perm": self.num_perm,
            "shingle": self.shingle,
            "ngram": self.ngram,
            "signature": self.signature.replace('-', "_"),
            "verify": self.verify,
            "seed": self.seed,
        });
        if let Some(bands) = self.bands {
            params["bands"] = bands.into();
        }
        if let Some(rows) = self.rows {
            params["rows"] = rows.into();
        }
        if let Some(column) = &self.keep_highest {
            params["keep_highest"] = column.clone().into();
        }
        params
    }
}

fn print_s_curve(lsh: &LshParams, threshold: f64, json: bool) {
    let curve = lsh.s_curve(20);
    if json {
        let value = serde_json::json!({
            "bands": lsh.bands,
            "rows": lsh.rows,
            "threshold": threshold,
            "false_positive_area": lsh.false_positive_area(threshold),
            "false_negative_area": lsh.false_negative_area(threshold),
            "s_curve": curve,
        });
        println!("{value}");
        return;
    }
    println!(
        "{} bands × {} rows; threshold {threshold}: false-positive area {:.4}, false-negative area {:.4}",
        lsh.bands,
        lsh.rows,
        lsh.false_positive_area(threshold),
        lsh.false_negative_area(threshold)
    );
    println!("jaccard  P(candidate)");
    for (s, p) in curve {
        let bar = "#".repeat((p * 50.0).round() as usize);
        println!("{s:7.2}  {p:.4} {bar}");
    }
}

pub fn run(args: &DedupArgs, progress: &dyn Progress) -> anyhow::Result<()> {
    let params = args.params();
    // Checks the parameters (and resolves bands × rows) before reading anything.
    let checked: MinHashDedupParams = parse_params(MinHashDedup::NAME, &params)?;
    let lsh = MinHashDedup::lsh_params(&checked)?;
    if args.s_curve {
        print_s_curve(&lsh, args.threshold, args.json);
        return Ok(());
    }
    let out = args
        .out
        .clone()
        .context("--out is required unless --s-curve is given")?;
    let inputs = args
        .input
        .iter()
        .map(|path| {
            let mut spec = InputSpec::new(path);
            spec.text_column = args.text_column.clone();
            spec.id_column = args.id_column.clone();
            spec
        })
        .collect();
    let request = FuzzyDedupRequest {
        inputs,
        out_dir: out.clone(),
        params,
        seed: args.seed,
        memory: args.memory.clone(),
        truth: args.truth.clone(),
    };
    let outcome = run_fuzzy_dedup(&request, progress)
        .with_context(|| format!("deduplicating into {}", out.display()))?;
    if args.json {
        let value = serde_json::json!({
            "documents": outcome.documents,
            "clusters": outcome.clusters,
            "duplicates": outcome.duplicates,
            "bands": outcome.minhash.bands,
            "rows": outcome.minhash.rows,
            "partitions": outcome.minhash.partitions,
            "spilled_bytes": outcome.minhash.spilled_bytes,
            "output_files": outcome.output_files,
            "summary": out.join(DEDUP_SUMMARY_FILE),
            "cached": outcome.cached,
            "accuracy": outcome.accuracy,
        });
        println!("{value}");
        return Ok(());
    }
    let lsh_figures = &outcome.minhash;
    println!(
        "{} documents: {} near-duplicate clusters, {} flagged is_dup ({} bands × {} rows, {} partition(s), {} bytes spilled{})",
        outcome.documents,
        outcome.clusters,
        outcome.duplicates,
        lsh_figures.bands,
        lsh_figures.rows,
        lsh_figures.partitions,
        lsh_figures.spilled_bytes,
        if outcome.cached {
            ", reused from cache"
        } else {
            ""
        }
    );
    if let Some(accuracy) = &outcome.accuracy {
        println!(
            "precision {:.4} ({} of {} flagged are true copies)",
            accuracy.precision, accuracy.correctly_flagged, accuracy.flagged
        );
        println!("copies      planted   found  recall      F1");
        for row in &accuracy.by_edit_rate {
            println!(
                "{:<10} {:>8} {:>7}  {:.4}  {:.4}",
                row.copies, row.planted, row.found, row.recall, row.f1
            );
        }
        println!(
            "exact + ≤15% edits: recall {:.4}, F1 {:.4}",
            accuracy.recall_up_to_15, accuracy.f1_up_to_15
        );
    }
    for file in &outcome.output_files {
        println!("wrote {}", file.display());
    }
    println!("summary: {}", out.join(DEDUP_SUMMARY_FILE).display());
    Ok(())
}
