//! `blend infer-mixture`: read one sample per category from a folder, replay a tokenizer's
//! merges over each, and solve for the category weights (see
//! `blend_mixers::bpe_inference`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow::array::{Array, StringArray};
use blend_datasets::document::TEXT_COLUMN;
use blend_datasets::read::{CorpusReader, InputSpec, ReadOptions};
use blend_kernels::SeededRng;
use blend_mixers::bpe_inference::{
    InferenceOptions, MergeList, MixtureEstimate, WordCounter, infer_weights, replay_categories,
};
use serde::Serialize;

use super::report::render_inference_report;
use crate::workflows::write_output;
use crate::{PipelineError, Progress, Result};

/// One category's sample text.
#[derive(Debug, Clone)]
pub struct CategoryText {
    pub name: String,
    pub texts: Vec<String>,
}

impl CategoryText {
    pub fn bytes(&self) -> u64 {
        self.texts.iter().map(|t| t.len() as u64).sum()
    }
}

/// What was read and replayed for one category.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryStats {
    pub name: String,
    pub documents: u64,
    pub bytes: u64,
    pub distinct_words: u64,
}

/// An inference and what went into it.
#[derive(Debug, Clone, Serialize)]
pub struct InferenceOutcome {
    pub tokenizer: PathBuf,
    /// Merges in the tokenizer (the first `estimate.merges` were used).
    pub tokenizer_merges: usize,
    pub categories: Vec<CategoryStats>,
    pub estimate: MixtureEstimate,
    pub count_seconds: f64,
    pub replay_seconds: f64,
}

/// Truncates `text` to at most `max` bytes at a character boundary.
pub fn truncate_at_char(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Reads every entry of `dir` (a file or a folder of .jsonl/.parquet/.txt files) as one
/// category named after it, in name order, keeping at most `max_bytes` of text each.
pub fn read_categories(dir: &Path, max_bytes: Option<u64>) -> Result<Vec<CategoryText>> {
    let entries = std::fs::read_dir(dir).map_err(|e| PipelineError::io(dir, e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| PipelineError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            paths.push(entry.path());
        }
    }
    paths.sort();
    if paths.len() < 2 {
        return Err(PipelineError::TooFewCategories {
            dir: dir.to_path_buf(),
            found: paths.len(),
        });
    }
    paths
        .iter()
        .map(|path| read_category(path, max_bytes))
        .collect()
}

/// One category from a file or folder; its name is the file stem or folder name. With
/// `max_bytes`, documents are drawn in a seeded random order (the same for the same input)
/// until the budget is reached, so every file of a folder is represented.
pub fn read_category(path: &Path, max_bytes: Option<u64>) -> Result<CategoryText> {
    let name = if path.is_dir() {
        path.file_name()
    } else {
        path.file_stem()
    }
    .map(|n| n.to_string_lossy().into_owned())
    .unwrap_or_else(|| path.display().to_string());
    let reader = CorpusReader::open(&[InputSpec::new(path)], ReadOptions::default())?;
    let mut all = Vec::new();
    reader.read(&mut |batch| {
        let column = batch
            .column_by_name(TEXT_COLUMN)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned());
        if let Some(column) = column {
            all.extend(
                column
                    .iter()
                    .flatten()
                    .filter(|t| !t.is_empty())
                    .map(str::to_string),
            );
        }
        Ok(())
    })?;
    if all.is_empty() {
        return Err(PipelineError::unreadable(
            path,
            "category sample",
            format!("category `{name}` has no text"),
        ));
    }
    let total: u64 = all.iter().map(|t| t.len() as u64).sum();
    let texts = match max_bytes {
        Some(limit) if total > limit => {
            let mut order: Vec<usize> = (0..all.len()).collect();
            SeededRng::for_stream(0, &format!("infer-mixture/{name}")).shuffle(&mut order);
            let mut left = limit as usize;
            let mut texts = Vec::new();
            for i in order {
                if left == 0 {
                    break;
                }
                let kept = truncate_at_char(&all[i], left);
                left -= kept.len();
                if !kept.is_empty() {
                    texts.push(kept.to_string());
                }
            }
            texts
        }
        _ => all,
    };
    Ok(CategoryText { name, texts })
}

/// Infers the weights of `categories` in the first `merges` merges of `merge_list`
/// (all of them when `None`).
pub fn infer_from_texts(
    merge_list: &MergeList,
    categories: &[CategoryText],
    merges: Option<usize>,
    options: &InferenceOptions,
    progress: &dyn Progress,
) -> Result<InferenceOutcome> {
    let used = merges
        .unwrap_or(merge_list.merges.len())
        .min(merge_list.merges.len());
    let merge_slice = &merge_list.merges[..used];

    let started = Instant::now();
    let count_task = progress.start(
        "counting words",
        Some(categories.iter().map(CategoryText::bytes).sum()),
        "bytes",
    );
    let mut samples = Vec::with_capacity(categories.len());
    for category in categories {
        let mut counter = WordCounter::default();
        for chunk in category.texts.chunks(1024) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            counter.add_texts(&refs, merge_list)?;
            count_task.advance(refs.iter().map(|t| t.len() as u64).sum());
        }
        samples.push(counter.finish(&category.name, merge_list));
    }
    count_task.finish("words counted");
    let stats: Vec<CategoryStats> = samples
        .iter()
        .map(|s| CategoryStats {
            name: s.name.clone(),
            documents: s.documents,
            bytes: s.bytes,
            distinct_words: s.words.len() as u64,
        })
        .collect();
    let count_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let replay_task = progress.start(
        "replaying merges",
        Some((used * categories.len()) as u64),
        "merges",
    );
    let last_reported = std::sync::Mutex::new(std::collections::HashMap::new());
    let logs = replay_categories(samples, merge_slice, &|done: usize| {
        // Each category reports its own running total; advance by the difference.
        let thread = std::thread::current().id();
        let mut seen = last_reported.lock().unwrap_or_else(|e| e.into_inner());
        let before = seen.insert(thread, done).unwrap_or(0);
        replay_task.advance(done.saturating_sub(before) as u64);
        if done == used {
            seen.remove(&thread);
        }
    });
    replay_task.finish("merges replayed");
    let replay_seconds = started.elapsed().as_secs_f64();

    let solve_task = progress.start("solving the LP", None, "rounds");
    let estimate = infer_weights(&logs, merge_slice, options, &|_, _| solve_task.advance(1))?;
    solve_task.finish("solved");
    Ok(InferenceOutcome {
        tokenizer: merge_list.path.clone(),
        tokenizer_merges: merge_list.merges.len(),
        categories: stats,
        estimate,
        count_seconds,
        replay_seconds,
    })
}

/// `blend infer-mixture`: one inference per tokenizer on the same category samples.
#[derive(Debug, Clone)]
pub struct InferRequest {
    pub tokenizers: Vec<PathBuf>,
    /// One file or folder per category.
    pub categories: PathBuf,
    pub merges: Option<usize>,
    pub max_bytes: Option<u64>,
    pub options: InferenceOptions,
    /// Where to write the HTML report, if anywhere.
    pub report: Option<PathBuf>,
}

/// Reads the categories once, infers each tokenizer's mixture, and writes the report.
pub fn infer_mixtures(
    request: &InferRequest,
    progress: &dyn Progress,
) -> Result<Vec<InferenceOutcome>> {
    let categories = read_categories(&request.categories, request.max_bytes)?;
    let mut outcomes = Vec::new();
    for tokenizer in &request.tokenizers {
        let merge_list = MergeList::from_file(tokenizer)?;
        outcomes.push(infer_from_texts(
            &merge_list,
            &categories,
            request.merges,
            &request.options,
            progress,
        )?);
    }
    if let Some(report) = &request.report {
        write_output(report, &render_inference_report(&outcomes))?;
    }
    Ok(outcomes)
}

/// `blend infer-mixture` for one tokenizer: the tokenizer at `tokenizer`, categories from
/// `dir`.
pub fn infer_mixture(
    tokenizer: &Path,
    dir: &Path,
    merges: Option<usize>,
    max_bytes: Option<u64>,
    options: &InferenceOptions,
    progress: &dyn Progress,
) -> Result<InferenceOutcome> {
    let merge_list = MergeList::from_file(tokenizer)?;
    let categories = read_categories(dir, max_bytes)?;
    infer_from_texts(&merge_list, &categories, merges, options, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate_at_char("héllo", 2), "h");
        assert_eq!(truncate_at_char("héllo", 3), "hé");
        assert_eq!(truncate_at_char("abc", 10), "abc");
    }

    #[test]
    fn categories_are_the_entries_of_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("web.jsonl"),
            "{\"id\":\"a\",\"text\":\"hello world\"}\n{\"id\":\"b\",\"text\":\"more words\"}\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("books")).unwrap();
        std::fs::write(dir.path().join("books/one.txt"), "a book").unwrap();
        std::fs::write(dir.path().join(".hidden"), "ignored").unwrap();
        let categories = read_categories(dir.path(), Some(15)).unwrap();
        let names: Vec<&str> = categories.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["books", "web"]);
        assert_eq!(categories[0].texts, vec!["a book"]);
        assert_eq!(categories[1].bytes(), 15, "the budget is filled exactly");
        assert!(
            categories[1]
                .texts
                .iter()
                .any(|t| t == "hello world" || t == "more words")
        );
        std::fs::write(dir.path().join("empty.jsonl"), "").unwrap();
        let error = read_categories(dir.path(), None).unwrap_err().to_string();
        assert!(
            error.contains("empty.jsonl") && error.contains("no text"),
            "{error}"
        );
    }
}
