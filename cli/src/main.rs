//! The `blend` command line: one file per subcommand under `commands/`, progress bars in
//! `progress_bars.rs`. Results go to stdout (as one JSON object with `--json`), logs and
//! progress to stderr.
#![allow(clippy::print_stdout)]

mod commands;
mod progress_bars;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// blend turns raw text corpora into a pretraining data mixture and token shards.
///
/// Start with `blend demo`: it generates a synthetic corpus, runs the default pipeline
/// (normalize, exact dedup, Gopher rules, filter), trains a BPE tokenizer, writes Megatron
/// shards and a self-contained HTML report.
#[derive(Debug, Parser)]
#[command(name = "blend", version, propagate_version = true)]
struct Cli {
    /// Log more (-v: debug, -vv: trace). BLEND_LOG overrides (e.g. BLEND_LOG=blend_pipeline=debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Log only errors and draw no progress bars.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate the synthetic corpus, run the default pipeline, write shards and the report.
    Demo(commands::demo::DemoArgs),
    /// Near-duplicate clusters by MinHash-LSH: Parquet with `dup_cluster`, `dup_cluster_size`, `is_dup`.
    Dedup(commands::dedup::DedupArgs),
    /// Write the deterministic synthetic corpus (Parquet) and its ground-truth sidecar.
    GenCorpus(commands::gen_corpus::GenCorpusArgs),
    /// Mixture search on recorded proxy runs: `mix fit`, `mix predict`, `mix search`, `mix eval`.
    Mix(commands::mix::MixArgs),
    /// Which mixture of categories a BPE tokenizer was trained on, from its merge list.
    InferMixture(commands::infer_mixture::InferMixtureArgs),
    /// Known-mixture evaluation of `infer-mixture`: train tokenizers on random mixtures, infer them back.
    BpeEval(commands::bpe_eval::BpeEvalArgs),
    /// Closed loop: sample mixtures, train proxies (candle), fit a regressor, write mixture.json.
    Search(commands::search::SearchArgs),
    /// Quality classifier: `quality train` (fastText-style, evaluated, saved), `quality score`.
    Quality(commands::quality::QualityArgs),
    /// Run the pipeline described by a TOML file (resumes from cached stages).
    Run(commands::run::RunArgs),
    /// A Ballista cluster's roles: `cluster scheduler`, `cluster executor` (for `run --cluster`).
    Cluster(commands::cluster::ClusterArgs),
    /// Rebuild report.html from a finished run's work or output folder.
    Report(commands::report::ReportArgs),
    /// Final token shards drawn by a mixture to a token budget (`blend shards --mixture M --tokens 2B --out DIR`), or `blend shards verify DIR`.
    Shards(commands::shards::ShardsArgs),
}

fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => {
            "warn,blend=info,blend_pipeline=info,blend_datasets=info,blend_operators=info,blend_distributed=info,ballista_scheduler=info,ballista_executor=info"
        }
        (false, 1) => {
            "info,blend=debug,blend_pipeline=debug,blend_datasets=debug,blend_operators=debug"
        }
        _ => "debug,blend_pipeline=trace",
    };
    let filter = EnvFilter::try_from_env("BLEND_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

fn main() -> ExitCode {
    blend_pipeline::engine::heap::limit_arenas();
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let progress = progress_bars::BarProgress::new(cli.quiet);
    let result = match cli.command {
        Command::Demo(args) => commands::demo::run(&args, &progress),
        Command::Dedup(args) => commands::dedup::run(&args, &progress),
        Command::GenCorpus(args) => commands::gen_corpus::run(&args, &progress),
        Command::Mix(args) => commands::mix::run(args, &progress),
        Command::Quality(args) => commands::quality::run(args, &progress),
        Command::Run(args) => commands::run::run(args, &progress),
        Command::Cluster(args) => commands::cluster::run(args),
        Command::InferMixture(args) => commands::infer_mixture::run(&args, &progress),
        Command::BpeEval(args) => commands::bpe_eval::run(&args, &progress),
        Command::Search(args) => commands::search::run(&args, &progress),
        Command::Report(args) => commands::report::run(args),
        Command::Shards(args) => commands::shards::run(args, &progress),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each cause once: library errors often name their source in
/// their own message already (`file: No such file or directory`).
fn error_chain(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = anyhow::Error::new(blend_pipeline::PipelineError::io("p.toml", io));
        assert_eq!(error_chain(&error), "p.toml: no such file");
        let wrapped = error.context("reading the pipeline");
        assert_eq!(
            error_chain(&wrapped),
            "reading the pipeline: p.toml: no such file"
        );
    }
}
