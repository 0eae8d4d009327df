//! One module per subcommand.

pub mod bpe_eval;
pub mod cluster;
pub mod dedup;
pub mod demo;
pub mod gen_corpus;
pub mod infer_mixture;
pub mod mix;
pub mod quality;
pub mod report;
pub mod run;
pub mod search;
pub mod shards;

use blend_pipeline::RunOutcome;
use blend_pipeline::engine::mixture_summary::ValidationSummary;
use blend_pipeline::report::figures::FIGURES_FILE;

/// Prints a finished run: a short text summary, or the JSON object with `--json`.
pub fn print_outcome(outcome: &RunOutcome, json: bool) {
    let summary = &outcome.summary;
    if json {
        let value = serde_json::json!({
            "report": outcome.report_path,
            "figures": outcome.report_path.with_file_name(FIGURES_FILE),
            "summary": outcome.summary_path,
            "shards": outcome.shards_dir,
            "mixture": outcome.mixture_path,
            "documents_read": summary.stages[0].rows_out,
            "documents_kept": summary.shards.total_documents,
            "tokens": summary.shards.total_tokens,
            "cached_steps": outcome.cached,
            "warnings": summary.warnings,
        });
        println!("{value}");
        return;
    }
    for warning in &summary.warnings {
        println!("warning: {warning}");
    }
    let kept = summary.stages.last().map_or(0, |s| s.rows_out);
    println!(
        "kept {kept} of {} documents; shards: {} documents, {} tokens in {} file set(s), drawn by the {} mixture",
        summary.stages[0].rows_out,
        summary.shards.total_documents,
        summary.shards.total_tokens,
        summary.shards.shards.len(),
        summary.mixture.method
    );
    if let Some(validation) = summary
        .mixture_choice
        .as_ref()
        .and_then(|c| c.validation.as_ref())
    {
        let (chosen, chosen_sd) = ValidationSummary::mean_sd(&validation.chosen);
        let (natural, natural_sd) = ValidationSummary::mean_sd(&validation.natural);
        println!(
            "validated {} ({} steps, {} seeds): chosen {chosen:.4} ± {chosen_sd:.4}, natural {natural:.4} ± {natural_sd:.4}",
            validation.target,
            validation.steps,
            validation.seeds.len()
        );
    }
    if !outcome.cached.is_empty() {
        println!("reused cached steps: {}", outcome.cached.join(", "));
    }
    println!("shards:  {}", outcome.shards_dir.display());
    println!("mixture: {}", outcome.mixture_path.display());
    println!("report:  {}", outcome.report_path.display());
    println!(
        "figures: {}",
        outcome.report_path.with_file_name(FIGURES_FILE).display()
    );
}
