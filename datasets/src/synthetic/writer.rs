//! Writes a synthetic corpus to disk: Parquet parts (`id`, `text`, `source`) under
//! `corpus/`, and `ground_truth.jsonl` beside it (outside the corpus folder, so reading the
//! corpus folder never picks it up).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use serde::{Deserialize, Serialize};

use super::generator::{SyntheticConfig, SyntheticCorpus};
use crate::document::document_schema;
use crate::parquet_parts::{PartFile, PartWriter};
use crate::{DatasetError, Result};

pub const CORPUS_DIR: &str = "corpus";
pub const GROUND_TRUTH_FILE: &str = "ground_truth.jsonl";
/// Written last into `corpus/`: the config the corpus was made with (ignored by readers,
/// which skip names starting with `_`).
pub const CORPUS_MARKER: &str = "_corpus.json";

fn marker_json(config: &SyntheticConfig) -> String {
    serde_json::json!({
        "generator": format!("blend {}", env!("CARGO_PKG_VERSION")),
        "docs": config.docs,
        "seed": config.seed,
        "exact_duplicate_share": config.exact_duplicate_share,
        "near_duplicate_share": config.near_duplicate_share,
        "near_duplicate_edit_rates": config.near_duplicate_edit_rates,
        "junk_share": config.junk_share,
    })
    .to_string()
}

/// True when `out` already holds the complete corpus of `config`.
pub fn corpus_is_complete(config: &SyntheticConfig, out: &Path) -> bool {
    out.join(GROUND_TRUTH_FILE).is_file()
        && std::fs::read_to_string(out.join(CORPUS_DIR).join(CORPUS_MARKER))
            .is_ok_and(|m| m == marker_json(config))
}

/// What `write_corpus` wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WrittenCorpus {
    pub corpus_dir: PathBuf,
    pub ground_truth: PathBuf,
    pub documents: u64,
    pub text_bytes: u64,
    pub parts: Vec<PartFile>,
}

const DOCS_PER_BATCH: usize = 2000;

/// Generates the corpus of `config` into `out`. `on_progress` is called with the number of
/// documents written so far.
pub fn write_corpus(
    config: &SyntheticConfig,
    out: &Path,
    on_progress: &mut dyn FnMut(u64),
) -> Result<WrittenCorpus> {
    let corpus_dir = out.join(CORPUS_DIR);
    if corpus_dir.exists() {
        std::fs::remove_dir_all(&corpus_dir).map_err(|e| DatasetError::io(&corpus_dir, e))?;
    }
    std::fs::create_dir_all(&corpus_dir).map_err(|e| DatasetError::io(&corpus_dir, e))?;
    let truth_path = out.join(GROUND_TRUTH_FILE);
    let truth_tmp = out.join(format!("{GROUND_TRUTH_FILE}.tmp"));
    let truth_file =
        std::fs::File::create(&truth_tmp).map_err(|e| DatasetError::io(&truth_tmp, e))?;
    let mut truth_out = std::io::BufWriter::new(truth_file);
    let schema = document_schema(&[]);
    let mut parts = PartWriter::new(&corpus_dir, "part", schema.clone(), 100_000);
    let mut documents = 0u64;
    let mut text_bytes = 0u64;
    let mut ids = Vec::with_capacity(DOCS_PER_BATCH);
    let mut texts = Vec::with_capacity(DOCS_PER_BATCH);
    let mut sources = Vec::with_capacity(DOCS_PER_BATCH);
    let mut flush =
        |ids: &mut Vec<String>, texts: &mut Vec<String>, sources: &mut Vec<String>| -> Result<()> {
            if ids.is_empty() {
                return Ok(());
            }
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(std::mem::take(ids))),
                    Arc::new(StringArray::from(std::mem::take(texts))),
                    Arc::new(StringArray::from(std::mem::take(sources))),
                ],
            )
            .map_err(|e| DatasetError::arrow("building a synthetic batch", e))?;
            parts.write(&batch)
        };
    for doc in SyntheticCorpus::new(config.clone()) {
        serde_json::to_writer(&mut truth_out, &doc.truth)
            .map_err(|e| DatasetError::invalid(&truth_tmp, e.to_string()))?;
        truth_out
            .write_all(b"\n")
            .map_err(|e| DatasetError::io(&truth_tmp, e))?;
        documents += 1;
        text_bytes += doc.text.len() as u64;
        ids.push(doc.id);
        texts.push(doc.text);
        sources.push(doc.source);
        if ids.len() == DOCS_PER_BATCH {
            flush(&mut ids, &mut texts, &mut sources)?;
            on_progress(documents);
        }
    }
    flush(&mut ids, &mut texts, &mut sources)?;
    on_progress(documents);
    let parts = parts.finish()?;
    truth_out
        .flush()
        .map_err(|e| DatasetError::io(&truth_tmp, e))?;
    drop(truth_out);
    std::fs::rename(&truth_tmp, &truth_path).map_err(|e| DatasetError::io(&truth_path, e))?;
    crate::files::write_atomic(
        &corpus_dir.join(CORPUS_MARKER),
        marker_json(config).as_bytes(),
    )?;
    Ok(WrittenCorpus {
        corpus_dir,
        ground_truth: truth_path,
        documents,
        text_bytes,
        parts,
    })
}

/// Reads `ground_truth.jsonl`.
pub fn read_ground_truth(path: &Path) -> Result<Vec<super::GroundTruth>> {
    let text = std::fs::read_to_string(path).map_err(|e| DatasetError::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line).map_err(|e| DatasetError::BadLine {
                path: path.to_path_buf(),
                line: index as u64 + 1,
                message: e.to_string(),
            })
        })
        .collect()
}
