//! Workflows: one module per CLI verb, each a `Request → Outcome` library call that the
//! `blend` command only parses flags for and prints. They compose the engine's steps and the
//! lower crates, and write their outputs and reports through one atomic writer,
//! [`write_output`]. Pieces two verbs share sit in the engine, or beside them here
//! ([`dedup_accuracy`]); the demo is a configured `run` with a classifier `quality` trains.

pub mod bpe;
pub mod dedup;
pub mod dedup_accuracy;
pub mod demo;
pub mod mix;
pub mod quality;
pub mod run;
pub mod search;
pub mod shards;

use std::path::Path;

use blend_datasets::files::write_atomic;

use crate::Result;

/// Writes an output file (a report, a mixture, a table) whole or not at all, creating its
/// folder.
pub fn write_output(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| crate::PipelineError::io(parent, e))?;
    }
    write_atomic(path, text.as_bytes())?;
    Ok(())
}

/// A CSV field: quoted (with doubled quotes) when it holds a comma, a quote or a newline.
pub(crate) fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("web"), "web");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
