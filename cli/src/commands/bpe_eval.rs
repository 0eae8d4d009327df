//! `blend bpe-eval`: the known-mixture evaluation of BPE mixture inference on the shared
//! corpora (train tokenizers on random mixtures, infer the mixtures back, score log10 MSE).

use std::path::PathBuf;

use blend_pipeline::Progress;
use blend_pipeline::workflows::bpe::eval::{
    CategoryPool, EvalGridRequest, EvalRequest, evaluate_grid,
};
use clap::Args;

#[derive(Debug, Args)]
pub struct BpeEvalArgs {
    /// The shared corpora folder.
    #[arg(long, default_value = "../shared/data/corpora")]
    pub corpora: PathBuf,
    /// Category pools to evaluate: languages, domains, code (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "languages,domains,code")]
    pub pool: Vec<CategoryPool>,
    /// Categories per trial (comma-separated list runs each; sizes larger than a pool are
    /// skipped with a note).
    #[arg(long, value_delimiter = ',', default_value = "5,10")]
    pub categories: Vec<usize>,
    /// Trials (random mixtures) per setting.
    #[arg(long, default_value_t = 20)]
    pub trials: usize,
    /// Merges each tokenizer learns.
    #[arg(long, default_value_t = 3000)]
    pub merges: usize,
    /// At most this much training text per tokenizer.
    #[arg(long, default_value = "8MB", value_parser = blend_pipeline::engine::byte_size::parse_byte_size)]
    pub train_bytes: u64,
    /// At most this much held-out text per category for inference.
    #[arg(long, default_value = "2MB", value_parser = blend_pipeline::engine::byte_size::parse_byte_size)]
    pub sample_bytes: u64,
    /// Languages in the language pool (those with the most text).
    #[arg(long, default_value_t = 20)]
    pub languages: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub constraints: super::infer_mixture::ConstraintArgs,
    /// Write the HTML report here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print the result as one JSON object (every trial).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &BpeEvalArgs, progress: &dyn Progress) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.corpora.is_dir(),
        "{} is not a folder; pass --corpora with the shared corpora (../shared/data/corpora)",
        args.corpora.display()
    );
    let mut base = EvalRequest::new(args.corpora.clone(), CategoryPool::Domains, 2);
    base.trials = args.trials.max(1);
    base.merges = args.merges;
    base.train_bytes = args.train_bytes;
    base.sample_bytes = args.sample_bytes;
    base.languages = args.languages;
    base.seed = args.seed;
    base.options = args.constraints.options();
    let grid = evaluate_grid(
        &EvalGridRequest {
            base,
            pools: args.pool.clone(),
            categories: args.categories.clone(),
            report: args.report.clone(),
        },
        progress,
    )?;
    let (reports, skipped) = (grid.reports, grid.skipped);
    if args.json {
        println!(
            "{}",
            serde_json::json!({"settings": reports, "skipped": skipped, "report": args.report})
        );
        return Ok(());
    }
    println!(
        "{:<10} {:>3} {:>7} {:>15} {:>13} {:>12}",
        "pool", "n", "trials", "mean log10 MSE", "random guess", "infer s"
    );
    for report in &reports {
        println!(
            "{:<10} {:>3} {:>7} {:>15.2} {:>13.2} {:>12.2}",
            report.pool.name(),
            report.categories,
            report.trials.len(),
            report.mean_log10_mse,
            report.mean_random_log10_mse,
            report.mean_infer_seconds
        );
    }
    for message in skipped {
        println!("skipped: {message}");
    }
    if let Some(report) = &args.report {
        println!("report: {}", report.display());
    }
    Ok(())
}
