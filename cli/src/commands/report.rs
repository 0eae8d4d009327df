//! `blend report DIR`: rebuild report.html from a finished run's `run_summary.json`.

use std::path::PathBuf;

use blend_pipeline::workflows::run::rebuild_report;
use clap::Args;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run's work or output folder (holding run_summary.json), or the file itself.
    pub dir: PathBuf,
    /// Where to write the report (default: DIR/report.html).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let out = rebuild_report(&args.dir, args.out)?;
    println!("report: {}", out.display());
    Ok(())
}
