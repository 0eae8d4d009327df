//! Errors of mixture computation, experiment tables, regressors, mixture files and BPE
//! mixture inference. Each names what a user can fix: the file, the row or column, and what
//! was expected.

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
    /// A Gaussian process's covariance matrix stayed singular with the largest jitter.
    #[error(
        "the Gaussian process's covariance over {size} runs is not positive definite, even with jitter {jitter:e} (duplicate runs with different values and almost no noise?)"
    )]
    NotPositiveDefinite { size: usize, jitter: f64 },
    /// Bayesian optimisation was asked for a proposal before any run was observed.
    #[error("Bayesian optimisation needs at least one observed run")]
    NoObservations,
    /// An observation's weights do not match the sampler's domains.
    #[error("observation {index} has {weights} weights, the sampler {domains} domains")]
    ObservationDomains {
        index: usize,
        weights: usize,
        domains: usize,
    },
    /// An observation's fidelity or value is outside (0, 1] or not finite.
    #[error("observation {index}: fidelity {fidelity} must be in (0, 1] and value {value} finite")]
    ObservationValue {
        index: usize,
        fidelity: f64,
        value: f64,
    },
    /// Bayesian optimisation was given no fidelity to propose at, or no candidates.
    #[error(
        "Bayesian optimisation needs at least one fidelity and one candidate ({fidelities} fidelities, {candidates} candidates)"
    )]
    NothingToPropose {
        fidelities: usize,
        candidates: usize,
    },
    /// A fidelity whose level is outside (0, 1] or whose cost is not positive.
    #[error("fidelity {index}: level {level} must be in (0, 1] and cost {cost} positive")]
    BadFidelity { index: usize, level: f64, cost: f64 },
    /// A tokenizer.json that cannot be read.
    #[error("cannot read tokenizer {path}: {source}")]
    TokenizerRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A tokenizer.json that is not a BPE tokenizer blend can replay, or whose normalizer or
    /// pre-tokenizer fails on a text.
    #[error("{path}: not a usable BPE tokenizer: {message}")]
    Tokenizer { path: PathBuf, message: String },
    /// BPE mixture inference was given no categories.
    #[error("BPE mixture inference needs at least one category")]
    NoCategories,
    /// A category whose sample has no text: its pair counts cannot be normalized.
    #[error("BPE mixture inference: category `{category}` has no text")]
    EmptyCategory { category: String },
    /// A category's merge log is shorter than the merge list it is inferred over.
    #[error(
        "BPE mixture inference: category `{category}` replayed {replayed} merges, not {merges}"
    )]
    ShortReplay {
        category: String,
        replayed: usize,
        merges: usize,
    },
    /// Lazy constraint generation still found violated constraints after its last round.
    #[error(
        "BPE mixture inference: constraint generation did not converge in {rounds} rounds ({constraints} constraints)"
    )]
    NotConverged { rounds: usize, constraints: usize },
    /// The LP solver could not be set up or failed to run.
    #[error("LP solver {solver}: {message}")]
    Lp {
        solver: &'static str,
        message: String,
    },
    /// The LP solver ran but stopped without a solution.
    #[error(
        "LP solver {solver} stopped with status {status} after {iterations} iterations ({constraints} constraints)"
    )]
    LpStatus {
        solver: &'static str,
        status: String,
        iterations: u32,
        constraints: usize,
    },
}

impl MixerError {
    pub(crate) fn tokenizer(path: &std::path::Path, message: impl std::fmt::Display) -> Self {
        Self::Tokenizer {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }

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
