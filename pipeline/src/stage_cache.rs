//! Stage folders: `work/<stage>-<hash>/` where the hash covers blend's version, the
//! operator, its parameters and the upstream stage's hash. A stage is written into a
//! temporary folder and renamed into place with its manifest already inside, so a folder
//! with a manifest is always complete; one whose manifest verifies is reused.

use std::path::{Path, PathBuf};

use blend_datasets::files::{sha256_bytes, write_atomic};
use blend_datasets::parquet_parts::{PartFile, verify_parts};
use blend_operators::FilterStats;
use serde::{Deserialize, Serialize};

use crate::{PipelineError, Result};

pub const STAGE_MANIFEST: &str = "manifest.json";

/// What a finished stage folder holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageManifest {
    pub stage: String,
    pub operator: String,
    pub params: serde_json::Value,
    pub upstream: String,
    pub hash: String,
    pub blend_version: String,
    pub rows_in: u64,
    pub rows_out: u64,
    pub text_bytes_in: u64,
    pub text_bytes_out: u64,
    pub parts: Vec<PartFile>,
    /// Rows a filter removed, with `removed_by` (when `keep_removed`).
    #[serde(default)]
    pub removed_parts: Vec<PartFile>,
    #[serde(default)]
    pub filter: Option<FilterStats>,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// What a multi-pass operator found (e.g. `dedup.minhash`'s clusters and LSH figures).
    #[serde(default)]
    pub operator_summary: Option<serde_json::Value>,
}

/// A stable short hash of a JSON value (sha256, first 16 hex characters).
pub fn stage_hash(key: &serde_json::Value) -> String {
    sha256_bytes(key.to_string().as_bytes())[..16].to_string()
}

pub fn stage_dir(work_dir: &Path, stage: &str, hash: &str) -> PathBuf {
    work_dir.join(format!("{stage}-{hash}"))
}

/// The manifest of `dir` if it exists and every file it lists is intact.
pub fn load_verified(dir: &Path) -> Option<StageManifest> {
    let bytes = std::fs::read(dir.join(STAGE_MANIFEST)).ok()?;
    let manifest: StageManifest = serde_json::from_slice(&bytes).ok()?;
    match verify_parts(dir, &manifest.parts)
        .and_then(|()| verify_parts(&dir.join("removed"), &manifest.removed_parts))
    {
        Ok(()) => Some(manifest),
        Err(error) => {
            tracing::warn!(
                "{}: cached stage does not verify ({error}); recomputing",
                dir.display()
            );
            None
        }
    }
}

/// A stage being written: files go into `tmp`, and `commit` moves them to `dir`.
#[derive(Debug)]
pub struct PendingStage {
    pub dir: PathBuf,
    pub tmp: PathBuf,
}

impl PendingStage {
    pub fn begin(dir: PathBuf) -> Result<Self> {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = dir.parent().map(Path::to_path_buf).unwrap_or_default();
        let tmp = parent.join(format!(".tmp-{name}-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| PipelineError::io(&tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| PipelineError::io(&tmp, e))?;
        Ok(Self { dir, tmp })
    }

    /// Writes `manifest_json` inside and renames the folder into place.
    pub fn commit(self, manifest_json: &str) -> Result<PathBuf> {
        write_atomic(&self.tmp.join(STAGE_MANIFEST), manifest_json.as_bytes())?;
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir).map_err(|e| PipelineError::io(&self.dir, e))?;
        }
        std::fs::rename(&self.tmp, &self.dir).map_err(|e| PipelineError::io(&self.dir, e))?;
        Ok(self.dir)
    }

    /// Removes the temporary folder (after a failure).
    pub fn abandon(self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// Removes temporary folders that killed runs left in `work_dir`.
pub fn clean_stale_tmp(work_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(work_dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(".tmp-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable_and_sensitive() {
        let a = stage_hash(&serde_json::json!({"op": "normalize", "p": 1}));
        assert_eq!(
            a,
            stage_hash(&serde_json::json!({"op": "normalize", "p": 1}))
        );
        assert_ne!(
            a,
            stage_hash(&serde_json::json!({"op": "normalize", "p": 2}))
        );
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn uncommitted_stage_is_not_trusted() {
        let work = tempfile::tempdir().unwrap();
        let dir = stage_dir(work.path(), "s", "abc");
        let pending = PendingStage::begin(dir.clone()).unwrap();
        std::fs::write(pending.tmp.join("part-00000.parquet"), b"x").unwrap();
        assert!(load_verified(&dir).is_none());
        clean_stale_tmp(work.path());
        assert!(!pending.tmp.exists());
    }
}
