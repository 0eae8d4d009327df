//! Pipeline errors: configuration mistakes (with the config file named), bad requests (the
//! flag or field and what it accepts), inputs blend cannot use (the file, column or domain),
//! and failures of the layers below, wrapped with the stage they happened in.

use std::collections::BTreeMap;
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

    /// A request field (a CLI flag) outside what it accepts.
    #[error("{name} {problem}")]
    Argument { name: String, problem: String },

    /// A column the inputs lack or hold in a form blend cannot use.
    #[error("{input}: column `{column}` {problem}")]
    Column {
        /// A file, or a description such as "the inputs".
        input: String,
        column: String,
        problem: String,
    },

    /// A file that does not read as what it should be (a blend output, a table, a corpus).
    #[error("{path}: not a usable {what}: {problem}")]
    Unreadable {
        path: PathBuf,
        what: &'static str,
        problem: String,
    },

    /// Another run holds the work folder (one writer per work folder).
    #[error("{}: another blend run is using this work folder ({holder}); wait for it to finish, or give this run its own `work_dir`", work_dir.display())]
    WorkDirLocked { work_dir: PathBuf, holder: String },

    #[error("no documents were read from {} ({quarantined} records quarantined); nothing to process", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "))]
    NoDocuments {
        files: Vec<PathBuf>,
        quarantined: u64,
    },

    #[error(
        "stage `{stage}`: operator `{operator}` returned {rows_out} rows for {rows_in}; only `filter` may remove rows"
    )]
    RowsChanged {
        stage: String,
        operator: String,
        rows_in: u64,
        rows_out: u64,
    },

    #[error("stage `{stage}`: operator `{operator}` changed its output schema between batches")]
    SchemaChanged { stage: String, operator: String },

    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),

    #[error(transparent)]
    Cluster(#[from] blend_distributed::DistributedError),

    /// A domain named (by a bound, a target, a mixture) that the data does not have.
    #[error("{context} names domain `{domain}`; the domains are {}", known.join(", "))]
    UnknownDomain {
        context: String,
        domain: String,
        known: Vec<String>,
    },

    #[error(
        "domain `{domain}` has {train_tokens} training and {valid_tokens} held-out tokens; a proxy needs at least {needed} of each (sequence length {} + 1): add documents, raise --valid-fraction, or lower --sequence-length",
        needed - 1
    )]
    DomainTooSmall {
        domain: String,
        train_tokens: u64,
        valid_tokens: u64,
        needed: u64,
    },

    #[error(
        "{} holds proxy runs made with other data or settings ({}); pass --restart to discard them, or choose another --out",
        dir.display(),
        state.display()
    )]
    RunsFromOtherSettings { dir: PathBuf, state: PathBuf },

    #[error("{}: the run's output documents are missing or changed; run `blend run` again", dir.display())]
    StaleRun { dir: PathBuf },

    #[error("{} exists and is not a blend shard folder; choose another --out", path.display())]
    NotShardFolder { path: PathBuf },

    #[error(
        "{} has {vocab_size} tokens; nanoGPT and llm.c files hold uint16 ids (vocabulary below 65,536)",
        tokenizer.display()
    )]
    VocabularyTooLarge { tokenizer: PathBuf, vocab_size: u64 },

    #[error("cannot draw {tokens} tokens by {}: {problem}", mixture.display())]
    Budget {
        tokens: u64,
        mixture: PathBuf,
        problem: String,
    },

    #[error("document {id} has more than 2^32 tokens")]
    DocumentTooLong { id: String },

    #[error("training needs documents of at least two labels, found {found:?}")]
    TooFewLabels { found: BTreeMap<String, usize> },

    #[error("positive label `{label}` is not among the labels found ({})", labels.join(", "))]
    UnknownLabel { label: String, labels: Vec<String> },

    #[error(
        "say which label is the positive (high-quality) one with --positive-label; the labels are {}",
        labels.join(", ")
    )]
    PositiveLabelNeeded { labels: Vec<String> },

    #[error(
        "{}: needs one file or folder per category and at least two categories; found {found}",
        dir.display()
    )]
    TooFewCategories { dir: PathBuf, found: usize },

    #[error("pool `{pool}` has {} categories ({}); a trial needs {needed} (at least 2)", found.len(), found.join(", "))]
    PoolTooSmall {
        pool: &'static str,
        found: Vec<String>,
        needed: usize,
    },
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

    pub fn argument(name: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Argument {
            name: name.into(),
            problem: problem.into(),
        }
    }

    pub fn column(
        input: impl Into<String>,
        column: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        Self::Column {
            input: input.into(),
            column: column.into(),
            problem: problem.into(),
        }
    }

    pub fn unreadable(
        path: impl Into<PathBuf>,
        what: &'static str,
        problem: impl std::fmt::Display,
    ) -> Self {
        Self::Unreadable {
            path: path.into(),
            what,
            problem: problem.to_string(),
        }
    }
}
