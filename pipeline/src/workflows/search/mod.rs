//! The closed loop behind `blend search`: tokenize the corpus into per-domain train/valid
//! streams ([`proxy_data`]), draw N mixtures with RegMix's sampler around the natural token
//! shares, train a proxy on each (in parallel), record the runs ([`recorded_runs`]), fit a
//! regressor on the held-out loss, search a million candidates, and write `mixture.json` and
//! a report ([`report`]).
//!
//! Everything lands in one folder and the loop resumes: the token streams are reused when
//! their inputs and settings are unchanged, and every finished proxy is saved as
//! `runs/run_NNNNN.json` the moment it finishes, so a killed search trains only what is
//! missing. All proxies share one initialization and one batch stream seed (common random
//! numbers): their losses differ by their mixtures, not by luck of the draw.

pub(crate) mod proxy_data;
pub(crate) mod proxy_quality;
mod recorded_runs;
mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use blend_datasets::files::{sha256_file, write_atomic};
use blend_datasets::read::InputSpec;
use blend_mixers::{
    FitSettings, Mixture, RegressorKind, RegressorModel, SamplerConfig, SearchSettings,
};
use blend_proxy_train::parallel::{ProxyJob, train_proxies};
use blend_proxy_train::{
    DeviceChoice, Preset, ProxyData, ProxyDataManifest, ProxyError, TrainSettings,
};

use super::run::{DomainSize, DomainSizes};
use super::write_output;
use crate::engine::config::{MixtureConfig, MixtureMethod, TokenizerConfig};
use crate::engine::mixture_search::{SamplerOptions, SearchRequest, search_mixture};
use crate::progress::Progress;
use crate::{BLEND_VERSION, PipelineError, Result};

pub use crate::engine::config::{LOSS_PREFIX, MEAN_LOSS};
pub use recorded_runs::{RecordedRun, RunsFolder, runs_table};
pub use report::render_proxy_search_report;

pub const PROXY_DATA_DIR: &str = "proxy-data";
pub const RUNS_DIR: &str = "runs";
pub const RUNS_TABLE: &str = "runs.csv";
pub const SEARCH_STATE: &str = "search.json";
pub const SEARCH_REPORT: &str = "report.html";

/// What `blend search` was asked to do.
#[derive(Debug, Clone)]
pub struct ProxySearchRequest {
    pub inputs: Vec<InputSpec>,
    /// What the inputs hold, when the caller knows it (a pipeline run's documents stage):
    /// the proxy data is then keyed by it rather than by the input files' paths and times.
    pub inputs_digest: Option<String>,
    /// Column naming each document's domain (`domain` falls back to `source`).
    pub domain_column: String,
    pub tokenizer: TokenizerConfig,
    /// Share of documents (by a seeded hash of their id) held out to score proxies.
    pub valid_fraction: f64,
    pub proxies: usize,
    pub preset: Preset,
    pub sequence_length: usize,
    pub steps: usize,
    pub batch_size: usize,
    pub peak_lr: f64,
    pub device: DeviceChoice,
    /// Proxies trained at once. On the CPU candle already spreads every op over all cores,
    /// and 2 proxies at once on 2 cores were slower than 1 after the other (measured:
    /// 15.1k vs 18.5k tokens/s, `bench/proxy`), so the default is 1.
    pub parallel: usize,
    /// `valid_loss` (mean over domains) or `loss/<domain>`.
    pub target: String,
    pub regressor: RegressorKind,
    pub search: SearchSettings,
    pub max_epochs: f64,
    pub seed: u64,
    pub out_dir: PathBuf,
    /// Discard recorded runs made with other settings instead of failing.
    pub restart: bool,
    /// Document columns kept beside the train streams (QuaDMix ranks documents by them).
    pub quality_columns: Vec<String>,
}

impl ProxySearchRequest {
    /// Defaults for everything but the inputs and the output folder.
    pub fn new(inputs: Vec<InputSpec>, out_dir: PathBuf) -> Self {
        Self {
            inputs,
            inputs_digest: None,
            domain_column: "domain".into(),
            tokenizer: TokenizerConfig::default(),
            valid_fraction: 0.1,
            proxies: 16,
            preset: Preset::Tiny,
            sequence_length: 128,
            steps: 200,
            batch_size: 16,
            peak_lr: 3e-3,
            device: DeviceChoice::Cpu,
            parallel: 1,
            target: MEAN_LOSS.into(),
            regressor: RegressorKind::LightGbm,
            search: SearchSettings::default(),
            max_epochs: 4.0,
            seed: 0,
            out_dir,
            restart: false,
            quality_columns: Vec::new(),
        }
    }
}

impl ProxySearchRequest {
    /// Takes the proxy, regressor and search settings of `[mixture]` (the run's search and
    /// `blend search`'s flags both arrive here); inputs, tokenizer, domain column, seed and
    /// folder are the caller's.
    pub fn apply_mixture_settings(&mut self, m: &MixtureConfig) {
        self.valid_fraction = m.valid_fraction;
        self.proxies = m.proxies;
        self.preset = m.preset;
        self.sequence_length = m.sequence_length;
        self.steps = m.steps;
        self.batch_size = m.batch_size;
        self.peak_lr = m.lr;
        self.device = m.device;
        self.parallel = m.parallel.max(1);
        self.target = m.target.clone();
        self.regressor = m.regressor;
        self.search.candidates = m.candidates;
        self.search.top_k = m.top_k;
        self.search.bootstrap = m.bootstrap;
        if let Some(max_epochs) = m.max_epochs {
            self.max_epochs = max_epochs;
        }
        if let (MixtureMethod::Quadmix, Some(q)) = (m.method, &m.quadmix) {
            self.quality_columns = q.quality.clone();
        }
    }
}

/// What a search produced.
#[derive(Debug)]
pub struct ProxySearchOutcome {
    pub data: ProxyDataManifest,
    pub data_reused: bool,
    pub settings: TrainSettings,
    pub runs: Vec<RecordedRun>,
    /// Runs trained by this call (the rest were recorded before).
    pub trained: usize,
    pub runs_table: PathBuf,
    pub model: RegressorModel,
    pub model_path: PathBuf,
    pub mixture: Mixture,
    pub mixture_path: PathBuf,
    pub report_path: PathBuf,
    /// Natural token shares, in the mixture's domain order.
    pub natural: Vec<f64>,
    /// Things a user should know before trusting the mixture.
    pub warnings: Vec<String>,
}

/// Runs the whole loop and writes its report.
pub fn run_proxy_search(
    request: &ProxySearchRequest,
    progress: &dyn Progress,
) -> Result<ProxySearchOutcome> {
    check_request(request)?;
    std::fs::create_dir_all(&request.out_dir)
        .map_err(|e| PipelineError::io(&request.out_dir, e))?;
    let (data_manifest, data_reused) = proxy_data::prepare_proxy_data(request, progress)?;
    let data = ProxyData::read(&request.out_dir.join(PROXY_DATA_DIR))?;
    check_target(&request.target, &data.domains)?;
    check_domain_sizes(&data_manifest, request.sequence_length)?;
    let settings = train_settings(request, data.vocab_size);
    let natural = natural_shares(&data);
    let mixtures =
        SamplerConfig::regmix(natural.clone()).design_runs(request.proxies, request.seed)?;
    let folder = RunsFolder {
        dir: request.out_dir.join(RUNS_DIR),
        state_file: request.out_dir.join(SEARCH_STATE),
        restart: request.restart,
    };
    let (runs, trained) = train_missing_runs(
        &folder,
        &data,
        &data_manifest.key,
        &settings,
        &mixtures,
        request.parallel,
        progress,
    )?;
    let warnings = too_few_runs(runs.len(), data.domains.len());
    let fit = FitRequest {
        target: &request.target,
        regressor: request.regressor,
        seed: request.seed,
    };
    let model = fit_regressor(&request.out_dir, fit, &data.domains, &runs)?;
    let model_path = request.out_dir.join(MODEL_FILE);
    let domains_path = write_domain_tokens(&request.out_dir, &data_manifest)?;
    let result = search_mixture(
        &SearchRequest {
            model: model_path.clone(),
            settings: SearchSettings {
                seed: request.seed,
                ..request.search.clone()
            },
            sampler: SamplerOptions::default(),
            domain_tokens: Some(domains_path),
            prior: None,
            token_budget: None,
            max_epochs: request.max_epochs,
            min_weights: Vec::new(),
            max_weights: Vec::new(),
        },
        progress,
    )?;
    let mut mixture = result.mixture;
    mixture
        .inputs
        .insert("proxy_data".into(), data_manifest.key.clone());
    let mixture_path = request.out_dir.join("mixture.json");
    write_atomic(&mixture_path, mixture.to_json().as_bytes())?;
    let outcome = ProxySearchOutcome {
        data: data_manifest,
        data_reused,
        settings,
        runs,
        trained,
        runs_table: request.out_dir.join(RUNS_TABLE),
        model,
        model_path,
        mixture,
        mixture_path,
        report_path: request.out_dir.join(SEARCH_REPORT),
        natural,
        warnings,
    };
    write_output(&outcome.report_path, &render_proxy_search_report(&outcome))?;
    Ok(outcome)
}

/// Each domain's share of the proxies' training tokens.
fn natural_shares(data: &ProxyData) -> Vec<f64> {
    let train_tokens = data.train_tokens();
    let total: u64 = train_tokens.iter().sum();
    train_tokens
        .iter()
        .map(|&t| t as f64 / total.max(1) as f64)
        .collect()
}

/// The proxies' model and training settings for a vocabulary of `vocab_size`.
pub(crate) fn train_settings(request: &ProxySearchRequest, vocab_size: usize) -> TrainSettings {
    let model_config = request.preset.config(vocab_size, request.sequence_length);
    let mut settings = TrainSettings::new(model_config, request.steps, request.seed);
    settings.batch_size = request.batch_size;
    settings.peak_lr = request.peak_lr;
    settings.device = request.device;
    settings
}

/// Every domain needs one full window of training and of held-out tokens.
pub(crate) fn check_domain_sizes(data: &ProxyDataManifest, sequence_length: usize) -> Result<()> {
    let needed = (sequence_length + 1) as u64;
    for files in &data.domains {
        if files.train_tokens < needed || files.valid_tokens < needed {
            return Err(PipelineError::DomainTooSmall {
                domain: files.domain.clone(),
                train_tokens: files.train_tokens,
                valid_tokens: files.valid_tokens,
                needed,
            });
        }
    }
    Ok(())
}

/// The recorded runs, after training every run of `mixtures` (row-major, one row per run)
/// not recorded in `folder` yet (each saved as it finishes); also how many were trained now.
pub(crate) fn train_missing_runs(
    folder: &RunsFolder,
    data: &ProxyData,
    data_key: &str,
    settings: &TrainSettings,
    mixtures: &[f64],
    parallel: usize,
    progress: &dyn Progress,
) -> Result<(Vec<RecordedRun>, usize)> {
    let d = data.domains.len();
    let proxies = mixtures.len() / d.max(1);
    let state = recorded_runs::SearchState {
        blend: BLEND_VERSION.into(),
        data_key: data_key.to_string(),
        domains: data.domains.clone(),
        settings: settings.clone(),
    };
    let runs_dir = &folder.dir;
    let mut recorded = recorded_runs::load_recorded_runs(folder, &state)?;
    recorded.retain(|run| {
        run.run < proxies
            && run
                .weights
                .iter()
                .zip(&mixtures[run.run * d..(run.run + 1) * d])
                .all(|(a, b)| (a - b).abs() < 1e-12)
    });
    let done: BTreeSet<usize> = recorded.iter().map(|r| r.run).collect();
    let jobs: Vec<ProxyJob> = (0..proxies)
        .filter(|run| !done.contains(run))
        .map(|run| ProxyJob {
            run,
            weights: mixtures[run * d..(run + 1) * d].to_vec(),
        })
        .collect();
    if !jobs.is_empty() {
        tracing::info!(
            "training {} proxies ({} already recorded): {} params, {} steps × {} tokens on {}",
            jobs.len(),
            recorded.len(),
            settings.model.parameters(),
            settings.steps,
            settings.tokens_per_step(),
            settings.device
        );
    }
    let bar = progress.start(
        "train proxies",
        Some((jobs.len() * settings.steps) as u64),
        "steps",
    );
    let fresh = Mutex::new(Vec::new());
    train_proxies(
        data,
        &jobs,
        settings,
        parallel,
        &|_| bar.advance(1),
        &|job, outcome| {
            let run = RecordedRun {
                run: job.run,
                domains: data.domains.clone(),
                weights: job.weights.clone(),
                outcome: outcome.clone(),
            };
            recorded_runs::record_run(runs_dir, &run)
                .map_err(|e| ProxyError::Config(format!("recording run {}: {e}", job.run)))?;
            fresh.lock().expect("not poisoned").push(run);
            Ok(())
        },
    )?;
    let fresh = fresh.into_inner().expect("not poisoned");
    bar.finish(&format!(
        "{} trained, {} recorded before",
        fresh.len(),
        recorded.len()
    ));
    let trained = fresh.len();
    recorded.extend(fresh);
    recorded.sort_by_key(|r| r.run);
    Ok((recorded, trained))
}

/// The warning a user should read before trusting a mixture fitted on few runs.
pub(crate) fn too_few_runs(runs: usize, domains: usize) -> Vec<String> {
    too_few_runs_for(runs, domains, "domains")
}

/// [`too_few_runs`] for a regressor over `features` named `what` (QuaDMix's parameters).
pub(crate) fn too_few_runs_for(runs: usize, features: usize, what: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    if runs < 4 * features {
        warnings.push(format!(
            "only {runs} proxy runs for {features} {what}: the regressor has little to learn from (RegMix fitted 512 runs for 17 domains); raise --proxies ([mixture] proxies in a pipeline file)"
        ));
    }
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    warnings
}

/// The file a search's regressor is written to.
pub const MODEL_FILE: &str = "model.json";

/// What a regressor fit needs besides the runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FitRequest<'a> {
    pub target: &'a str,
    pub regressor: RegressorKind,
    pub seed: u64,
}

/// Writes `runs.csv` into `dir` and fits the regressor on it (`model.json`).
pub(crate) fn fit_regressor(
    dir: &Path,
    request: FitRequest<'_>,
    domains: &[String],
    runs: &[RecordedRun],
) -> Result<RegressorModel> {
    let table = runs_table(domains, runs);
    let runs_table_path = dir.join(RUNS_TABLE);
    table.write(&runs_table_path)?;
    let inputs = BTreeMap::from([(format!("runs:{RUNS_TABLE}"), sha256_file(&runs_table_path)?)]);
    let fit = FitSettings {
        seed: request.seed,
        ..FitSettings::default()
    };
    let model = RegressorModel::fit(
        &table,
        request.target,
        request.regressor,
        &fit,
        true,
        inputs,
    )?;
    model.write(&dir.join(MODEL_FILE))?;
    Ok(model)
}

/// `domains.csv` in `dir`: the training tokens and documents of each domain (the search's
/// prior and epoch caps).
fn write_domain_tokens(dir: &Path, data: &ProxyDataManifest) -> Result<PathBuf> {
    let sizes = DomainSizes {
        domains: data
            .domains
            .iter()
            .map(|files| DomainSize {
                domain: files.domain.clone(),
                train_documents: files.train_documents,
                train_tokens: files.train_tokens,
                valid_documents: files.valid_documents,
                valid_tokens: files.valid_tokens,
            })
            .collect(),
    };
    let path = dir.join("domains.csv");
    sizes.write_csv(&path)?;
    Ok(path)
}

fn check_request(request: &ProxySearchRequest) -> Result<()> {
    if request.inputs.is_empty() {
        return Err(PipelineError::argument(
            "--input",
            "is missing: pass at least one",
        ));
    }
    if request.proxies < 2 {
        return Err(PipelineError::argument(
            format!("--proxies {}", request.proxies),
            "is too few: a regression needs at least 2 runs (RegMix used 512)",
        ));
    }
    if !(request.valid_fraction > 0.0 && request.valid_fraction < 1.0) {
        return Err(PipelineError::argument(
            format!("--valid-fraction {}", request.valid_fraction),
            "must be between 0 and 1",
        ));
    }
    if request.steps == 0 || request.batch_size == 0 || request.sequence_length < 2 {
        return Err(PipelineError::argument(
            "--steps, --batch-size, --sequence-length",
            "must be positive (the sequence length at least 2)",
        ));
    }
    Ok(())
}

pub(crate) fn check_target(target: &str, domains: &[String]) -> Result<()> {
    if target == MEAN_LOSS
        || target
            .strip_prefix(LOSS_PREFIX)
            .is_some_and(|d| domains.iter().any(|x| x == d))
    {
        return Ok(());
    }
    Err(PipelineError::argument(
        format!("--target `{target}`"),
        format!(
            "is not a target: expected `{MEAN_LOSS}` (mean held-out loss) or one of {}",
            domains
                .iter()
                .map(|d| format!("`{LOSS_PREFIX}{d}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_checked_against_the_domains() {
        let domains = vec!["web".to_string(), "code".to_string()];
        assert!(check_target("valid_loss", &domains).is_ok());
        assert!(check_target("loss/code", &domains).is_ok());
        let error = check_target("loss/math", &domains).unwrap_err().to_string();
        assert!(error.contains("`loss/web`"), "{error}");
    }

    #[test]
    fn long_training_documents_give_a_held_out_tail_and_short_ones_do_not() {
        let mut request = ProxySearchRequest::new(Vec::new(), PathBuf::from("out"));
        request.valid_fraction = 0.1;
        request.sequence_length = 128;
        // A book of 150k tokens gives its last 15k; a held-out book gives nothing extra.
        assert_eq!(proxy_data::held_out_tail(150_000, false, &request), 15_000);
        assert_eq!(proxy_data::held_out_tail(150_000, true, &request), 0);
        // A web page whose tenth is shorter than one window stays whole.
        assert_eq!(proxy_data::held_out_tail(1_000, false, &request), 0);
        assert_eq!(proxy_data::held_out_tail(1_290, false, &request), 129);
    }

    #[test]
    fn the_split_is_seeded_and_close_to_its_fraction() {
        let held_out = (0..10_000)
            .filter(|i| proxy_data::is_valid_document(&format!("doc-{i}"), 3, 0.1))
            .count();
        assert!((900..1100).contains(&held_out), "{held_out}");
        assert_eq!(
            proxy_data::is_valid_document("doc-7", 3, 0.1),
            proxy_data::is_valid_document("doc-7", 3, 0.1)
        );
    }
}
