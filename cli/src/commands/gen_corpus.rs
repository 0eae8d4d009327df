//! `blend gen-corpus`: the deterministic synthetic corpus.

use std::path::PathBuf;

use anyhow::Context;
use blend_datasets::synthetic::{SyntheticConfig, write_corpus};
use blend_pipeline::Progress;
use clap::Args;

#[derive(Debug, Args)]
pub struct GenCorpusArgs {
    /// Number of documents.
    #[arg(long)]
    pub docs: u64,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output folder: Parquet parts go to DIR/corpus/, ground truth to DIR/ground_truth.jsonl.
    #[arg(long)]
    pub out: PathBuf,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &GenCorpusArgs, progress: &dyn Progress) -> anyhow::Result<()> {
    anyhow::ensure!(args.docs > 0, "--docs must be at least 1");
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let config = SyntheticConfig::new(args.docs, args.seed);
    let task = progress.start("generate", Some(args.docs), "docs");
    let mut written_so_far = 0;
    let written = write_corpus(&config, &args.out, &mut |done| {
        task.advance(done - written_so_far);
        written_so_far = done;
    })
    .with_context(|| format!("writing the synthetic corpus to {}", args.out.display()))?;
    task.finish(&format!("{} documents", written.documents));
    if args.json {
        println!("{}", serde_json::to_string(&written)?);
    } else {
        println!(
            "wrote {} documents ({} bytes of text) to {}; ground truth in {}",
            written.documents,
            written.text_bytes,
            written.corpus_dir.display(),
            written.ground_truth.display()
        );
    }
    Ok(())
}
