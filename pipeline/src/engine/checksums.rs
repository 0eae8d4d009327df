//! The checksum list of a committed folder: `checksums.json` holds every file's relative
//! path, size and sha256, and is the last file written before the folder is committed. A
//! reused folder is checked against it file by file, so a flipped byte, a truncated or a
//! deleted file is named and the step recomputed rather than read. The step's measured
//! cost (`.cost.json`) is left out: it differs on every computation, only the report reads
//! it, and the list itself must be the same bytes for the same content.

use std::path::Path;

use blend_datasets::files::{sha256_file, write_atomic};
use serde::{Deserialize, Serialize};

use super::step_cost::COST_FILE;
use crate::{PipelineError, Result};

pub const CHECKSUMS_FILE: &str = "checksums.json";

/// One file of a folder as committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChecksum {
    /// Relative to the folder, `/`-separated.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Lists every file under `dir` (recursively, sorted by path) into `dir/checksums.json`.
pub fn write_checksums(dir: &Path) -> Result<()> {
    let mut files = Vec::new();
    collect_files(dir, "", &mut files)?;
    files.sort();
    let checksums = files
        .into_iter()
        .filter(|path| path != CHECKSUMS_FILE && path != COST_FILE)
        .map(|path| {
            let full = dir.join(&path);
            let bytes = std::fs::metadata(&full)
                .map_err(|e| PipelineError::io(&full, e))?
                .len();
            let sha256 = sha256_file(&full)?;
            Ok(FileChecksum {
                path,
                bytes,
                sha256,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut json = serde_json::to_string_pretty(&checksums).expect("checksums serialize");
    json.push('\n');
    write_atomic(&dir.join(CHECKSUMS_FILE), json.as_bytes())?;
    Ok(())
}

fn collect_files(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<()> {
    let here = dir.join(prefix);
    for entry in std::fs::read_dir(&here).map_err(|e| PipelineError::io(&here, e))? {
        let entry = entry.map_err(|e| PipelineError::io(&here, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry
            .file_type()
            .map_err(|e| PipelineError::io(entry.path(), e))?;
        if kind.is_dir() {
            collect_files(dir, &path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Checks every file `dir/checksums.json` lists; the error names the first file that is
/// missing or whose size or sha256 differs.
pub fn verify_checksums(dir: &Path) -> std::result::Result<(), String> {
    let list = dir.join(CHECKSUMS_FILE);
    let bytes = std::fs::read(&list).map_err(|e| {
        format!(
            "{}: cannot be read ({e}); a folder committed by this blend always has one",
            list.display()
        )
    })?;
    let checksums: Vec<FileChecksum> = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not a checksum list ({e})", list.display()))?;
    for file in &checksums {
        let path = dir.join(&file.path);
        let Ok(meta) = std::fs::metadata(&path) else {
            return Err(format!(
                "{}: missing, but {CHECKSUMS_FILE} lists it",
                path.display()
            ));
        };
        if meta.len() != file.bytes {
            return Err(format!(
                "{}: checksum differs from {CHECKSUMS_FILE} (size {} bytes, recorded {})",
                path.display(),
                meta.len(),
                file.bytes
            ));
        }
        let sha256 = sha256_file(&path).map_err(|e| e.to_string())?;
        if sha256 != file.sha256 {
            return Err(format!(
                "{}: checksum differs from {CHECKSUMS_FILE} (sha256 {}…, recorded {}…)",
                path.display(),
                &sha256[..12],
                &file.sha256[..file.sha256.len().min(12)]
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("manifest.json"), "{}").unwrap();
        std::fs::create_dir(dir.path().join("removed")).unwrap();
        std::fs::write(dir.path().join("removed/part-00000.parquet"), b"PAR1 rows").unwrap();
        std::fs::write(dir.path().join(COST_FILE), "{\"seconds\": 1.5}").unwrap();
        write_checksums(dir.path()).unwrap();
        dir
    }

    #[test]
    fn an_intact_folder_verifies_and_lists_nested_files() {
        let dir = folder();
        assert_eq!(verify_checksums(dir.path()), Ok(()));
        let listed = std::fs::read_to_string(dir.path().join(CHECKSUMS_FILE)).unwrap();
        assert!(listed.contains("removed/part-00000.parquet"), "{listed}");
        assert!(
            !listed.contains(COST_FILE),
            "measured costs differ every time: {listed}"
        );
    }

    #[test]
    fn a_flipped_byte_is_named() {
        let dir = folder();
        std::fs::write(dir.path().join("removed/part-00000.parquet"), b"PAR1 rowz").unwrap();
        let error = verify_checksums(dir.path()).unwrap_err();
        assert!(
            error.contains("part-00000.parquet: checksum differs") && error.contains("sha256"),
            "{error}"
        );
    }

    #[test]
    fn a_truncated_file_is_named() {
        let dir = folder();
        std::fs::write(dir.path().join("manifest.json"), "{").unwrap();
        let error = verify_checksums(dir.path()).unwrap_err();
        assert!(
            error.contains("manifest.json: checksum differs") && error.contains("size 1 bytes"),
            "{error}"
        );
    }

    #[test]
    fn a_deleted_file_is_named() {
        let dir = folder();
        std::fs::remove_file(dir.path().join("manifest.json")).unwrap();
        let error = verify_checksums(dir.path()).unwrap_err();
        assert!(error.contains("manifest.json: missing"), "{error}");
    }

    #[test]
    fn a_folder_without_its_list_does_not_verify() {
        let dir = folder();
        std::fs::remove_file(dir.path().join(CHECKSUMS_FILE)).unwrap();
        let error = verify_checksums(dir.path()).unwrap_err();
        assert!(error.contains("checksums.json: cannot be read"), "{error}");
    }
}
