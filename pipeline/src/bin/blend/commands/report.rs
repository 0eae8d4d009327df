//! `blend report DIR`: rebuild report.html from a finished run's `run_summary.json`.

use std::path::PathBuf;

use anyhow::Context;
use blend_pipeline::RunSummary;
use blend_pipeline::report::render_report;
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
    let summary = RunSummary::read(&args.dir)?;
    let out = args.out.unwrap_or_else(|| {
        let dir = if args.dir.is_file() {
            args.dir.parent().map(PathBuf::from).unwrap_or_default()
        } else {
            args.dir.clone()
        };
        dir.join("report.html")
    });
    std::fs::write(&out, render_report(&summary))
        .with_context(|| format!("writing {}", out.display()))?;
    println!("report: {}", out.display());
    Ok(())
}
