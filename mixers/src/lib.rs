//! Mixtures: how many tokens of each domain a training set takes. This crate holds the
//! `mixture.json` schema and the natural mixture (each domain at its share of tokens);
//! searched mixtures (RegMix, CLIMB, data-mixing laws) produce the same schema.

pub mod error;
pub mod mixture;
pub mod natural;

pub use error::{MixerError, Result};
pub use mixture::{DomainWeight, MIXTURE_SCHEMA_VERSION, Mixture};
pub use natural::{DomainStats, natural_mixture};
