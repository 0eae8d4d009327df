//! The first stage: read the configured inputs into Parquet parts of the document schema.
//! Its cache key ([`ReadKey`]) covers the input specs and each file's path, size and
//! modification time.
//! Records that cannot be read stop the run, or with `on_error = "quarantine"` are listed
//! in `rejected.jsonl` with their reason.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use blend_datasets::parquet_parts::PartWriter;
use blend_datasets::read::{CorpusReader, InputSpec, OnError, ReadOptions, RejectedRecord};
use serde::{Deserialize, Serialize};

use super::cache::{CacheKey, FileFingerprint, StageManifest, cached, stage_dir};
use super::config::PipelineConfig;
use super::step_cost::StepCost;
use crate::progress::Progress;
use crate::{BLEND_VERSION, PipelineError, Result};

pub const READ_STAGE: &str = "read";
pub const REJECTED_FILE: &str = "rejected.jsonl";

/// What the read stage saw, beyond row counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReadReport {
    pub files: Vec<PathBuf>,
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// The first rejected records (all are in `rejected.jsonl`).
    pub rejected_samples: Vec<RejectedRecord>,
}

/// A finished read stage.
#[derive(Debug, Clone)]
pub struct ReadOutcome {
    pub dir: PathBuf,
    pub manifest: StageManifest,
    pub report: ReadReport,
    pub cached: bool,
    pub cost: Option<StepCost>,
}

/// What the read stage's output depends on.
#[derive(Debug, Serialize)]
struct ReadKey<'a> {
    blend: &'a str,
    stage: &'a str,
    inputs: &'a [InputSpec],
    files: Vec<FileFingerprint>,
    on_error: OnError,
    batch_rows: usize,
    rows_per_part: u64,
}

pub fn run_read(config: &PipelineConfig, progress: &dyn Progress) -> Result<ReadOutcome> {
    let options = ReadOptions {
        on_error: config.pipeline.on_error,
        batch_rows: config.pipeline.batch_rows,
    };
    let reader = CorpusReader::open(&config.inputs, options)?;
    let files: Vec<PathBuf> = reader.files().iter().map(|f| f.path.clone()).collect();
    let key = CacheKey::new(&ReadKey {
        blend: BLEND_VERSION,
        stage: READ_STAGE,
        inputs: &config.inputs,
        files: files
            .iter()
            .map(|path| FileFingerprint::of(path))
            .collect::<Result<_>>()?,
        on_error: config.pipeline.on_error,
        batch_rows: config.pipeline.batch_rows,
        rows_per_part: config.pipeline.rows_per_part,
    });
    let dir = stage_dir(&config.pipeline.work_dir, READ_STAGE, &key);
    let settings = (config.pipeline.on_error, config.pipeline.rows_per_part);
    let step = cached(dir, &key, |tmp| {
        write_read_stage(&reader, tmp, &key, &files, settings, progress)
    })?;
    let report = read_report(&step.dir, files)?;
    Ok(ReadOutcome {
        dir: step.dir,
        manifest: step.output,
        report,
        cached: step.reused,
        cost: step.cost,
    })
}

fn write_read_stage(
    reader: &CorpusReader,
    dir: &Path,
    key: &CacheKey,
    files: &[PathBuf],
    (on_error, rows_per_part): (OnError, u64),
    progress: &dyn Progress,
) -> Result<StageManifest> {
    let total_bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let task = progress.start("read", None, "docs");
    let mut parts = PartWriter::new(dir, "part", reader.schema(), rows_per_part);
    let mut sink = |batch: RecordBatch| {
        task.advance(batch.num_rows() as u64);
        parts.write(&batch)
    };
    let summary = reader.read(&mut sink)?;
    let parts = parts.finish()?;
    task.finish(&format!(
        "{} documents from {} files ({total_bytes} bytes)",
        summary.documents, summary.files
    ));
    let rejected_path = dir.join(REJECTED_FILE);
    let mut rejected_out = std::io::BufWriter::new(
        std::fs::File::create(&rejected_path).map_err(|e| PipelineError::io(&rejected_path, e))?,
    );
    for record in &summary.rejected {
        serde_json::to_writer(&mut rejected_out, record).expect("record serializes");
        rejected_out
            .write_all(b"\n")
            .map_err(|e| PipelineError::io(&rejected_path, e))?;
    }
    rejected_out
        .flush()
        .map_err(|e| PipelineError::io(&rejected_path, e))?;
    let mut warnings = Vec::new();
    if !summary.rejected.is_empty() {
        warnings.push(format!(
            "{} records could not be read and were quarantined (see {REJECTED_FILE})",
            summary.rejected.len()
        ));
    }
    let rows_in = summary.documents + summary.rejected.len() as u64;
    Ok(StageManifest {
        stage: READ_STAGE.into(),
        operator: READ_STAGE.into(),
        params: serde_json::json!({ "on_error": on_error }),
        upstream: String::new(),
        hash: key.hash().to_string(),
        blend_version: BLEND_VERSION.into(),
        rows_in,
        rows_out: summary.documents,
        text_bytes_in: summary.text_bytes,
        text_bytes_out: summary.text_bytes,
        parts,
        removed_parts: Vec::new(),
        filter: None,
        warnings,
        operator_summary: None,
    })
}

fn build_report(files: Vec<PathBuf>, rejected: &[RejectedRecord]) -> ReadReport {
    let mut rejected_by_reason = BTreeMap::new();
    for record in rejected {
        *rejected_by_reason.entry(record.reason.clone()).or_insert(0) += 1;
    }
    ReadReport {
        files,
        rejected_by_reason,
        rejected_samples: rejected.iter().take(20).cloned().collect(),
    }
}

fn read_report(dir: &Path, files: Vec<PathBuf>) -> Result<ReadReport> {
    let path = dir.join(REJECTED_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| PipelineError::io(&path, e))?;
    let rejected = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .map_err(|e| PipelineError::unreadable(&path, "list of rejected records", e))
        })
        .collect::<Result<Vec<RejectedRecord>>>()?;
    Ok(build_report(files, &rejected))
}

/// Streams every batch of `reader` through `visit`, stopping at `visit`'s first error,
/// which is returned as it is.
pub fn for_each_batch(
    reader: &CorpusReader,
    visit: &mut dyn FnMut(&RecordBatch) -> Result<()>,
) -> Result<()> {
    let mut failure = None;
    let read = reader.read(&mut |batch| {
        visit(&batch).map_err(|e| {
            let message = e.to_string();
            failure = Some(e);
            // Stops the reader; `failure` is what the caller gets.
            blend_datasets::DatasetError::Invalid {
                path: PathBuf::from("batch visitor"),
                message,
            }
        })
    });
    if let Some(error) = failure {
        return Err(error);
    }
    read?;
    Ok(())
}
