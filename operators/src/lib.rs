//! Document operators. Each operator is one struct in one file behind the [`Operator`]
//! trait: it reads columns of an Arrow batch and adds attribute columns, never removing a
//! row. Only [`filter::Filter`] removes rows, counting every removal under its rule.

pub mod bpe_inference;
pub mod cluster;
pub mod dedup;
pub mod domain_from_column;
pub mod error;
pub mod filter;
pub mod normalize;
pub mod operator;
pub mod quality;
pub mod registry;
pub mod udf;

pub use error::{OperatorError, Result};
pub use filter::{Filter, FilterOutput, FilterRule, FilterStats, RuleStats};
pub use operator::{Operator, OperatorEnv};
pub use registry::{OPERATOR_NAMES, build_operator, register_all};
