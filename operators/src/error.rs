//! Errors of operators: bad parameters, missing or mistyped columns, and failures inside
//! Arrow or DataFusion, each naming the operator.

pub type Result<T, E = OperatorError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("unknown operator `{name}`; known operators: {known}")]
    UnknownOperator { name: String, known: String },

    #[error("operator `{operator}`: invalid parameters: {message}")]
    Params { operator: String, message: String },

    #[error("operator `{operator}`: column `{column}` {problem}")]
    Column {
        operator: String,
        column: String,
        problem: String,
    },

    #[error("operator `{operator}`: {source}")]
    Arrow {
        operator: String,
        #[source]
        source: arrow::error::ArrowError,
    },

    #[error("operator `{operator}`: {path}: {source}")]
    Io {
        operator: String,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("operator `{operator}`: {message}")]
    Invalid { operator: String, message: String },

    #[error("operator `{operator}`: {source}")]
    DataFusion {
        operator: String,
        #[source]
        source: Box<datafusion::error::DataFusionError>,
    },
}

impl OperatorError {
    pub fn params(operator: &str, message: impl std::fmt::Display) -> Self {
        Self::Params {
            operator: operator.to_string(),
            message: message.to_string(),
        }
    }

    pub fn arrow(operator: &str, source: arrow::error::ArrowError) -> Self {
        Self::Arrow {
            operator: operator.to_string(),
            source,
        }
    }

    pub fn io(operator: &str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            operator: operator.to_string(),
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn invalid(operator: &str, message: impl std::fmt::Display) -> Self {
        Self::Invalid {
            operator: operator.to_string(),
            message: message.to_string(),
        }
    }

    pub fn datafusion(operator: &str, source: datafusion::error::DataFusionError) -> Self {
        Self::DataFusion {
            operator: operator.to_string(),
            source: Box::new(source),
        }
    }
}
