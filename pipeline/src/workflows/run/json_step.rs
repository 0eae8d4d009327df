//! A cached step whose result is one JSON value (a fitted regressor, a searched mixture,
//! per-domain token counts): its folder holds `step.json` with the key and the value, so
//! the step is reused exactly when its key is unchanged.

use std::path::Path;

use blend_datasets::files::write_atomic;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::engine::cache::{CacheKey, StepOutput, Unusable};

pub const STEP_FILE: &str = "step.json";

/// The value of a JSON step, as committed with its key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JsonStep<T> {
    pub key: String,
    pub output: T,
}

impl<T> JsonStep<T> {
    pub fn new(key: &CacheKey, output: T) -> Self {
        Self {
            key: key.hash().to_string(),
            output,
        }
    }
}

impl<T: Serialize + DeserializeOwned> StepOutput for JsonStep<T> {
    fn read_committed(dir: &Path, key: &CacheKey) -> std::result::Result<Self, Unusable> {
        let path = dir.join(STEP_FILE);
        let Ok(bytes) = std::fs::read(&path) else {
            return Err(Unusable::Missing);
        };
        let step: Self = serde_json::from_slice(&bytes)
            .map_err(|e| Unusable::Damaged(format!("{}: {e}", path.display())))?;
        if step.key != key.hash() {
            return Err(Unusable::OtherKey);
        }
        Ok(step)
    }

    fn write_manifest(&self, dir: &Path) -> Result<()> {
        let mut json = serde_json::to_string_pretty(self).expect("steps serialize");
        json.push('\n');
        write_atomic(&dir.join(STEP_FILE), json.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cache::cached;

    #[test]
    fn a_step_is_reused_only_under_its_key_and_recomputed_when_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("fit");
        let key = CacheKey::new(&("fit", 1));
        let first = cached(folder.clone(), &key, |_| Ok(JsonStep::new(&key, 7u32))).unwrap();
        assert!(!first.reused);
        let again = cached(folder.clone(), &key, |_| Ok(JsonStep::new(&key, 8u32))).unwrap();
        assert!(again.reused);
        assert_eq!(again.output.output, 7);
        let other = CacheKey::new(&("fit", 2));
        let changed = cached(folder.clone(), &other, |_| Ok(JsonStep::new(&other, 9u32))).unwrap();
        assert!(!changed.reused);
        assert_eq!(changed.output.output, 9);
        std::fs::write(folder.join(STEP_FILE), "{ not json").unwrap();
        let repaired = cached(folder, &other, |_| Ok(JsonStep::new(&other, 10u32))).unwrap();
        assert!(!repaired.reused);
        assert_eq!(repaired.output.output, 10);
    }
}
