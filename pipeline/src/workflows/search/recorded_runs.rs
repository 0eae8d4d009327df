//! The proxy runs of a search as they are kept: each finished run as `runs/run_NNNNN.json`
//! (written the moment it finishes, so a killed search trains only what is missing), the
//! settings they were made with in `search.json`, and all of them as one experiment table
//! (`runs.csv`, readable by `blend mix`).

use std::path::{Path, PathBuf};

use blend_datasets::files::{sha256_bytes, write_atomic};
use blend_mixers::ExperimentTable;
use blend_proxy_train::TrainSettings;

pub use crate::engine::mixture_summary::RecordedRun;
use serde::{Deserialize, Serialize};

use super::{LOSS_PREFIX, MEAN_LOSS};
use crate::{PipelineError, Result};

/// The settings a recorded run must share to be reused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct SearchState {
    pub blend: String,
    pub data_key: String,
    pub domains: Vec<String>,
    pub settings: TrainSettings,
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

/// Where a search keeps its runs: `dir/run_NNNNN.json`, and the settings they were made
/// with in `state_file`.
#[derive(Debug, Clone)]
pub struct RunsFolder {
    pub dir: PathBuf,
    pub state_file: PathBuf,
    /// Discard runs made with other settings instead of failing.
    pub restart: bool,
}

/// Recorded runs made with `state`'s settings. A state file with other settings is an
/// error unless the folder says to restart (then the old runs are removed).
pub(super) fn load_recorded_runs(
    folder: &RunsFolder,
    state: &SearchState,
) -> Result<Vec<RecordedRun>> {
    let (runs_dir, state_path) = (&folder.dir, &folder.state_file);
    let state_json = serde_json::to_string_pretty(state).expect("state serializes");
    if let Ok(previous) = std::fs::read_to_string(state_path) {
        let same = serde_json::from_str::<SearchState>(&previous).is_ok_and(|p| p == *state);
        if !same {
            if !folder.restart {
                return Err(PipelineError::RunsFromOtherSettings {
                    dir: runs_dir.clone(),
                    state: state_path.clone(),
                });
            }
            if runs_dir.exists() {
                std::fs::remove_dir_all(runs_dir).map_err(|e| PipelineError::io(runs_dir, e))?;
            }
        }
    }
    std::fs::create_dir_all(runs_dir).map_err(|e| PipelineError::io(runs_dir, e))?;
    write_atomic(state_path, state_json.as_bytes())?;
    let mut runs = Vec::new();
    let mut listed: Vec<PathBuf> = std::fs::read_dir(runs_dir)
        .map_err(|e| PipelineError::io(runs_dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("run_"))
        })
        .collect();
    listed.sort();
    let entries: Vec<PathBuf> = listed
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .cloned()
        .collect();
    warn_of_missing_runs(&listed, &entries);
    for path in entries {
        let text = std::fs::read(&path).map_err(|e| PipelineError::io(&path, e))?;
        if let Err(why) = check_run_checksum(&path, &text) {
            tracing::warn!("{why}; the run will be retrained");
            continue;
        }
        match serde_json::from_slice::<RecordedRun>(&text) {
            Ok(run) if run.domains == state.domains => runs.push(run),
            Ok(_) => tracing::warn!("{}: other domains; ignored", path.display()),
            Err(e) => tracing::warn!("{}: unreadable ({e}); it will be retrained", path.display()),
        }
    }
    Ok(runs)
}

/// A checksum without its run: the run was recorded, then its file deleted.
fn warn_of_missing_runs(listed: &[PathBuf], runs: &[PathBuf]) {
    for sidecar in listed
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sha256"))
    {
        let run = sidecar.with_extension("json");
        if !runs.contains(&run) {
            tracing::warn!(
                "{}: missing, but {} records it; the run will be retrained",
                run.display(),
                sidecar.display()
            );
        }
    }
}

/// The sha256 of a run file's bytes, kept beside it.
fn checksum_path(run_path: &Path) -> PathBuf {
    run_path.with_extension("sha256")
}

/// Writes `runs_dir/run_NNNNN.json`, then its checksum (a run without one is retrained).
pub(super) fn record_run(runs_dir: &Path, run: &RecordedRun) -> Result<()> {
    let path = runs_dir.join(format!("run_{:05}.json", run.run));
    let json = serde_json::to_string_pretty(run).expect("run serializes");
    write_atomic(&path, json.as_bytes())?;
    write_atomic(
        &checksum_path(&path),
        format!("{}\n", sha256_bytes(json.as_bytes())).as_bytes(),
    )?;
    Ok(())
}

fn check_run_checksum(path: &Path, bytes: &[u8]) -> std::result::Result<(), String> {
    let sidecar = checksum_path(path);
    let recorded = std::fs::read_to_string(&sidecar)
        .map_err(|e| format!("{}: cannot be read ({e})", sidecar.display()))?;
    if recorded.trim() != sha256_bytes(bytes) {
        return Err(format!(
            "{}: checksum differs from {}",
            path.display(),
            sidecar.display()
        ));
    }
    Ok(())
}
