//! Errors of mixture computation, experiment tables, regressors and mixture files. Each
//! names what a user can fix: the file, the row or column, and what was expected.

use std::path::PathBuf;

pub type Result<T, E = MixerError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum MixerError {
    #[error("cannot build a mixture: {0}")]
    Invalid(String),
    #[error("{path}: not a valid mixture.json: {message}")]
    File { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Table { path: PathBuf, message: String },
    /// A table's content does not fit what was asked (a missing column or domain); the
    /// message names the table.
    #[error("{0}")]
    Data(String),
    #[error("{path}: not a blend regressor model: {message}")]
    Model { path: PathBuf, message: String },
    #[error("LightGBM: {0}")]
    LightGbm(String),
    #[error("cannot fit the {regressor} regressor: {message}")]
    Fit {
        regressor: &'static str,
        message: String,
    },
}

impl MixerError {
    pub(crate) fn table(path: &std::path::Path, message: impl Into<String>) -> Self {
        Self::Table {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

impl From<lightgbm3::Error> for MixerError {
    fn from(error: lightgbm3::Error) -> Self {
        Self::LightGbm(error.to_string())
    }
}
