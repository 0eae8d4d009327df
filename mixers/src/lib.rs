//! Mixtures: how many tokens of each domain a training set takes.
//!
//! - [`experiment_table`]: proxy runs × domain weights → measured metrics (CSV/Parquet);
//! - [`sampler`]: RegMix's Dirichlet candidate sampler with epoch caps and bounds;
//! - [`run_design`]: distinct proxy-run mixtures, the simplex's corners before random draws;
//! - [`regressors`]: LightGBM, linear, log-linear and the data-mixing law behind one trait;
//! - [`model_file`]: a fitted regressor as `blend mix fit` stores it;
//! - [`search`]: top-k mean over a million candidates, bootstrap interval;
//! - [`climb`]: CLIMB's iterative rounds;
//! - [`bayes_opt`]: multi-fidelity Bayesian optimisation over an exact Gaussian process;
//! - [`pool_study`]: random, CLIMB, Bayesian optimisation and RegMix's one shot compared on
//!   recorded runs;
//! - [`quadmix`]: QuaDMix's quality-and-domain sampling function, its parameters and search;
//! - [`evaluation`]: held-out ρ / R² / MAE and the learning curve;
//! - [`mixture`] / [`natural`]: the `mixture.json` schema and the natural mixture;
//! - [`bpe_inference`]: the other direction, a mixture inferred from a BPE tokenizer's merges.

pub mod bayes_opt;
pub mod bpe_inference;
pub mod climb;
pub mod domain_sizes;
pub mod error;
pub mod evaluation;
pub mod experiment_table;
pub mod metrics;
pub mod mixture;
pub mod model_file;
pub mod natural;
mod parquet_frame;
pub mod pool_study;
pub mod quadmix;
pub mod regressors;
pub mod run_design;
pub mod sampler;
pub mod search;

pub use error::{MixerError, Result};
pub use experiment_table::{ExperimentTable, RunsLayout};
pub use mixture::{DomainWeight, MIXTURE_SCHEMA_VERSION, Mixture, Prediction, SearchRecord};
pub use model_file::RegressorModel;
pub use natural::{DomainStats, natural_mixture};
pub use regressors::{FitSettings, Regressor, RegressorKind};
pub use sampler::SamplerConfig;
pub use search::{SearchOutcome, SearchSettings};
