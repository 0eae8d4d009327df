//! `blend demo`: synthetic corpus + the default pipeline + shards + report, in one folder.

use std::path::{Path, PathBuf};

use anyhow::Context;
use blend_datasets::synthetic::{CORPUS_DIR, SyntheticConfig, corpus_is_complete, write_corpus};
use blend_pipeline::workflows::demo::{DomainSource, default_pipeline, train_demo_classifier};
use blend_pipeline::{PipelineConfig, Progress, run_pipeline_blocking};
use clap::Args;

use super::print_outcome;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Documents in the synthetic corpus.
    #[arg(long, default_value_t = 20_000)]
    pub docs: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Folder for everything: corpus/, pipeline.toml, work/, output/.
    #[arg(long, default_value = "blend-demo")]
    pub out: PathBuf,
    /// Where the mixture's domains come from: the corpus's `source` column, or the clusters
    /// that `embed` → `cluster` find (the report shows the clusters either way).
    #[arg(long, default_value = "source")]
    pub domains: DomainSource,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// The demo's quality classifier, beside `pipeline.toml`.
const QUALITY_MODEL: &str = "quality_model.bin";

pub fn run(args: &DemoArgs, progress: &dyn Progress) -> anyhow::Result<()> {
    anyhow::ensure!(args.docs > 0, "--docs must be at least 1");
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let corpus = SyntheticConfig::new(args.docs, args.seed);
    if corpus_is_complete(&corpus, &args.out) {
        tracing::info!(
            "reusing the synthetic corpus in {}",
            args.out.join(CORPUS_DIR).display()
        );
    } else {
        let task = progress.start("generate corpus", Some(args.docs), "docs");
        let mut so_far = 0;
        write_corpus(&corpus, &args.out, &mut |done| {
            task.advance(done - so_far);
            so_far = done;
        })
        .with_context(|| format!("writing the synthetic corpus to {}", args.out.display()))?;
        task.finish(&format!("{} documents", args.docs));
    }
    let model = args.out.join(QUALITY_MODEL);
    let trained = train_demo_classifier(&args.out.join(CORPUS_DIR), &model, args.seed, progress)
        .context("training the demo's quality classifier")?;
    tracing::info!(
        "quality classifier (reference `{}`): held-out ROC-AUC {}",
        trained.positive_label,
        trained.roc_auc.map_or("n/a".into(), |a| format!("{a:.3}"))
    );
    let config_path = args.out.join("pipeline.toml");
    let config = default_pipeline(
        Path::new(CORPUS_DIR),
        Path::new("work"),
        Path::new("output"),
        Path::new(QUALITY_MODEL),
        args.seed,
        args.domains,
    );
    std::fs::write(&config_path, config.to_toml())
        .with_context(|| format!("writing {}", config_path.display()))?;
    let config = PipelineConfig::load(&config_path)?;
    let outcome = run_pipeline_blocking(&config, &config_path, progress)?;
    print_outcome(&outcome, args.json);
    if !args.json {
        println!(
            "pipeline: {} (edit it and run `blend run {}`)",
            config_path.display(),
            config_path.display()
        );
    }
    Ok(())
}
