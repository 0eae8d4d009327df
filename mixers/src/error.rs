//! Errors of mixture computation and mixture files.

pub type Result<T, E = MixerError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum MixerError {
    #[error("cannot build a mixture: {0}")]
    Invalid(String),
    #[error("{path}: not a valid mixture.json: {message}")]
    File {
        path: std::path::PathBuf,
        message: String,
    },
}
