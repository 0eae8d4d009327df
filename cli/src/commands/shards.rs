//! `blend shards`: final training shards drawn by a mixture to an exact token budget, and
//! `blend shards verify DIR` to re-check any shard folder against its manifest.

use std::path::PathBuf;

use anyhow::Context;
use blend_datasets::shards::{parse_formats, verify_shards};
use blend_pipeline::Progress;
use blend_pipeline::engine::config::TokenCount;
use blend_pipeline::workflows::shards::{
    FinalShardsRequest, ShardsConfig, build_final_shards, parse_token_count,
};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ShardsArgs {
    #[command(subcommand)]
    pub command: Option<ShardsCommand>,
    #[command(flatten)]
    pub build: BuildArgs,
}

/// Draw documents per domain to `--tokens` split by the mixture's weights, shuffle, write.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The mixture (mixture.json from `blend run`/`blend demo` or `blend mix search`).
    #[arg(long)]
    pub mixture: Option<PathBuf>,
    /// Training tokens in total, e.g. 2B, 500M, 64k (decimal units; EOS tokens count).
    #[arg(long)]
    pub tokens: Option<String>,
    /// Output folder for the shards and manifest.json (replaced if it holds blend shards).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The finished run whose documents to draw from (its output folder, holding
    /// run_summary.json); default: the mixture's folder.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// tokenizer.json to encode with; default: the run's.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Seed for the draw, the valid split and the shuffle; default: the mixture's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Most passes over any domain's documents; more is an error naming the domain.
    #[arg(long, default_value_t = 4.0)]
    pub max_epochs: f64,
    /// Comma-separated: megatron, nanogpt, llmc, parquet.
    #[arg(long, default_value = "megatron")]
    pub formats: String,
    /// Pack documents into sequences of exactly this many tokens.
    #[arg(long)]
    pub seq_len: Option<u64>,
    /// Share of documents held out (each once) as the valid split.
    #[arg(long, default_value_t = 0.005)]
    pub valid_fraction: f64,
    /// Tokens per shard file before starting the next.
    #[arg(long, default_value = "256M")]
    pub shard_tokens: String,
    /// Print the manifest's totals as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ShardsCommand {
    /// Re-hash every file, decode every format of every shard, and check them against
    /// manifest.json and each other.
    Verify {
        /// The shard folder (holding manifest.json).
        dir: PathBuf,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

fn tokens(text: &str, flag: &str) -> anyhow::Result<u64> {
    parse_token_count(text).with_context(|| {
        format!("{flag} {text:?}: expected a positive count such as 2B, 500M or 64000")
    })
}

pub fn run(args: ShardsArgs, progress: &dyn Progress) -> anyhow::Result<()> {
    match args.command {
        Some(ShardsCommand::Verify { dir, json }) => {
            let verified = verify_shards(&dir)?;
            if json {
                println!("{}", serde_json::to_string(&verified)?);
            } else {
                println!(
                    "ok: {} shard(s), {} files, {} documents, {} tokens in {}",
                    verified.shards,
                    verified.files,
                    verified.documents,
                    verified.tokens,
                    verified.dir.display()
                );
            }
            Ok(())
        }
        None => build(args.build, progress),
    }
}

fn build(args: BuildArgs, progress: &dyn Progress) -> anyhow::Result<()> {
    let mixture = args
        .mixture
        .context("--mixture is required (or use `blend shards verify DIR`)")?;
    let total = tokens(
        args.tokens
            .as_deref()
            .context("--tokens is required, e.g. --tokens 2B")?,
        "--tokens",
    )?;
    let out = args.out.context("--out is required")?;
    let run = args
        .run
        .unwrap_or_else(|| mixture.parent().map(PathBuf::from).unwrap_or_default());
    let settings = ShardsConfig {
        tokens: TokenCount(total),
        formats: parse_formats(&args.formats)?,
        sequence_length: args.seq_len,
        max_epochs: args.max_epochs,
        valid_fraction: args.valid_fraction,
        shard_tokens: TokenCount(tokens(&args.shard_tokens, "--shard-tokens")?),
        seed: args.seed,
    };
    let request = FinalShardsRequest {
        mixture,
        run,
        out,
        tokenizer: args.tokenizer,
        settings,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let manifest = runtime.block_on(build_final_shards(&request, progress))?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "out": request.out,
                "shards": manifest.shards.len(),
                "documents": manifest.total_documents,
                "tokens": manifest.total_tokens,
                "splits": manifest.splits,
            })
        );
        return Ok(());
    }
    for (name, split) in &manifest.splits {
        println!(
            "{name}: {} documents, {} tokens",
            split.documents, split.tokens
        );
        for (domain, tokens) in &split.tokens_per_domain {
            let budget = split
                .budget_per_domain
                .get(domain)
                .map(|b| format!(" (budget {b})"))
                .unwrap_or_default();
            let epochs = split
                .epochs_per_domain
                .get(domain)
                .map(|e| format!(", {e:.2} epochs"))
                .unwrap_or_default();
            println!("  {domain}: {tokens} tokens{budget}{epochs}");
        }
        if split.dropped_tail_tokens > 0 {
            println!(
                "  {} tokens after the last full sequence were not written",
                split.dropped_tail_tokens
            );
        }
    }
    println!(
        "shards: {} in {}",
        manifest.shards.len(),
        request.out.display()
    );
    Ok(())
}
