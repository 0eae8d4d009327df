//! `blend bpe-eval`: the known-mixture evaluation of BPE mixture inference (Hayase et al.,
//! §4). For each trial: pick `n` categories of a pool, draw weights α from a uniform
//! Dirichlet, train a byte-level BPE tokenizer on text mixed by α, then infer α from the
//! tokenizer's merges and *held-out* text of each category, and score log10 of the mean
//! squared error. A random guess (another uniform Dirichlet draw) is scored beside it.
//!
//! Pools come from the shared corpora folder: natural languages (Tatoeba + UDHR by `lang`),
//! English domains (one per corpus family) and programming languages (by file extension).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Instant;

use blend_kernels::SeededRng;
use blend_mixers::bpe_inference::{InferenceOptions, MergeList};
use serde::Serialize;

use super::infer::{CategoryText, infer_from_texts, truncate_at_char};
use super::report::render_eval_report;
use crate::engine::config::TokenizerConfig;
use crate::engine::tokenizer::train_bpe_json;
use crate::workflows::write_output;
use crate::{NoProgress, PipelineError, Progress, Result};

/// A pool of categories to draw trials from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CategoryPool {
    /// Natural languages: Tatoeba sentences and UDHR translations grouped by `lang`.
    Languages,
    /// English domains: wiki, books, web, math, qa, chat, code.
    Domains,
    /// Programming languages by file extension: python, c, cuda.
    Code,
}

impl CategoryPool {
    pub fn name(self) -> &'static str {
        match self {
            Self::Languages => "languages",
            Self::Domains => "domains",
            Self::Code => "code",
        }
    }
}

impl std::str::FromStr for CategoryPool {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text {
            "languages" => Ok(Self::Languages),
            "domains" => Ok(Self::Domains),
            "code" => Ok(Self::Code),
            other => Err(format!(
                "unknown pool `{other}`; expected languages, domains or code"
            )),
        }
    }
}

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvalRequest {
    /// The shared corpora folder (`../shared/data/corpora`).
    pub corpora: PathBuf,
    pub pool: CategoryPool,
    /// Categories per trial.
    pub categories: usize,
    pub trials: usize,
    /// Merges the tokenizers learn (fewer when the text runs out of pairs).
    pub merges: usize,
    /// At most this much training text per tokenizer.
    pub train_bytes: u64,
    /// At most this much held-out text per category for inference.
    pub sample_bytes: u64,
    /// Languages kept in the language pool (those with the most text).
    pub languages: usize,
    pub seed: u64,
    pub options: InferenceOptions,
}

impl EvalRequest {
    pub fn new(corpora: PathBuf, pool: CategoryPool, categories: usize) -> Self {
        Self {
            corpora,
            pool,
            categories,
            trials: 20,
            merges: 3000,
            train_bytes: 8 << 20,
            sample_bytes: 2 << 20,
            languages: 20,
            seed: 0,
            options: InferenceOptions::default(),
        }
    }
}

/// One trial.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    pub categories: Vec<String>,
    pub truth: Vec<f64>,
    pub estimate: Vec<f64>,
    pub random_guess: Vec<f64>,
    pub log10_mse: f64,
    pub random_log10_mse: f64,
    pub train_bytes: u64,
    pub merges: usize,
    pub constraints: usize,
    pub train_seconds: f64,
    /// Word counting, merge replay and the LP.
    pub infer_seconds: f64,
}

/// A whole evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub pool: CategoryPool,
    pub pool_categories: Vec<String>,
    pub categories: usize,
    pub trials: Vec<Trial>,
    pub mean_log10_mse: f64,
    pub mean_random_log10_mse: f64,
    pub mean_infer_seconds: f64,
    pub seed: u64,
}

fn read_jsonl(path: &Path, each: &mut dyn FnMut(&serde_json::Value) -> Result<()>) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| PipelineError::io(path, e))?;
    for (line_number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| PipelineError::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&line).map_err(|e| {
            PipelineError::unreadable(
                path,
                "JSONL corpus",
                format!("line {}: {e}", line_number + 1),
            )
        })?;
        each(&value)?;
    }
    Ok(())
}

/// Texts of `files` (relative to `corpora`) grouped by `key(record)`; records whose key is
/// `None` are skipped.
fn group_texts(
    corpora: &Path,
    files: &[&str],
    key: &dyn Fn(&str, &serde_json::Value) -> Option<String>,
) -> Result<BTreeMap<String, Vec<String>>> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in files {
        let path = corpora.join(file);
        read_jsonl(&path, &mut |record| {
            let Some(text) = record["text"].as_str() else {
                return Err(PipelineError::column(
                    path.display().to_string(),
                    "text",
                    "is missing or not a string in a record",
                ));
            };
            if !text.trim().is_empty()
                && let Some(group) = key(file, record)
            {
                groups.entry(group).or_default().push(text.to_string());
            }
            Ok(())
        })?;
    }
    Ok(groups)
}

/// The categories of `pool`, each with all its text.
pub fn load_pool(
    corpora: &Path,
    pool: CategoryPool,
    languages: usize,
) -> Result<Vec<CategoryText>> {
    let groups = match pool {
        CategoryPool::Languages => {
            let mut groups = group_texts(
                corpora,
                &["multilingual_tatoeba.jsonl", "multilingual_udhr.jsonl"],
                &|_, record| {
                    record["lang"]
                        .as_str()
                        .filter(|lang| *lang != "und")
                        .map(str::to_string)
                },
            )?;
            let mut by_size: Vec<(u64, String)> = groups
                .iter()
                .map(|(lang, texts)| (texts.iter().map(|t| t.len() as u64).sum(), lang.clone()))
                .collect();
            by_size.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let keep: Vec<String> = by_size
                .into_iter()
                .take(languages)
                .map(|(_, l)| l)
                .collect();
            groups.retain(|lang, _| keep.contains(lang));
            groups
        }
        CategoryPool::Domains => group_texts(
            corpora,
            &[
                "wiki_wt103.jsonl",
                "books_gutenberg.jsonl",
                "web_dclm_quality.jsonl",
                "web_dolma_cc.jsonl",
                "math_gsm8k.jsonl",
                "qa_llm_foundry.jsonl",
                "chat_alpaca_eval.jsonl",
                "chat_hh_rlhf_harmless.jsonl",
                "code_python_ruff.jsonl",
                "code_c_cuda_llmc.jsonl",
            ],
            &|file, _| Some(file.split('_').next().unwrap_or(file).to_string()),
        )?,
        CategoryPool::Code => group_texts(
            corpora,
            &["code_python_ruff.jsonl", "code_c_cuda_llmc.jsonl"],
            &|_, record| {
                let path = record["path"].as_str()?;
                let extension = path.rsplit_once('.')?.1;
                match extension {
                    "py" | "pyi" => Some("python".into()),
                    "c" | "h" => Some("c".into()),
                    "cu" | "cuh" => Some("cuda".into()),
                    _ => None,
                }
            },
        )?,
    };
    Ok(groups
        .into_iter()
        .map(|(name, texts)| CategoryText { name, texts })
        .collect())
}

/// Splits a category's documents into training and held-out halves (seeded, by document;
/// a single document is cut in the middle).
fn split_train_heldout(category: &CategoryText, seed: u64) -> (Vec<String>, Vec<String>) {
    if category.texts.len() == 1 {
        let text = &category.texts[0];
        let middle = truncate_at_char(text, text.len() / 2).len();
        return (
            vec![text[..middle].to_string()],
            vec![text[middle..].to_string()],
        );
    }
    let mut order: Vec<usize> = (0..category.texts.len()).collect();
    SeededRng::for_stream(seed, &format!("bpe-eval/split/{}", category.name)).shuffle(&mut order);
    let (mut train, mut heldout) = (Vec::new(), Vec::new());
    for (k, &i) in order.iter().enumerate() {
        if k % 2 == 0 {
            train.push(category.texts[i].clone());
        } else {
            heldout.push(category.texts[i].clone());
        }
    }
    (train, heldout)
}

/// Up to `bytes` of `texts`, in order, the last one cut at a character boundary.
fn take_bytes(texts: &[String], bytes: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut left = bytes as usize;
    for text in texts {
        if left == 0 {
            break;
        }
        let kept = truncate_at_char(text, left);
        left -= kept.len();
        if !kept.is_empty() {
            out.push(kept.to_string());
        }
    }
    out
}

fn bytes_of(texts: &[String]) -> u64 {
    texts.iter().map(|t| t.len() as u64).sum()
}

/// A uniform draw from the simplex (Dirichlet with all concentrations 1).
pub fn uniform_simplex(rng: &mut SeededRng, n: usize) -> Vec<f64> {
    let draws: Vec<f64> = (0..n)
        .map(|_| -(1.0 - rng.next_f64()).max(f64::MIN_POSITIVE).ln())
        .collect();
    let total: f64 = draws.iter().sum();
    draws.iter().map(|d| d / total).collect()
}

/// log10 of the mean squared error between two weight vectors.
pub fn log10_mse(estimate: &[f64], truth: &[f64]) -> f64 {
    let mse = estimate
        .iter()
        .zip(truth)
        .map(|(e, t)| (e - t).powi(2))
        .sum::<f64>()
        / truth.len() as f64;
    mse.max(1e-300).log10()
}

/// Runs the evaluation; `progress` gets one unit per trial.
pub fn evaluate_inference(request: &EvalRequest, progress: &dyn Progress) -> Result<EvalReport> {
    let pool = load_pool(&request.corpora, request.pool, request.languages)?;
    if pool.len() < request.categories || request.categories < 2 {
        return Err(PipelineError::PoolTooSmall {
            pool: request.pool.name(),
            found: pool.iter().map(|c| c.name.clone()).collect(),
            needed: request.categories,
        });
    }
    let halves: Vec<(Vec<String>, Vec<String>)> = pool
        .iter()
        .map(|c| split_train_heldout(c, request.seed))
        .collect();
    let task = progress.start(
        &format!("bpe-eval {} n={}", request.pool.name(), request.categories),
        Some(request.trials as u64),
        "trials",
    );
    let mut trials = Vec::with_capacity(request.trials);
    for trial in 0..request.trials {
        let mut rng = SeededRng::for_stream(request.seed, &format!("bpe-eval/trial/{trial}"));
        let mut chosen: Vec<usize> = (0..pool.len()).collect();
        rng.shuffle(&mut chosen);
        chosen.truncate(request.categories);
        chosen.sort_unstable();
        let truth = uniform_simplex(&mut rng, request.categories);
        let random_guess = uniform_simplex(&mut rng, request.categories);

        // The most text the tokenizer can train on with every category at its weight.
        let budget = chosen
            .iter()
            .zip(&truth)
            .map(|(&c, &w)| bytes_of(&halves[c].0) as f64 / w)
            .fold(request.train_bytes as f64, f64::min);
        let mut training = Vec::new();
        for (&c, &w) in chosen.iter().zip(&truth) {
            training.extend(take_bytes(&halves[c].0, (budget * w).floor() as u64));
        }
        let train_bytes = bytes_of(&training);
        let started = Instant::now();
        let config = TokenizerConfig {
            path: None,
            vocab_size: 256 + request.merges + 1,
            min_frequency: 2,
            train_sample_bytes: train_bytes,
            eos_token: "<|endoftext|>".into(),
        };
        let json = train_bpe_json(&training, &config)
            .map_err(|e| PipelineError::Tokenizer(format!("training trial {trial}: {e}")))?;
        let train_seconds = started.elapsed().as_secs_f64();
        let label = PathBuf::from(format!("<trial {trial} tokenizer>"));
        let merge_list = MergeList::from_json(&json, &label)?;

        let samples: Vec<CategoryText> = chosen
            .iter()
            .map(|&c| CategoryText {
                name: pool[c].name.clone(),
                texts: take_bytes(&halves[c].1, request.sample_bytes),
            })
            .collect();
        let started = Instant::now();
        let outcome = infer_from_texts(&merge_list, &samples, None, &request.options, &NoProgress)?;
        let infer_seconds = started.elapsed().as_secs_f64();
        let estimate = outcome.estimate.weights;
        trials.push(Trial {
            categories: samples.iter().map(|s| s.name.clone()).collect(),
            log10_mse: log10_mse(&estimate, &truth),
            random_log10_mse: log10_mse(&random_guess, &truth),
            truth,
            estimate,
            random_guess,
            train_bytes,
            merges: merge_list.merges.len(),
            constraints: outcome.estimate.constraints,
            train_seconds,
            infer_seconds,
        });
        task.advance(1);
    }
    task.finish("evaluated");
    let mean = |f: &dyn Fn(&Trial) -> f64| trials.iter().map(f).sum::<f64>() / trials.len() as f64;
    Ok(EvalReport {
        pool: request.pool,
        pool_categories: pool.iter().map(|c| c.name.clone()).collect(),
        categories: request.categories,
        mean_log10_mse: mean(&|t| t.log10_mse),
        mean_random_log10_mse: mean(&|t| t.random_log10_mse),
        mean_infer_seconds: mean(&|t| t.infer_seconds),
        seed: request.seed,
        trials,
    })
}

/// `blend bpe-eval`: every pool × category count of `base`'s settings.
#[derive(Debug, Clone)]
pub struct EvalGridRequest {
    /// Settings shared by every evaluation (its pool and category count are replaced).
    pub base: EvalRequest,
    pub pools: Vec<CategoryPool>,
    pub categories: Vec<usize>,
    /// Where to write the HTML report, if anywhere.
    pub report: Option<PathBuf>,
}

/// The evaluations run, and why the others were skipped (a pool smaller than the count).
#[derive(Debug, Clone, Serialize)]
pub struct EvalGrid {
    pub reports: Vec<EvalReport>,
    pub skipped: Vec<String>,
}

/// Evaluates every pool with every category count (skipping counts a pool cannot fill) and
/// writes the report.
pub fn evaluate_grid(request: &EvalGridRequest, progress: &dyn Progress) -> Result<EvalGrid> {
    let mut grid = EvalGrid {
        reports: Vec::new(),
        skipped: Vec::new(),
    };
    for &pool in &request.pools {
        for &categories in &request.categories {
            let evaluation = EvalRequest {
                pool,
                categories,
                ..request.base.clone()
            };
            match evaluate_inference(&evaluation, progress) {
                Ok(report) => grid.reports.push(report),
                Err(error @ PipelineError::PoolTooSmall { .. }) => {
                    grid.skipped.push(error.to_string())
                }
                Err(error) => return Err(error),
            }
        }
    }
    if let Some(report) = &request.report {
        write_output(report, &render_eval_report(&grid.reports))?;
    }
    Ok(grid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplex_draws_sum_to_one_and_are_seeded() {
        let a = uniform_simplex(&mut SeededRng::new(3), 5);
        let b = uniform_simplex(&mut SeededRng::new(3), 5);
        assert_eq!(a, b);
        assert!((a.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(a.iter().all(|&w| w > 0.0));
    }

    #[test]
    fn log10_mse_of_known_vectors() {
        assert!((log10_mse(&[0.5, 0.5], &[0.6, 0.4]) - (0.01f64).log10()).abs() < 1e-12);
    }

    #[test]
    fn halves_are_disjoint_and_cover_the_documents() {
        let category = CategoryText {
            name: "x".into(),
            texts: (0..9).map(|i| format!("doc {i}")).collect(),
        };
        let (train, heldout) = split_train_heldout(&category, 1);
        assert_eq!(train.len() + heldout.len(), 9);
        assert!(train.iter().all(|t| !heldout.contains(t)));
        let single = CategoryText {
            name: "y".into(),
            texts: vec!["abcdéf".into()],
        };
        let (train, heldout) = split_train_heldout(&single, 1);
        assert_eq!(format!("{}{}", train[0], heldout[0]), "abcdéf");
    }
}
