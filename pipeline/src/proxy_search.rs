//! The closed loop behind `blend search`: tokenize the corpus into per-domain train/valid
//! streams, draw N mixtures with RegMix's sampler around the natural token shares, train a
//! proxy on each (in parallel), record the runs table, fit a regressor on the held-out loss,
//! search a million candidates, and write `mixture.json` and a report.
//!
//! Everything lands in one folder and the loop resumes: the token streams are reused when
//! their inputs and settings are unchanged, and every finished proxy is saved as
//! `runs/run_NNNNN.json` the moment it finishes, so a killed search trains only what is
//! missing. All proxies share one initialization and one batch stream seed (common random
//! numbers): their losses differ by their mixtures, not by luck of the draw.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, RecordBatch, StringArray};
use blend_datasets::files::{sha256_file, write_atomic};
use blend_datasets::read::{CorpusReader, InputSpec, ReadOptions};
use blend_datasets::{ID_COLUMN, SOURCE_COLUMN, TEXT_COLUMN};
use blend_kernels::SeededRng;
use blend_mixers::{
    ExperimentTable, FitSettings, Mixture, RegressorKind, RegressorModel, SamplerConfig,
    SearchSettings,
};
use blend_operators::operator::string_column;
use blend_proxy_train::parallel::{ProxyJob, train_proxies};
use blend_proxy_train::{
    DeviceChoice, Preset, ProxyData, ProxyDataManifest, ProxyDataWriter, ProxyOutcome,
    TrainSettings,
};
use serde::{Deserialize, Serialize};

use crate::config::TokenizerConfig;
use crate::mix::{SamplerOptions, SearchRequest, search_mixture};
use crate::progress::Progress;
use crate::read_stage::for_each_batch;
use crate::stage_cache::stage_hash;
use crate::tokenize::{
    LoadedTokenizer, TOKENIZER_FILE, encode_documents, load_tokenizer, train_bpe,
};
use crate::{BLEND_VERSION, PipelineError, Result};

pub const PROXY_DATA_DIR: &str = "proxy-data";
pub const RUNS_DIR: &str = "runs";
pub const RUNS_TABLE: &str = "runs.csv";
pub const SEARCH_STATE: &str = "search.json";
/// The default regression target: the mean held-out loss over domains.
pub const MEAN_LOSS: &str = "valid_loss";
pub const LOSS_PREFIX: &str = "loss/";

/// What `blend search` was asked to do.
#[derive(Debug, Clone)]
pub struct ProxySearchRequest {
    pub inputs: Vec<InputSpec>,
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
}

impl ProxySearchRequest {
    /// Defaults for everything but the inputs and the output folder.
    pub fn new(inputs: Vec<InputSpec>, out_dir: PathBuf) -> Self {
        Self {
            inputs,
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
        }
    }
}

/// One finished proxy run, as saved under `runs/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRun {
    pub run: usize,
    pub domains: Vec<String>,
    pub weights: Vec<f64>,
    pub outcome: ProxyOutcome,
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
    /// Natural token shares, in the mixture's domain order.
    pub natural: Vec<f64>,
    /// Things a user should know before trusting the mixture.
    pub warnings: Vec<String>,
}

/// The settings a recorded run must share to be reused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SearchState {
    blend: String,
    data_key: String,
    domains: Vec<String>,
    settings: TrainSettings,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PipelineError + '_ {
    move |e| PipelineError::io(path, e)
}

fn invalid(message: impl Into<String>) -> PipelineError {
    PipelineError::Invalid(message.into())
}

/// Runs the whole loop.
pub fn run_proxy_search(
    request: &ProxySearchRequest,
    progress: &dyn Progress,
) -> Result<ProxySearchOutcome> {
    check_request(request)?;
    std::fs::create_dir_all(&request.out_dir).map_err(io(&request.out_dir))?;
    let (data_manifest, data_reused) = prepare_proxy_data(request, progress)?;
    let data = ProxyData::read(&request.out_dir.join(PROXY_DATA_DIR))?;
    check_target(&request.target, &data.domains)?;
    let model_config = request
        .preset
        .config(data.vocab_size, request.sequence_length);
    let mut settings = TrainSettings::new(model_config, request.steps, request.seed);
    settings.batch_size = request.batch_size;
    settings.peak_lr = request.peak_lr;
    settings.device = request.device;
    for (domain, files) in data.domains.iter().zip(&data_manifest.domains) {
        let needed = (request.sequence_length + 1) as u64;
        if files.train_tokens < needed || files.valid_tokens < needed {
            return Err(invalid(format!(
                "domain `{domain}` has {} training and {} held-out tokens; a proxy needs at least {needed} of each (sequence length {} + 1): add documents, raise --valid-fraction, or lower --sequence-length",
                files.train_tokens, files.valid_tokens, request.sequence_length
            )));
        }
    }

    let train_tokens = data.train_tokens();
    let total: u64 = train_tokens.iter().sum();
    let natural: Vec<f64> = train_tokens
        .iter()
        .map(|&t| t as f64 / total as f64)
        .collect();
    let d = data.domains.len();
    let mixtures = SamplerConfig::regmix(natural.clone())
        .sample(request.proxies, request.seed)
        .map_err(|e| invalid(format!("sampling proxy mixtures: {e}")))?;

    let state = SearchState {
        blend: BLEND_VERSION.into(),
        data_key: data_manifest.key.clone(),
        domains: data.domains.clone(),
        settings: settings.clone(),
    };
    let runs_dir = request.out_dir.join(RUNS_DIR);
    let mut recorded = load_recorded_runs(request, &state, &runs_dir)?;
    recorded.retain(|run| {
        run.run < request.proxies
            && run
                .weights
                .iter()
                .zip(&mixtures[run.run * d..(run.run + 1) * d])
                .all(|(a, b)| (a - b).abs() < 1e-12)
    });
    let done: std::collections::BTreeSet<usize> = recorded.iter().map(|r| r.run).collect();
    let jobs: Vec<ProxyJob> = (0..request.proxies)
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
            settings.device.name()
        );
    }
    let bar = progress.start(
        "train proxies",
        Some((jobs.len() * settings.steps) as u64),
        "steps",
    );
    let fresh = std::sync::Mutex::new(Vec::new());
    train_proxies(
        &data,
        &jobs,
        &settings,
        request.parallel,
        &|_| bar.advance(1),
        &|job, outcome| {
            let run = RecordedRun {
                run: job.run,
                domains: data.domains.clone(),
                weights: job.weights.clone(),
                outcome: outcome.clone(),
            };
            let path = runs_dir.join(format!("run_{:05}.json", job.run));
            let json = serde_json::to_string_pretty(&run).expect("run serializes");
            write_atomic(&path, json.as_bytes()).map_err(|e| {
                blend_proxy_train::ProxyError::Config(format!("recording {}: {e}", path.display()))
            })?;
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

    let mut warnings = Vec::new();
    if recorded.len() < 4 * d {
        warnings.push(format!(
            "only {} proxy runs for {d} domains: the regressor has little to learn from (RegMix fitted 512 runs for 17 domains); raise --proxies",
            recorded.len()
        ));
    }
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    let table = runs_table(&data.domains, &recorded);
    let runs_table_path = request.out_dir.join(RUNS_TABLE);
    table.write(&runs_table_path)?;
    let inputs = BTreeMap::from([(
        format!("runs:{}", runs_table_path.display()),
        sha256_file(&runs_table_path)?,
    )]);
    let fit = FitSettings {
        seed: request.seed,
        ..FitSettings::default()
    };
    let model = RegressorModel::fit(
        &table,
        &request.target,
        request.regressor,
        &fit,
        true,
        inputs,
    )?;
    let model_path = request.out_dir.join("model.json");
    model.write(&model_path)?;

    let domains_path = request.out_dir.join("domains.csv");
    let mut domains_csv = String::from("domain,tokens,documents\n");
    for (domain, files) in data.domains.iter().zip(&data_manifest.domains) {
        domains_csv.push_str(&format!(
            "{},{},{}\n",
            csv_field(domain),
            files.train_tokens,
            files.train_documents
        ));
    }
    write_atomic(&domains_path, domains_csv.as_bytes())?;
    let result = search_mixture(
        &SearchRequest {
            model: model_path.clone(),
            settings: SearchSettings {
                seed: request.seed,
                ..request.search.clone()
            },
            sampler: SamplerOptions::default(),
            domain_tokens: Some(domains_path),
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
    Ok(ProxySearchOutcome {
        data: data_manifest,
        data_reused,
        settings,
        runs: recorded,
        trained,
        runs_table: runs_table_path,
        model,
        model_path,
        mixture,
        mixture_path,
        natural,
        warnings,
    })
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn check_request(request: &ProxySearchRequest) -> Result<()> {
    if request.inputs.is_empty() {
        return Err(invalid("no inputs: pass at least one --input"));
    }
    if request.proxies < 2 {
        return Err(invalid(format!(
            "--proxies {}: a regression needs at least 2 runs (RegMix used 512)",
            request.proxies
        )));
    }
    if !(request.valid_fraction > 0.0 && request.valid_fraction < 1.0) {
        return Err(invalid(format!(
            "--valid-fraction {} must be between 0 and 1",
            request.valid_fraction
        )));
    }
    if request.steps == 0 || request.batch_size == 0 || request.sequence_length < 2 {
        return Err(invalid(
            "--steps and --batch-size must be positive and --sequence-length at least 2",
        ));
    }
    Ok(())
}

fn check_target(target: &str, domains: &[String]) -> Result<()> {
    if target == MEAN_LOSS
        || target
            .strip_prefix(LOSS_PREFIX)
            .is_some_and(|d| domains.iter().any(|x| x == d))
    {
        return Ok(());
    }
    Err(invalid(format!(
        "--target `{target}`: expected `{MEAN_LOSS}` (mean held-out loss) or one of {}",
        domains
            .iter()
            .map(|d| format!("`{LOSS_PREFIX}{d}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// The runs as a one-table experiment: weights, then `valid_loss`, `loss/<domain>`…,
/// first and last training loss and tokens (no timings: same runs, same bytes).
pub fn runs_table(domains: &[String], runs: &[RecordedRun]) -> ExperimentTable {
    let mut metric_names = vec![MEAN_LOSS.to_string()];
    metric_names.extend(domains.iter().map(|d| format!("{LOSS_PREFIX}{d}")));
    metric_names.extend(["train_loss_first", "train_loss_last", "tokens"].map(String::from));
    let mut metrics = vec![Vec::with_capacity(runs.len()); metric_names.len()];
    for run in runs {
        let o = &run.outcome;
        let mut row = vec![o.mean_valid_loss()];
        row.extend(&o.valid_loss);
        row.extend([
            f64::from(o.first_train_loss()),
            f64::from(o.last_train_loss()),
            o.tokens as f64,
        ]);
        for (column, value) in metrics.iter_mut().zip(row) {
            column.push(value);
        }
    }
    ExperimentTable {
        run_ids: runs.iter().map(|r| r.run.to_string()).collect(),
        domains: domains.to_vec(),
        weights: runs.iter().flat_map(|r| r.weights.clone()).collect(),
        metric_names,
        metrics,
        origin: "blend search".into(),
    }
}

/// Recorded runs made with `state`'s settings. A state file with other settings is an
/// error unless the request says to restart (then the old runs are removed).
fn load_recorded_runs(
    request: &ProxySearchRequest,
    state: &SearchState,
    runs_dir: &Path,
) -> Result<Vec<RecordedRun>> {
    let state_path = request.out_dir.join(SEARCH_STATE);
    let state_json = serde_json::to_string_pretty(state).expect("state serializes");
    if let Ok(previous) = std::fs::read_to_string(&state_path) {
        let same = serde_json::from_str::<SearchState>(&previous).is_ok_and(|p| p == *state);
        if !same {
            if !request.restart {
                return Err(invalid(format!(
                    "{} holds proxy runs made with other data or settings ({}); pass --restart to discard them, or choose another --out",
                    request.out_dir.display(),
                    state_path.display()
                )));
            }
            if runs_dir.exists() {
                std::fs::remove_dir_all(runs_dir).map_err(io(runs_dir))?;
            }
        }
    }
    std::fs::create_dir_all(runs_dir).map_err(io(runs_dir))?;
    write_atomic(&state_path, state_json.as_bytes())?;
    let mut runs = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(runs_dir)
        .map_err(io(runs_dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        match serde_json::from_str::<RecordedRun>(&text) {
            Ok(run) if run.domains == state.domains => runs.push(run),
            Ok(_) => tracing::warn!("{}: other domains; ignored", path.display()),
            Err(e) => tracing::warn!("{}: unreadable ({e}); it will be retrained", path.display()),
        }
    }
    Ok(runs)
}

/// The domain of each row: `domain_column`, or `source` when that is `domain` and absent.
fn domain_values(batch: &RecordBatch, domain_column: &str) -> Result<StringArray> {
    let column = batch.column_by_name(domain_column).or_else(|| {
        (domain_column == "domain")
            .then(|| batch.column_by_name(SOURCE_COLUMN))
            .flatten()
    });
    let column = column.ok_or_else(|| {
        invalid(format!(
            "the inputs have no `{domain_column}` column (they have: {}); pass --domain-column",
            blend_operators::operator::column_names(batch)
        ))
    })?;
    let cast = arrow::compute::cast(column, &arrow::datatypes::DataType::Utf8)
        .map_err(|e| invalid(format!("domain column `{domain_column}`: {e}")))?;
    Ok(cast
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8")
        .clone())
}

fn string_values(batch: &RecordBatch, name: &str) -> Result<StringArray> {
    string_column("search", batch, name).map_err(|e| PipelineError::operator("search", e))
}

/// Whether the document `id` is held out.
fn is_valid_document(id: &str, seed: u64, fraction: f64) -> bool {
    SeededRng::for_stream(seed, &format!("proxy/split/{id}")).next_f64() < fraction
}

/// Writes (or reuses) `out/proxy-data`: the tokenizer, then every document's tokens in its
/// domain's train or valid stream.
fn prepare_proxy_data(
    request: &ProxySearchRequest,
    progress: &dyn Progress,
) -> Result<(ProxyDataManifest, bool)> {
    let reader = CorpusReader::open(&request.inputs, ReadOptions::default())?;
    let mut files = Vec::new();
    for file in reader.files() {
        let meta = std::fs::metadata(&file.path).map_err(io(&file.path))?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        files.push(serde_json::json!([
            file.path,
            meta.len(),
            modified.to_string()
        ]));
    }
    let tokenizer_sha = match &request.tokenizer.path {
        Some(path) => sha256_file(path)?,
        None => String::new(),
    };
    let key = stage_hash(&serde_json::json!({
        "blend": BLEND_VERSION,
        "files": files,
        "inputs": request.inputs,
        "domain_column": request.domain_column,
        "tokenizer": request.tokenizer,
        "tokenizer_sha256": tokenizer_sha,
        "valid_fraction": request.valid_fraction,
        "seed": request.seed,
    }));
    let dir = request.out_dir.join(PROXY_DATA_DIR);
    if let Ok(manifest) = ProxyDataManifest::read(&dir)
        && manifest.key == key
    {
        tracing::info!("reusing the proxy token streams in {}", dir.display());
        return Ok((manifest, true));
    }
    let tokenizer = proxy_tokenizer(request, &reader, progress)?;
    let mut writer = ProxyDataWriter::create(&dir, tokenizer.info.clone(), key)?;
    let bar = progress.start("tokenize", None, "docs");
    let mut write_batch = |batch: &RecordBatch| -> Result<()> {
        let texts = string_values(batch, TEXT_COLUMN)?;
        let ids = string_values(batch, ID_COLUMN)?;
        let domains = domain_values(batch, &request.domain_column)?;
        let text_refs: Vec<&str> = (0..texts.len())
            .map(|i| if texts.is_null(i) { "" } else { texts.value(i) })
            .collect();
        let tokens = encode_documents(&tokenizer, &text_refs, tokenizer.info.eos_id)?;
        for (row, tokens) in tokens.iter().enumerate() {
            let domain = if domains.is_null(row) {
                "unknown"
            } else {
                domains.value(row)
            };
            let valid = is_valid_document(ids.value(row), request.seed, request.valid_fraction);
            writer.add(domain, valid, tokens)?;
        }
        bar.advance(batch.num_rows() as u64);
        Ok(())
    };
    for_each_batch(&reader, &mut |batch| write_batch(batch))?;
    let manifest = writer.finish()?;
    bar.finish(&format!("{} domains", manifest.domains.len()));
    Ok((manifest, false))
}

/// The configured tokenizer, or a byte-level BPE trained on a seeded sample of the inputs
/// (`tokenizer.json` in the output folder).
fn proxy_tokenizer(
    request: &ProxySearchRequest,
    reader: &CorpusReader,
    progress: &dyn Progress,
) -> Result<LoadedTokenizer> {
    let config = &request.tokenizer;
    if let Some(path) = &config.path {
        return load_tokenizer(path, &config.eos_token, None);
    }
    let task = progress.start("train tokenizer", None, "docs");
    let mut total_bytes = 0u64;
    reader.read(&mut |batch| {
        if let Some(texts) = batch
            .column_by_name(TEXT_COLUMN)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        {
            total_bytes += texts.iter().flatten().map(|t| t.len() as u64).sum::<u64>();
        }
        Ok(())
    })?;
    let keep = (config.train_sample_bytes as f64 / total_bytes.max(1) as f64).min(1.0);
    let mut rng = SeededRng::for_stream(request.seed, "proxy/tokenizer-sample");
    let mut sample = Vec::new();
    reader.read(&mut |batch| {
        if let Some(texts) = batch
            .column_by_name(TEXT_COLUMN)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        {
            for text in texts.iter().flatten() {
                if rng.bernoulli(keep) {
                    sample.push(text.to_string());
                }
            }
        }
        Ok(())
    })?;
    if sample.is_empty() {
        return Err(invalid("the inputs hold no text to train a tokenizer on"));
    }
    let path = request.out_dir.join(TOKENIZER_FILE);
    tracing::info!(
        "training a {}-token BPE on {} documents for the proxies",
        config.vocab_size,
        sample.len()
    );
    train_bpe(&sample, config, &path)?;
    task.finish(&format!("{} documents", sample.len()));
    let name = format!("blend-proxy-bpe-{}", config.vocab_size);
    let mut loaded = load_tokenizer(&path, &config.eos_token, Some(name))?;
    loaded.trained = true;
    Ok(loaded)
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
    fn the_split_is_seeded_and_close_to_its_fraction() {
        let held_out = (0..10_000)
            .filter(|i| is_valid_document(&format!("doc-{i}"), 3, 0.1))
            .count();
        assert!((900..1100).contains(&held_out), "{held_out}");
        assert_eq!(
            is_valid_document("doc-7", 3, 0.1),
            is_valid_document("doc-7", 3, 0.1)
        );
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("web"), "web");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
