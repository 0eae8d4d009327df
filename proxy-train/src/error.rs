//! Errors of proxy training, with the file, domain or setting they concern.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    #[error(transparent)]
    Sampler(#[from] crate::sequence_sampler::SamplerError),
    #[error(transparent)]
    Online(#[from] crate::online::OnlineError),
    /// Boxed: dataset errors carry paths and messages, and keep `Result`s small.
    #[error(transparent)]
    Dataset(Box<blend_datasets::DatasetError>),
    #[error("{path}: {message}")]
    Data { path: PathBuf, message: String },
    #[error("invalid proxy setting: {0}")]
    Config(String),
    #[error("training diverged at step {step}: loss is {loss}")]
    Diverged { step: usize, loss: f32 },
}

impl From<blend_datasets::DatasetError> for ProxyError {
    fn from(error: blend_datasets::DatasetError) -> Self {
        Self::Dataset(Box::new(error))
    }
}

pub type Result<T, E = ProxyError> = std::result::Result<T, E>;
