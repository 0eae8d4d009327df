//! One module per subcommand.

pub mod bpe_eval;
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

/// Prints a finished run: a short text summary, or the JSON object with `--json`.
pub fn print_outcome(outcome: &RunOutcome, json: bool) {
    let summary = &outcome.summary;
    if json {
        let value = serde_json::json!({
            "report": outcome.report_path,
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
    println!(
        "kept {} of {} documents, {} tokens in {} shard(s)",
        summary.shards.total_documents,
        summary.stages[0].rows_out,
        summary.shards.total_tokens,
        summary.shards.shards.len()
    );
    if !outcome.cached.is_empty() {
        println!("reused cached steps: {}", outcome.cached.join(", "));
    }
    println!("shards:  {}", outcome.shards_dir.display());
    println!("mixture: {}", outcome.mixture_path.display());
    println!("report:  {}", outcome.report_path.display());
}
