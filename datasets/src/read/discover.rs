//! Finding input files: a file is taken as given, a folder is walked recursively in sorted
//! order, skipping hidden entries. Formats are decided by extension unless configured.

use std::path::{Path, PathBuf};

use super::{InputFormat, InputSpec};
use crate::{DatasetError, Result};

/// A file to read, with its resolved format and the spec it came from.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub format: InputFormat,
    pub spec: InputSpec,
    /// Source tag for rows that have none.
    pub default_source: String,
    /// For .txt documents: the folder ids are made relative to.
    pub root: PathBuf,
}

fn format_of(path: &Path) -> Option<InputFormat> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    if name.ends_with(".parquet") || name.ends_with(".pq") {
        Some(InputFormat::Parquet)
    } else if [
        ".jsonl",
        ".jsonl.gz",
        ".jsonl.zst",
        ".ndjson",
        ".json.gz",
        ".json.zst",
    ]
    .iter()
    .any(|ext| name.ends_with(ext))
    {
        Some(InputFormat::Jsonl)
    } else if name.ends_with(".txt") {
        Some(InputFormat::Text)
    } else {
        None
    }
}

fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into());
    name.split('.').next().unwrap_or(&name).to_string()
}

/// The files of one spec, in sorted order.
pub fn discover(spec: &InputSpec) -> Result<Vec<InputFile>> {
    let path = &spec.path;
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DatasetError::NotFound { path: path.clone() },
        _ => DatasetError::io(path, e),
    })?;
    let mut found = Vec::new();
    if meta.is_file() {
        let format = match spec.format {
            InputFormat::Auto => format_of(path).ok_or_else(|| {
                DatasetError::invalid(
                    path,
                    "unknown input format; name the format in the input's `format` \
                     (parquet, jsonl, text) or use a .parquet/.jsonl[.gz|.zst]/.txt name",
                )
            })?,
            other => other,
        };
        found.push((path.clone(), format));
    } else {
        walk(path, spec.format, &mut found)?;
        if found.is_empty() {
            return Err(DatasetError::NoInputs { path: path.clone() });
        }
    }
    let root = if meta.is_file() {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        path.clone()
    };
    Ok(found
        .into_iter()
        .map(|(file, format)| {
            let default_source = spec.source.clone().unwrap_or_else(|| {
                if format == InputFormat::Text && meta.is_dir() {
                    stem(path)
                } else {
                    stem(&file)
                }
            });
            InputFile {
                path: file,
                format,
                spec: spec.clone(),
                default_source,
                root: root.clone(),
            }
        })
        .collect())
}

fn walk(dir: &Path, wanted: InputFormat, found: &mut Vec<(PathBuf, InputFormat)>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| DatasetError::io(dir, e))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| DatasetError::io(dir, e))?;
    entries.sort();
    for entry in entries {
        let hidden = entry
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') || n.starts_with('_'));
        if hidden {
            continue;
        }
        if entry.is_dir() {
            walk(&entry, wanted, found)?;
        } else if let Some(format) = format_of(&entry)
            && (wanted == InputFormat::Auto || wanted == format)
        {
            found.push((entry, format));
        }
    }
    Ok(())
}
