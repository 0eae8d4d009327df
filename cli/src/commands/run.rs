//! `blend run PIPELINE.toml`: run a configured DAG, reusing cached stages.

use std::path::PathBuf;

use blend_pipeline::{PipelineConfig, Progress, run_pipeline_blocking};
use clap::Args;

use super::print_outcome;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline file (see `blend demo`'s pipeline.toml for an example).
    pub pipeline: PathBuf,
    /// Work folder for stage caches (overrides pipeline.work_dir).
    #[arg(long)]
    pub work: Option<PathBuf>,
    /// Output folder for shards, mixture and report (overrides pipeline.out_dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Memory budget of spilling stages, e.g. 4GiB (overrides pipeline.memory).
    #[arg(long)]
    pub memory: Option<String>,
    /// Run the document stages on a Ballista cluster (`blend cluster`), e.g.
    /// df://127.0.0.1:50050 (overrides pipeline.cluster). The work folder must be shared
    /// with the executors.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: RunArgs, progress: &dyn Progress) -> anyhow::Result<()> {
    let mut config = PipelineConfig::load(&args.pipeline)?;
    if let Some(work) = args.work {
        config.pipeline.work_dir = work;
    }
    if let Some(out) = args.out {
        config.pipeline.out_dir = out;
    }
    if let Some(cluster) = args.cluster {
        blend_distributed::session::scheduler_address(&cluster)?;
        config.pipeline.cluster = Some(cluster);
    }
    if let Some(memory) = args.memory {
        blend_pipeline::engine::byte_size::parse_byte_size(&memory)
            .map_err(|e| anyhow::anyhow!("--memory: {e}"))?;
        config.pipeline.memory = memory;
    }
    let outcome = run_pipeline_blocking(&config, &args.pipeline, progress)?;
    print_outcome(&outcome, args.json);
    Ok(())
}
