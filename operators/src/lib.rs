//! Document operators. Each operator is one struct in one file behind the [`Operator`]
//! trait: it reads columns of an Arrow batch and adds attribute columns, never removing a
//! row. Only [`filter::Filter`] removes rows, counting every removal under its rule.
//!
//! Adding an operator is one file and one line: the file defines the struct, implements
//! [`OperatorSpec`] (name, earlier names, parameters type, constructor) and [`Operator`]
//! (what it does to a batch); the line is `register::<NewOperator>()` in
//! [`registry::OPERATORS`], from which names, aliases, path parameters and
//! [`build_operator`] are derived.

pub mod cluster;
pub mod dedup;
pub mod domain_from_column;
pub mod error;
pub mod filter;
pub mod normalize;
pub mod operator;
pub mod quality;
pub mod registry;
pub mod spec;
pub mod udf;

pub use error::{OperatorError, Result};
pub use filter::{Filter, FilterOutput, FilterRule, FilterStats, RuleStats};
pub use operator::{Operator, OperatorEnv};
pub use registry::{
    FILTER_OPERATOR, OPERATOR_NAMES, OPERATORS, Registration, build_operator, canonical_name,
    path_params, register_all, registration,
};
pub use spec::{OperatorIdentity, OperatorSpec};
