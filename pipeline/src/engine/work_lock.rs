//! One writer per work folder. A run holds an exclusive lock on `work/.lock` (an OS file
//! lock, released by the kernel when the process ends, however it ends) and writes its pid
//! and start time into the file. A second run on the same folder refuses, naming the
//! holder; a lock file left by a killed run is no longer locked, so the next run takes it
//! over and says whose it was. Advisory locks need a local file system (or NFSv4).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::{PipelineError, Result};

pub const LOCK_FILE: &str = ".lock";

/// Who holds (or last held) a work folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub started: String,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {}, started {}", self.pid, self.started)
    }
}

/// The held lock of a work folder; dropping it releases the lock.
#[derive(Debug)]
pub struct WorkDirLock {
    file: File,
    path: PathBuf,
    /// The holder recorded by a run that ended without releasing (killed), if any.
    pub taken_over: Option<LockHolder>,
}

impl WorkDirLock {
    /// Locks `work_dir` (created if missing) or fails with [`PipelineError::WorkDirLocked`].
    pub fn acquire(work_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(work_dir).map_err(|e| PipelineError::io(work_dir, e))?;
        let path = work_dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| PipelineError::io(&path, e))?;
        let recorded = read_holder(&mut file);
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(PipelineError::WorkDirLocked {
                    work_dir: work_dir.to_path_buf(),
                    holder: recorded
                        .map_or_else(|| "another process".to_string(), |h| h.to_string()),
                });
            }
            Err(TryLockError::Error(e)) => return Err(PipelineError::io(&path, e)),
        }
        let me = LockHolder {
            pid: std::process::id(),
            started: utc_now(),
        };
        write_holder(&mut file, &me).map_err(|e| PipelineError::io(&path, e))?;
        let taken_over = recorded.filter(|h| h.pid != me.pid);
        if let Some(stale) = &taken_over {
            tracing::info!(
                "{}: took over the lock of a run that ended without releasing it ({stale})",
                path.display()
            );
        }
        Ok(Self {
            file,
            path,
            taken_over,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A run that ends normally empties the file, so only a killed run leaves a holder behind.
impl Drop for WorkDirLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}

fn read_holder(file: &mut File) -> Option<LockHolder> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_holder(file: &mut File, holder: &LockHolder) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    let json = serde_json::to_string(holder).expect("lock holders serialize");
    file.write_all(json.as_bytes())?;
    file.sync_data()
}

fn utc_now() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc_timestamp(seconds)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (H. Hinnant's civil-from-days).
fn utc_timestamp(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let in_day = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(1_796_351_545), "2026-12-04T02:32:25Z");
    }

    #[test]
    fn a_second_writer_is_refused_naming_the_holder() {
        let work = tempfile::tempdir().unwrap();
        let held = WorkDirLock::acquire(work.path()).unwrap();
        assert_eq!(held.taken_over, None);
        let refused = WorkDirLock::acquire(work.path()).unwrap_err().to_string();
        assert!(
            refused.contains(&format!("pid {}", std::process::id())) && refused.contains("started"),
            "{refused}"
        );
        drop(held);
        let next = WorkDirLock::acquire(work.path()).expect("released on drop");
        assert_eq!(
            next.taken_over, None,
            "a run that ended normally left no holder"
        );
    }

    #[test]
    fn a_lock_file_left_by_a_dead_run_is_taken_over() {
        let work = tempfile::tempdir().unwrap();
        let dead = LockHolder {
            pid: u32::MAX,
            started: "2026-01-01T00:00:00Z".into(),
        };
        std::fs::write(
            work.path().join(LOCK_FILE),
            serde_json::to_string(&dead).unwrap(),
        )
        .unwrap();
        let lock = WorkDirLock::acquire(work.path()).unwrap();
        assert_eq!(lock.taken_over, Some(dead));
        let now: LockHolder =
            serde_json::from_str(&std::fs::read_to_string(lock.path()).unwrap()).unwrap();
        assert_eq!(now.pid, std::process::id());
    }
}
