//! Errors of the dataset layer. Every variant names the file and, where there is one, the
//! line, row or column, so a user can find the bad record.

use std::path::PathBuf;

pub type Result<T, E = DatasetError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("input not found: {path}")]
    NotFound { path: PathBuf },

    #[error(
        "no input files under {path} (looked for .parquet, .jsonl, .jsonl.gz, .jsonl.zst, .txt)"
    )]
    NoInputs { path: PathBuf },

    #[error("{path}: column `{column}` not found; the file has columns: {available}")]
    MissingColumn {
        path: PathBuf,
        column: String,
        available: String,
    },

    #[error("{path}: column `{column}` has type {found}; expected {expected}")]
    ColumnType {
        path: PathBuf,
        column: String,
        found: String,
        expected: String,
    },

    #[error("{path}: not a readable Parquet file ({source})")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },

    #[error("{path}:{line}: {message}")]
    BadLine {
        path: PathBuf,
        line: u64,
        message: String,
    },

    #[error("{path}: row {row}, column `{column}`: {message}")]
    BadCell {
        path: PathBuf,
        row: u64,
        column: String,
        message: String,
    },

    #[error(
        "mixed schemas: column `{column}` is {first_type} in {first_path} but {other_type} in {other_path}"
    )]
    MixedSchemas {
        column: String,
        first_type: String,
        first_path: PathBuf,
        other_type: String,
        other_path: PathBuf,
    },

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{context}: {source}")]
    Arrow {
        context: String,
        #[source]
        source: arrow::error::ArrowError,
    },

    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl DatasetError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub fn arrow(context: impl Into<String>, source: arrow::error::ArrowError) -> Self {
        Self::Arrow {
            context: context.into(),
            source,
        }
    }

    pub fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}
