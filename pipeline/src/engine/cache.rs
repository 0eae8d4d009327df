//! The cache every pipeline step goes through. A step is named by a typed key (a
//! `#[derive(Serialize)]` struct of everything its output depends on); the key's hash names
//! its folder. [`cached`] reuses a committed folder made under the same key whose files all
//! match its `checksums.json` ([`super::checksums`]), and otherwise writes the step into a
//! temporary folder beside its place and renames it into place, manifest and checksum list
//! inside: a folder with a checksum list is always complete, and a killed run leaves only a
//! `.tmp-*` folder that the next run removes ([`clean_stale_tmp`]).

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use blend_datasets::files::{sha256_bytes, write_atomic};
use blend_datasets::parquet_parts::{PartFile, verify_parts};
use blend_operators::FilterStats;
use serde::{Deserialize, Serialize};

use super::checksums::{verify_checksums, write_checksums};
use super::step_cost::{CostMeter, StepCost};
use crate::{PipelineError, Result};

pub const STAGE_MANIFEST: &str = "manifest.json";

/// The hash of a step's key: sha256 of the key's JSON, first 16 hex characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey(String);

impl CacheKey {
    pub fn new(key: &impl Serialize) -> Self {
        let json = serde_json::to_string(key).expect("cache keys serialize");
        Self(sha256_bytes(json.as_bytes())[..16].to_string())
    }

    pub fn hash(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A file as a cache key sees it: path, size and modification time (nanoseconds since the
/// epoch, empty when the file system keeps none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileFingerprint(String, u64, String);

impl FileFingerprint {
    pub fn of(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).map_err(|e| PipelineError::io(path, e))?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos().to_string())
            .unwrap_or_default();
        Ok(Self(
            path.to_string_lossy().into_owned(),
            meta.len(),
            modified,
        ))
    }
}

/// The folder of step `stage` under `key` in `work_dir`: `work/<stage>-<hash>/`.
pub fn stage_dir(work_dir: &Path, stage: &str, key: &CacheKey) -> PathBuf {
    work_dir.join(format!("{stage}-{key}"))
}

/// Why a committed folder cannot be reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// Nothing was committed there.
    Missing,
    /// It was made under another key (other inputs or settings).
    OtherKey,
    /// Its files no longer match its manifest.
    Damaged(String),
}

/// What a cached step leaves in its folder, read back and checked.
pub trait StepOutput: Sized {
    /// Reads the committed folder `dir` if it was made under `key` and its files verify.
    fn read_committed(dir: &Path, key: &CacheKey) -> std::result::Result<Self, Unusable>;

    /// Writes the manifest into the step's folder, the last file before it is committed.
    fn write_manifest(&self, dir: &Path) -> Result<()>;
}

/// A step's output, reused or freshly written, its folder, and what it cost to compute.
#[derive(Debug, Clone)]
pub struct Cached<T> {
    pub dir: PathBuf,
    pub output: T,
    pub reused: bool,
    /// Measured when the step was computed (absent for folders from older releases).
    pub cost: Option<StepCost>,
}

/// Reuses `dir` when it holds `key`'s output; otherwise `write` fills a temporary folder
/// (passed to it) that replaces `dir` once its manifest is written.
pub fn cached<T: StepOutput>(
    dir: PathBuf,
    key: &CacheKey,
    write: impl FnOnce(&Path) -> Result<T>,
) -> Result<Cached<T>> {
    if let Some(reused) = reuse(&dir, key) {
        return Ok(reused);
    }
    let pending = PendingFolder::begin(&dir)?;
    let meter = CostMeter::start();
    let written = write(&pending.tmp);
    let cost = meter.finish();
    let output = pending.commit_step(written, cost)?;
    Ok(Cached {
        dir,
        output,
        reused: false,
        cost: Some(cost),
    })
}

/// [`cached`] for steps that stream from the DataFusion session.
pub async fn cached_async<T: StepOutput>(
    dir: PathBuf,
    key: &CacheKey,
    write: impl AsyncFnOnce(&Path) -> Result<T>,
) -> Result<Cached<T>> {
    if let Some(reused) = reuse(&dir, key) {
        return Ok(reused);
    }
    let pending = PendingFolder::begin(&dir)?;
    let meter = CostMeter::start();
    let written = write(&pending.tmp).await;
    let cost = meter.finish();
    let output = pending.commit_step(written, cost)?;
    Ok(Cached {
        dir,
        output,
        reused: false,
        cost: Some(cost),
    })
}

/// Writes a folder that is never reused (each call rebuilds it) the same way: `write` fills
/// a temporary folder, manifest included, that then replaces `dir`; on error `dir` is left
/// as it was.
pub async fn write_folder_async<T>(
    dir: &Path,
    write: impl AsyncFnOnce(&Path) -> Result<T>,
) -> Result<T> {
    let pending = PendingFolder::begin(dir)?;
    let written = write(&pending.tmp).await;
    pending.finish(written)
}

fn reuse<T: StepOutput>(dir: &Path, key: &CacheKey) -> Option<Cached<T>> {
    if !dir.exists() {
        return None;
    }
    if let Err(why) = verify_checksums(dir) {
        tracing::warn!(
            "{}: cached step does not verify: {why}; recomputing it",
            dir.display()
        );
        return None;
    }
    match T::read_committed(dir, key) {
        Ok(output) => Some(Cached {
            dir: dir.to_path_buf(),
            output,
            reused: true,
            cost: StepCost::read_from(dir),
        }),
        Err(Unusable::Damaged(why)) => {
            tracing::warn!(
                "{}: cached step does not verify ({why}); recomputing",
                dir.display()
            );
            None
        }
        Err(Unusable::Missing | Unusable::OtherKey) => None,
    }
}

/// A folder being written: files go into `tmp`, which replaces `dir` on success.
#[derive(Debug)]
struct PendingFolder {
    dir: PathBuf,
    tmp: PathBuf,
}

impl PendingFolder {
    fn begin(dir: &Path) -> Result<Self> {
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
        Ok(Self {
            dir: dir.to_path_buf(),
            tmp,
        })
    }

    /// Writes a step's cost and manifest into the folder and commits it; removes the folder
    /// when the step (or its manifest) failed.
    fn commit_step<T: StepOutput>(self, written: Result<T>, cost: StepCost) -> Result<T> {
        let written = written.and_then(|output| {
            cost.write_to(&self.tmp)?;
            output.write_manifest(&self.tmp)?;
            write_checksums(&self.tmp)?;
            Ok(output)
        });
        self.finish(written)
    }

    /// Commits on success; removes the temporary folder on failure.
    fn finish<T>(self, written: Result<T>) -> Result<T> {
        match written {
            Ok(output) => {
                if self.dir.exists() {
                    std::fs::remove_dir_all(&self.dir)
                        .map_err(|e| PipelineError::io(&self.dir, e))?;
                }
                std::fs::rename(&self.tmp, &self.dir)
                    .map_err(|e| PipelineError::io(&self.dir, e))?;
                Ok(output)
            }
            Err(error) => {
                let _ = std::fs::remove_dir_all(&self.tmp);
                Err(error)
            }
        }
    }
}

/// Removes what killed runs left in the work folder `work_dir` (three levels deep:
/// `work/search/runs-*/`): `.tmp-<step>-<pid>` folders of processes no longer running,
/// half-written `*.tmp-write` files and `*.partial` proxy data. The work folder is blend's
/// own and its lock keeps a second writer out.
pub fn clean_stale_tmp(work_dir: &Path) {
    clean_stale_tmp_below(work_dir, 3, true);
}

/// The same for the output folder, which may be any folder of the user's: only its top
/// level, and only blend's `.tmp-<step>-<pid>` folders and `*.tmp-write` files.
pub fn clean_stale_output_tmp(out_dir: &Path) {
    clean_stale_tmp_below(out_dir, 1, false);
}

fn clean_stale_tmp_below(dir: &Path, depth: usize, owned: bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if name.starts_with(".tmp-") && is_dir {
            if writer_has_ended(&name) {
                let _ = std::fs::remove_dir_all(&path);
            }
        } else if name.ends_with(".tmp-write") && !is_dir {
            let _ = std::fs::remove_file(&path);
        } else if owned && name.ends_with(".partial") && is_dir {
            let _ = std::fs::remove_dir_all(&path);
        } else if is_dir && depth > 1 {
            clean_stale_tmp_below(&path, depth - 1, owned);
        }
    }
}

/// Whether `.tmp-<step>-<pid>` names a process that is no longer running (or this one,
/// which has not begun writing it yet); `false` for names without a pid.
fn writer_has_ended(tmp_name: &str) -> bool {
    let Some(pid) = tmp_name
        .rsplit('-')
        .next()
        .and_then(|p| p.parse::<u32>().ok())
    else {
        return false;
    };
    pid == std::process::id() || !Path::new(&format!("/proc/{pid}")).exists()
}

/// What a finished document stage folder holds (the read stage and every configured stage).
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

impl StageManifest {
    /// The manifest of `dir` if it exists and every file it lists is intact (any key).
    pub fn read_verified(dir: &Path) -> std::result::Result<Self, Unusable> {
        let manifest = Self::read(dir)?;
        verify_parts(dir, &manifest.parts)
            .and_then(|()| verify_parts(&dir.join("removed"), &manifest.removed_parts))
            .map_err(|e| Unusable::Damaged(e.to_string()))?;
        Ok(manifest)
    }

    /// What the stage's rows are, independent of where and when they were written: the
    /// first 16 hex characters of the sha256 over its parts' names and checksums (kept and
    /// removed). Steps after a stage key on this, so a stage recomputed to the same rows
    /// (a regenerated input file, another work folder) leaves them reusable, and nothing
    /// written into outputs depends on file paths or times.
    pub fn content_digest(&self) -> String {
        let mut listing = String::new();
        for (kind, parts) in [("kept", &self.parts), ("removed", &self.removed_parts)] {
            for part in parts {
                listing.push_str(&format!("{kind}/{}:{}\n", part.name, part.sha256));
            }
        }
        sha256_bytes(listing.as_bytes())[..16].to_string()
    }

    /// The manifest of `dir`, parts unchecked (the cache has checked the whole folder).
    fn read(dir: &Path) -> std::result::Result<Self, Unusable> {
        let bytes = std::fs::read(dir.join(STAGE_MANIFEST)).map_err(|_| Unusable::Missing)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Unusable::Damaged(format!("{STAGE_MANIFEST}: {e}")))
    }
}

impl StepOutput for StageManifest {
    fn read_committed(dir: &Path, key: &CacheKey) -> std::result::Result<Self, Unusable> {
        let manifest = Self::read(dir)?;
        if manifest.hash != key.hash() {
            return Err(Unusable::OtherKey);
        }
        Ok(manifest)
    }

    fn write_manifest(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).expect("manifest serializes");
        write_atomic(&dir.join(STAGE_MANIFEST), json.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Key<'a> {
        op: &'a str,
        p: u64,
    }

    #[test]
    fn hash_is_stable_and_sensitive() {
        let a = CacheKey::new(&Key {
            op: "normalize",
            p: 1,
        });
        assert_eq!(
            a,
            CacheKey::new(&serde_json::json!({"op": "normalize", "p": 1})),
            "a typed key hashes as its JSON"
        );
        assert_ne!(
            a,
            CacheKey::new(&Key {
                op: "normalize",
                p: 2
            })
        );
        assert_eq!(a.hash().len(), 16);
    }

    /// A step whose output is the text of `out.txt`; its manifest holds the key's hash.
    #[derive(Debug, Clone, PartialEq)]
    struct Text {
        key: String,
        body: String,
    }

    impl StepOutput for Text {
        fn read_committed(dir: &Path, key: &CacheKey) -> std::result::Result<Self, Unusable> {
            let manifest =
                std::fs::read_to_string(dir.join(STAGE_MANIFEST)).map_err(|_| Unusable::Missing)?;
            if manifest != key.hash() {
                return Err(Unusable::OtherKey);
            }
            let body = std::fs::read_to_string(dir.join("out.txt"))
                .map_err(|e| Unusable::Damaged(e.to_string()))?;
            Ok(Text {
                key: manifest,
                body,
            })
        }

        fn write_manifest(&self, dir: &Path) -> Result<()> {
            std::fs::write(dir.join(STAGE_MANIFEST), &self.key)
                .map_err(|e| PipelineError::io(dir, e))
        }
    }

    fn write_text(key: &CacheKey, body: &str) -> impl Fn(&Path) -> Result<Text> {
        let text = Text {
            key: key.hash().to_string(),
            body: body.to_string(),
        };
        move |tmp| {
            std::fs::write(tmp.join("out.txt"), &text.body)
                .map_err(|e| PipelineError::io(tmp, e))?;
            Ok(text.clone())
        }
    }

    #[test]
    fn a_committed_step_is_reused_and_a_failed_one_leaves_nothing() {
        let work = tempfile::tempdir().unwrap();
        let key = CacheKey::new(&Key { op: "t", p: 1 });
        let dir = stage_dir(work.path(), "s", &key);
        let failed: Result<Cached<Text>> = cached(dir.clone(), &key, |tmp| {
            std::fs::write(tmp.join("out.txt"), "half").unwrap();
            Err(PipelineError::Tokenizer("stopped".into()))
        });
        assert!(failed.is_err());
        assert_eq!(
            std::fs::read_dir(work.path()).unwrap().count(),
            0,
            "a failed step leaves neither its folder nor a temporary one"
        );

        let first = cached(dir.clone(), &key, write_text(&key, "hello")).unwrap();
        assert!(!first.reused && dir.join(STAGE_MANIFEST).exists());
        let again = cached(dir.clone(), &key, |_: &Path| -> Result<Text> {
            panic!("a committed step is reused")
        })
        .unwrap();
        assert!(again.reused);
        assert_eq!(again.output, first.output);

        let other = CacheKey::new(&Key { op: "t", p: 2 });
        let replaced = cached(dir.clone(), &other, write_text(&other, "bye")).unwrap();
        assert!(!replaced.reused, "another key replaces the folder");
        assert_eq!(std::fs::read_to_string(dir.join("out.txt")).unwrap(), "bye");

        std::fs::remove_file(dir.join("out.txt")).unwrap();
        let redone = cached(dir, &other, write_text(&other, "bye")).unwrap();
        assert!(!redone.reused, "a damaged folder is recomputed");
    }

    #[test]
    fn stale_temporary_folders_are_removed() {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("s-abc");
        let pending = PendingFolder::begin(&dir).unwrap();
        std::fs::write(pending.tmp.join("part-00000.parquet"), b"x").unwrap();
        assert_eq!(
            StageManifest::read_verified(&dir).unwrap_err(),
            Unusable::Missing
        );
        let nested = work.path().join("search/runs-abc");
        std::fs::create_dir_all(nested.join(".tmp-regressor-0123-4294967295")).unwrap();
        std::fs::write(nested.join("run_00001.tmp-write"), "{").unwrap();
        std::fs::write(nested.join("run_00000.json"), "{}").unwrap();
        let running = work
            .path()
            .join(format!(".tmp-other-{}", std::process::id() - 1));
        let alive = Path::new(&format!("/proc/{}", std::process::id() - 1)).exists();
        std::fs::create_dir_all(&running).unwrap();
        clean_stale_tmp(work.path());
        assert!(!pending.tmp.exists());
        let left: Vec<String> = std::fs::read_dir(&nested)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            left,
            ["run_00000.json"],
            "nested leftovers go, records stay"
        );
        assert_eq!(running.exists(), alive, "a live writer's folder is kept");

        let out = tempfile::tempdir().unwrap();
        let users = ["notes.partial", ".tmp-mine", "deep/.tmp-shards-4294967295"];
        for folder in users {
            std::fs::create_dir_all(out.path().join(folder)).unwrap();
        }
        std::fs::create_dir(out.path().join(".tmp-shards-4294967295")).unwrap();
        clean_stale_output_tmp(out.path());
        assert!(!out.path().join(".tmp-shards-4294967295").exists());
        for folder in users {
            assert!(out.path().join(folder).exists(), "{folder} is the user's");
        }
    }
}
