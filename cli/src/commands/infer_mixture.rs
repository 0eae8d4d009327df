//! `blend infer-mixture`: which mixture of the given categories a BPE tokenizer was trained
//! on, from its merge list (Hayase et al.).

use std::path::PathBuf;

use anyhow::Context;
use blend_mixers::bpe_inference::InferenceOptions;
use blend_pipeline::Progress;
use blend_pipeline::workflows::bpe::infer::{InferRequest, infer_mixtures};
use clap::Args;

#[derive(Debug, Args)]
pub struct InferMixtureArgs {
    /// tokenizer.json of a BPE tokenizer (byte-level or SentencePiece-style); repeat to
    /// compare several tokenizers on the same categories.
    #[arg(long, required = true)]
    pub tokenizer: Vec<PathBuf>,
    /// Folder with one sample per category: a .jsonl/.parquet/.txt file or a folder of them,
    /// named after the category.
    #[arg(long)]
    pub categories: PathBuf,
    /// Use the first N merges (default: all).
    #[arg(long)]
    pub merges: Option<usize>,
    /// Read at most this many bytes of text per category (e.g. 100MB).
    #[arg(long, value_parser = blend_pipeline::engine::byte_size::parse_byte_size)]
    pub max_bytes: Option<u64>,
    #[command(flatten)]
    pub constraints: ConstraintArgs,
    /// Write an HTML report of the weights here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// How constraints are generated (shared with `bpe-eval`).
#[derive(Debug, Args)]
pub struct ConstraintArgs {
    /// New competing pairs per merge in one constraint-generation walk.
    #[arg(long, default_value_t = InferenceOptions::default().competitors_per_merge)]
    pub competitors_per_merge: usize,
    /// New constraints before the LP is re-solved.
    #[arg(long, default_value_t = InferenceOptions::default().constraints_per_round)]
    pub constraints_per_round: usize,
}

impl ConstraintArgs {
    pub fn options(&self) -> InferenceOptions {
        InferenceOptions {
            competitors_per_merge: self.competitors_per_merge.max(1),
            constraints_per_round: self.constraints_per_round.max(1),
            ..InferenceOptions::default()
        }
    }
}

pub fn run(args: &InferMixtureArgs, progress: &dyn Progress) -> anyhow::Result<()> {
    let request = InferRequest {
        tokenizers: args.tokenizer.clone(),
        categories: args.categories.clone(),
        merges: args.merges,
        max_bytes: args.max_bytes,
        options: args.constraints.options(),
        report: args.report.clone(),
    };
    let outcomes = infer_mixtures(&request, progress).with_context(|| {
        format!(
            "inferring mixtures over the categories in {}",
            args.categories.display()
        )
    })?;
    if args.json {
        let value = serde_json::json!({
            "report": args.report,
            "tokenizers": outcomes,
        });
        println!("{value}");
        return Ok(());
    }
    for outcome in &outcomes {
        let estimate = &outcome.estimate;
        println!(
            "{} ({} merges, {} constraints, {} rounds, slack {:.4}):",
            outcome.tokenizer.display(),
            estimate.merges,
            estimate.constraints,
            estimate.rounds,
            estimate.objective
        );
        let mut order: Vec<usize> = (0..estimate.weights.len()).collect();
        order.sort_by(|&a, &b| estimate.weights[b].total_cmp(&estimate.weights[a]));
        for i in order {
            println!(
                "  {:<24} {:>7.2}%",
                estimate.categories[i],
                estimate.weights[i] * 100.0
            );
        }
    }
    if let Some(report) = &args.report {
        println!("report: {}", report.display());
    }
    Ok(())
}
