//! The one place operators are named: `build_operator` turns a config's operator name and
//! parameters into an operator, and `register_all` puts blend's functions on a DataFusion
//! session (the CLI, tests and a future Ballista executor all call these).

use datafusion::prelude::SessionContext;

use crate::cluster::domains::Cluster;
use crate::cluster::embed::Embed;
use crate::dedup::exact::ExactDedup;
use crate::dedup::minhash::MinHashDedup;
use crate::domain_from_column::DomainFromColumn;
use crate::normalize::Normalize;
use crate::operator::Operator;
use crate::quality::c4::C4Quality;
use crate::quality::classifier::Classifier;
use crate::quality::document_rule::{DocumentRule, RuleOperator};
use crate::quality::fineweb::FineWebQuality;
use crate::quality::gopher::mean_word_length::GopherMeanWordLength;
use crate::quality::gopher::quality::GopherQuality;
use crate::quality::gopher::repetition::GopherRepetition;
use crate::quality::gopher::word_count::GopherWordCount;
use crate::quality::language::Language;
use crate::{OperatorError, Result};

/// Every column-adding operator, plus `filter` (built by the runner with its session).
pub const OPERATOR_NAMES: &[&str] = &[
    Normalize::NAME,
    ExactDedup::NAME,
    MinHashDedup::NAME,
    GopherWordCount::NAME,
    GopherMeanWordLength::NAME,
    GopherQuality::NAME,
    GopherRepetition::NAME,
    C4Quality::NAME,
    FineWebQuality::NAME,
    Language::NAME,
    Classifier::NAME,
    DomainFromColumn::NAME,
    Embed::NAME,
    Cluster::NAME,
    "filter",
];

/// Builds the column-adding operator `name` with `params`.
pub fn build_operator(name: &str, params: &serde_json::Value) -> Result<Box<dyn Operator>> {
    Ok(match name {
        Normalize::NAME => Box::new(Normalize::new(params)?),
        ExactDedup::NAME => Box::new(ExactDedup::new(params)?),
        MinHashDedup::NAME => Box::new(MinHashDedup::new(params)?),
        GopherWordCount::NAME => Box::new(GopherWordCount::new(params)?),
        GopherMeanWordLength::NAME => Box::new(GopherMeanWordLength::new(params)?),
        GopherQuality::NAME => Box::new(RuleOperator::<GopherQuality>::new(params)?),
        GopherRepetition::NAME => Box::new(RuleOperator::<GopherRepetition>::new(params)?),
        C4Quality::NAME => Box::new(RuleOperator::<C4Quality>::new(params)?),
        FineWebQuality::NAME => Box::new(RuleOperator::<FineWebQuality>::new(params)?),
        Language::NAME => Box::new(Language::new(params)?),
        Classifier::NAME => Box::new(Classifier::new(params)?),
        DomainFromColumn::NAME => Box::new(DomainFromColumn::new(params)?),
        Embed::NAME => Box::new(Embed::new(params)?),
        Cluster::NAME => Box::new(Cluster::new(params)?),
        _ => {
            return Err(OperatorError::UnknownOperator {
                name: name.to_string(),
                known: OPERATOR_NAMES.join(", "),
            });
        }
    })
}

/// Registers blend's functions on `ctx`.
pub fn register_all(ctx: &SessionContext) {
    crate::udf::register_udfs(ctx);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_operator_builds_with_defaults() {
        // `quality.classifier` needs a model file; its own tests build one.
        for name in OPERATOR_NAMES
            .iter()
            .filter(|n| !["filter", Classifier::NAME].contains(n))
        {
            let op = build_operator(name, &serde_json::Value::Null).unwrap();
            assert_eq!(op.name(), *name);
            assert!(!op.output_fields().is_empty());
        }
        let error = build_operator("dedup.fuzzy", &serde_json::Value::Null)
            .unwrap_err()
            .to_string();
        assert!(error.contains("dedup.exact"), "{error}");
    }
}
