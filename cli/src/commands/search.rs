//! `blend search`: the closed loop. Sample N mixtures, train a proxy on each, fit a regressor
//! on their held-out losses, search the mixture it predicts best, write `mixture.json`, the
//! runs table and a report. Re-running the same command resumes.

use std::path::PathBuf;

use blend_datasets::read::InputSpec;
use blend_mixers::{RegressorKind, SearchSettings};
use blend_pipeline::Progress;
use blend_pipeline::engine::config::{MixtureConfig, MixtureMethod, TokenizerConfig};
use blend_pipeline::workflows::search::{MEAN_LOSS, ProxySearchRequest, run_proxy_search};
use blend_proxy_train::{DeviceChoice, Preset};
use clap::Args;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Corpus files or folders (.jsonl, .parquet, .txt); every document needs an id, text and
    /// a domain (see --domain-column).
    #[arg(long, required = true)]
    pub input: Vec<PathBuf>,
    /// Column holding each document's domain (`domain` falls back to `source`).
    #[arg(long, default_value = "domain")]
    pub domain_column: String,
    /// Number of proxy runs (mixtures sampled around the natural token shares).
    #[arg(long, default_value_t = 16)]
    pub proxies: usize,
    /// Optimizer steps per proxy.
    #[arg(long, default_value_t = 200)]
    pub steps: usize,
    /// Model shape: tiny (~100k params, for tests) or regmix-1m (RegMix's 1M proxy).
    #[arg(long, default_value = "tiny")]
    pub preset: Preset,
    #[arg(long, default_value_t = 128)]
    pub sequence_length: usize,
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Peak learning rate (linear warmup over 10% of the steps, cosine decay to 10%).
    #[arg(long, default_value_t = 3e-3)]
    pub lr: f64,
    /// cpu, cuda or cuda:N (CUDA needs a blend built with `--features cuda`).
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Proxies trained at once (on the CPU each already uses every core; more than one at
    /// a time pays off on a GPU, where one small proxy leaves the device idle).
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
    /// What the regressor predicts and the search minimizes: valid_loss (mean held-out loss
    /// over domains) or loss/<domain>.
    #[arg(long, default_value = MEAN_LOSS)]
    pub target: String,
    /// lightgbm, linear, log_linear or mixing_law.
    #[arg(long, default_value = "lightgbm")]
    pub regressor: RegressorKind,
    /// Candidate mixtures the search scores.
    #[arg(long, default_value_t = SearchSettings::default().candidates)]
    pub candidates: usize,
    /// The mixture is the mean of the best K candidates.
    #[arg(long, default_value_t = SearchSettings::default().top_k)]
    pub top_k: usize,
    /// Passes over a domain's tokens the final mixture may take.
    #[arg(long, default_value_t = 4.0)]
    pub max_epochs: f64,
    /// Tokenizer for the proxies (default: a byte-level BPE trained on the inputs).
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Vocabulary of the trained tokenizer.
    #[arg(long, default_value_t = 4096)]
    pub vocab_size: usize,
    /// Share of documents held out to score the proxies.
    #[arg(long, default_value_t = 0.1)]
    pub valid_fraction: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder: proxy-data/, runs/, runs.csv, model.json, mixture.json, report.html.
    #[arg(long)]
    pub out: PathBuf,
    /// Discard runs recorded in --out with other settings instead of stopping.
    #[arg(long)]
    pub restart: bool,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &SearchArgs, progress: &dyn Progress) -> anyhow::Result<()> {
    let mut request = ProxySearchRequest::new(
        args.input.iter().map(InputSpec::new).collect(),
        args.out.clone(),
    );
    request.domain_column = args.domain_column.clone();
    request.tokenizer = TokenizerConfig {
        path: args.tokenizer.clone(),
        vocab_size: args.vocab_size,
        ..TokenizerConfig::default()
    };
    request.apply_mixture_settings(&MixtureConfig {
        method: MixtureMethod::Search,
        valid_fraction: args.valid_fraction,
        proxies: args.proxies,
        preset: args.preset,
        sequence_length: args.sequence_length,
        steps: args.steps,
        batch_size: args.batch_size,
        lr: args.lr,
        device: args.device,
        parallel: args.parallel,
        target: args.target.clone(),
        regressor: args.regressor,
        candidates: args.candidates,
        top_k: args.top_k,
        bootstrap: request.search.bootstrap,
        max_epochs: Some(args.max_epochs),
        ..MixtureConfig::default()
    });
    request.seed = args.seed;
    request.restart = args.restart;
    let outcome = run_proxy_search(&request, progress)?;
    let report_path = &outcome.report_path;
    let weights: serde_json::Map<String, serde_json::Value> = outcome
        .mixture
        .domains
        .iter()
        .map(|d| (d.domain.clone(), d.weight.into()))
        .collect();
    if args.json {
        let value = serde_json::json!({
            "mixture": outcome.mixture_path,
            "runs": outcome.runs_table,
            "model": outcome.model_path,
            "report": report_path,
            "proxies": outcome.runs.len(),
            "trained_now": outcome.trained,
            "parameters": outcome.settings.model.parameters(),
            "weights": weights,
            "predicted": outcome.mixture.prediction.as_ref().map(|p| p.value),
            "warnings": outcome.warnings,
        });
        println!("{value}");
        return Ok(());
    }
    for warning in &outcome.warnings {
        println!("warning: {warning}");
    }
    println!(
        "{} proxies ({} trained now, {} params, {} steps each); target {}",
        outcome.runs.len(),
        outcome.trained,
        outcome.settings.model.parameters(),
        outcome.settings.steps,
        args.target
    );
    for domain in &outcome.mixture.domains {
        println!("  {:<20} {:.4}", domain.domain, domain.weight);
    }
    if let Some(prediction) = &outcome.mixture.prediction {
        println!("predicted {}: {:.4}", prediction.target, prediction.value);
    }
    println!("runs:    {}", outcome.runs_table.display());
    println!("mixture: {}", outcome.mixture_path.display());
    println!("report:  {}", report_path.display());
    Ok(())
}
