//! Pipeline errors: configuration mistakes (with the config file and stage named), and
//! failures of the layers below, wrapped with the stage they happened in.

use std::path::PathBuf;

pub type Result<T, E = PipelineError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },

    #[error("stage `{stage}`: {source}")]
    Operator {
        stage: String,
        #[source]
        source: blend_operators::OperatorError,
    },

    #[error(transparent)]
    Dataset(#[from] blend_datasets::DatasetError),

    #[error("stage `{stage}`: {source}")]
    DataFusion {
        stage: String,
        #[source]
        source: Box<datafusion::error::DataFusionError>,
    },

    #[error("tokenizer: {0}")]
    Tokenizer(String),

    #[error(transparent)]
    Mixture(#[from] blend_mixers::MixerError),

    #[error("proxy training: {0}")]
    ProxyTraining(#[from] blend_proxy_train::ProxyError),

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{0}")]
    Invalid(String),
}

impl PipelineError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub fn datafusion(stage: &str, source: datafusion::error::DataFusionError) -> Self {
        Self::DataFusion {
            stage: stage.to_string(),
            source: Box::new(source),
        }
    }

    pub fn operator(stage: &str, source: blend_operators::OperatorError) -> Self {
        Self::Operator {
            stage: stage.to_string(),
            source,
        }
    }
}
