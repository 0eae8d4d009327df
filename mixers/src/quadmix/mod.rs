//! QuaDMix (Liu et al., 2025, "QuaDMix: Quality-Diversity Balanced Data Selection for
//! Efficient LLM Pretraining"): a document's chance of being trained on depends on its
//! quality *and* its domain.
//!
//! - [`quality_ranks`]: each document's quality columns become within-domain percentiles,
//!   merged by weights into one score, and ranked within the domain (`r` in `[0, 1)`, 0 the
//!   best);
//! - [`sampling_function`]: the per-domain sampling function
//!   `S(r) = (2 / (1 + exp(-λ_d (ω_d - r))))^η_d + ε` (expected copies of a document) and
//!   [`QualitySampling`], the function as `mixture.json` stores it;
//! - [`parameters`]: the parameters (domain weights, merge weights, λ, ω, η per domain), their
//!   seeded draws and their layout as regression features;
//! - [`parameter_search`]: LightGBM's predictions over many drawn parameter sets, and the mean
//!   of the best (the paper averages its top 10 of 100k).
//!
//! A domain's share of the tokens is its weight times the tokens its sampling function keeps
//! (`w_d Σ S(r_i) len_i`), normalized over domains, so an exact token budget still holds:
//! the budget fixes each domain's tokens, and `S` decides which of its documents fill them.

pub mod parameter_search;
pub mod parameters;
pub mod quality_ranks;
pub mod sampling_function;

pub use parameter_search::{QuadMixChoice, search_parameters};
pub use parameters::{ParameterSpace, QuadMixParams};
pub use quality_ranks::quality_ranks;
pub use sampling_function::{DomainSampling, QualitySampling, draw_copies, sampling_frequency};
