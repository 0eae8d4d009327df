//! What can go wrong on a cluster, each naming the stage, address or file involved.

use std::path::PathBuf;

use blend_operators::OperatorError;
use datafusion::error::DataFusionError;

pub type Result<T> = std::result::Result<T, DistributedError>;

#[derive(Debug, thiserror::Error)]
pub enum DistributedError {
    #[error(
        "cluster address `{url}`: {problem} (expected df://HOST:PORT, e.g. df://127.0.0.1:50050)"
    )]
    BadUrl { url: String, problem: String },
    #[error("cannot reach the Ballista scheduler at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: DataFusionError,
    },
    #[error("stage `{stage}` on the cluster: {source}")]
    DataFusion {
        stage: String,
        #[source]
        source: DataFusionError,
    },
    #[error("stage `{stage}` on the cluster: {source}")]
    Operator {
        stage: String,
        #[source]
        source: OperatorError,
    },
    #[error("stage `{stage}` on the cluster: {message}")]
    Invalid { stage: String, message: String },
    #[error(
        "stage `{stage}`: the cluster found {edges} candidate edges ({mib} MiB at the client), more than the {budget_mib} MiB memory budget; raise `memory` or the MinHash threshold (iterative large-star/small-star rounds on the cluster are not built)"
    )]
    EdgesOverBudget {
        stage: String,
        edges: u64,
        mib: u64,
        budget_mib: u64,
    },
    #[error("{role}: {message}")]
    Role { role: &'static str, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DistributedError {
    pub fn datafusion(stage: &str, source: DataFusionError) -> Self {
        Self::DataFusion {
            stage: stage.to_string(),
            source,
        }
    }

    pub fn operator(stage: &str, source: OperatorError) -> Self {
        Self::Operator {
            stage: stage.to_string(),
            source,
        }
    }

    pub fn invalid(stage: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            stage: stage.to_string(),
            message: message.into(),
        }
    }
}
