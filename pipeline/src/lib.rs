//! The blend pipeline as a library, in three layers whose imports only run downward:
//!
//! - [`engine`]: what a pipeline run is made of: the `pipeline.toml` config, the stage graph,
//!   the DataFusion session, the typed-key step cache, the read / transform / tokenizer /
//!   shards steps, the mixture search, and the runner that returns a
//!   [`engine::summary::RunSummary`].
//! - [`report`]: the HTML of the run report, one file per section, and the HTML/SVG helpers
//!   every report uses. It reads only the engine's summary types and the lower crates'.
//! - [`workflows`]: one module per CLI verb (`run`, `demo`, `dedup`, `quality`, `mix`,
//!   `search`, `bpe`, `shards`), each a `Request → Outcome` call that writes its outputs and
//!   its report.
//!
//! The `blend` binary (crate `blend-cli`) parses flags, calls a workflow and prints; progress
//! reaches it through [`Progress`], so this crate draws nothing.

pub mod engine;
pub mod error;
pub mod progress;
pub mod report;
pub mod workflows;

pub use engine::config::PipelineConfig;
pub use engine::summary::RunSummary;
pub use error::{PipelineError, Result};
pub use progress::{NoProgress, Progress, StageProgress};
pub use workflows::run::{RunOutcome, run_pipeline, run_pipeline_blocking};

/// blend's version, part of every step's cache key.
pub const BLEND_VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod layers {
    use std::path::Path;

    /// Every `.rs` file under `dir`, recursively.
    fn sources(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(sources(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
        files
    }

    fn imports_of(layer: &str, forbidden: &[&str]) -> Vec<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src")
            .join(layer);
        let mut found = Vec::new();
        for file in sources(&dir) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (number, line) in text.lines().enumerate() {
                if forbidden.iter().any(|f| line.contains(f)) {
                    found.push(format!("{}:{}: {line}", file.display(), number + 1));
                }
            }
        }
        found
    }

    #[test]
    fn the_engine_imports_neither_reports_nor_workflows() {
        let found = imports_of("engine", &["crate::report", "crate::workflows"]);
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn reports_do_not_import_workflows() {
        let found = imports_of("report", &["crate::workflows"]);
        assert!(found.is_empty(), "{found:#?}");
    }
}
