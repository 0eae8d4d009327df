//! The one place operators are named: [`OPERATORS`] holds one [`Registration`] per
//! column-adding operator, and every lookup (names, aliases, path parameters, building) is
//! derived from it. `register_all` puts blend's functions on a DataFusion session (the CLI,
//! tests and a future Ballista executor all call these).

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
use crate::quality::document_rule::RuleOperator;
use crate::quality::fineweb::FineWebQuality;
use crate::quality::gopher::mean_word_length::GopherMeanWordLength;
use crate::quality::gopher::quality::GopherQuality;
use crate::quality::gopher::repetition::GopherRepetition;
use crate::quality::gopher::word_count::GopherWordCount;
use crate::quality::language::Language;
use crate::spec::OperatorSpec;
use crate::{OperatorError, Result};

/// An operator as the registry knows it: what [`OperatorSpec`] says, and how to build it.
#[derive(Debug, Clone, Copy)]
pub struct Registration {
    /// The name pipeline files use (the spec's `NAME`).
    pub name: &'static str,
    /// Earlier names that still resolve to `name`.
    pub aliases: &'static [&'static str],
    /// Parameters that name files.
    pub path_params: &'static [&'static str],
    build: fn(&serde_json::Value) -> Result<Box<dyn Operator>>,
}

impl Registration {
    /// Builds the operator from JSON parameters (null = all defaults).
    pub fn build(&self, params: &serde_json::Value) -> Result<Box<dyn Operator>> {
        (self.build)(params)
    }

    fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }
}

fn build_boxed<T: OperatorSpec + Operator>(
    params: &serde_json::Value,
) -> Result<Box<dyn Operator>> {
    Ok(Box::new(T::from_json(params)?))
}

/// The registration of operator `T`.
const fn register<T: OperatorSpec + Operator>() -> Registration {
    Registration {
        name: T::NAME,
        aliases: T::ALIASES,
        path_params: T::PATH_PARAMS,
        build: build_boxed::<T>,
    }
}

/// Every column-adding operator. Adding one is its file plus one line here.
pub const OPERATORS: [Registration; 14] = [
    register::<Normalize>(),
    register::<ExactDedup>(),
    register::<MinHashDedup>(),
    register::<GopherWordCount>(),
    register::<GopherMeanWordLength>(),
    register::<RuleOperator<GopherQuality>>(),
    register::<RuleOperator<GopherRepetition>>(),
    register::<RuleOperator<C4Quality>>(),
    register::<RuleOperator<FineWebQuality>>(),
    register::<Language>(),
    register::<Classifier>(),
    register::<DomainFromColumn>(),
    register::<Embed>(),
    register::<Cluster>(),
];

/// The row-removing stage; the runner builds it with its session
/// ([`Filter::new`](crate::Filter::new)), so it is named here but not in [`OPERATORS`].
pub const FILTER_OPERATOR: &str = "filter";

/// Every operator name pipeline files may use (aliases aside): [`OPERATORS`]' names, then
/// [`FILTER_OPERATOR`].
pub const OPERATOR_NAMES: [&str; OPERATORS.len() + 1] = {
    let mut names = [FILTER_OPERATOR; OPERATORS.len() + 1];
    let mut index = 0;
    while index < OPERATORS.len() {
        names[index] = OPERATORS[index].name;
        index += 1;
    }
    names
};

/// The registration of the operator named `name` (its name or an alias).
pub fn registration(name: &str) -> Option<&'static Registration> {
    let operators: &'static [Registration] = &OPERATORS;
    operators.iter().find(|r| r.answers_to(name))
}

/// The name an operator name or alias stands for; `filter` is itself.
pub fn canonical_name(name: &str) -> Option<&'static str> {
    if name == FILTER_OPERATOR {
        return Some(FILTER_OPERATOR);
    }
    registration(name).map(|r| r.name)
}

/// The parameters of operator `name` (or alias) that name files; empty when unknown.
pub fn path_params(name: &str) -> &'static [&'static str] {
    registration(name).map_or(&[], |r| r.path_params)
}

/// Builds the column-adding operator `name` (or alias) with `params`.
pub fn build_operator(name: &str, params: &serde_json::Value) -> Result<Box<dyn Operator>> {
    match registration(name) {
        Some(registration) => registration.build(params),
        None => Err(OperatorError::UnknownOperator {
            name: name.to_string(),
            known: OPERATOR_NAMES.join(", "),
        }),
    }
}

/// Registers blend's functions on `ctx`.
pub fn register_all(ctx: &SessionContext) {
    crate::udf::register_udfs(ctx);
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Every name and alias, with the name it stands for.
    fn names_and_aliases() -> Vec<(&'static str, &'static str)> {
        OPERATORS
            .iter()
            .flat_map(|r| {
                std::iter::once((r.name, r.name)).chain(r.aliases.iter().map(|a| (*a, r.name)))
            })
            .collect()
    }

    #[test]
    fn every_listed_operator_builds_with_defaults() {
        // `quality.classifier` needs a model file; its own tests build one.
        for name in OPERATOR_NAMES
            .iter()
            .filter(|n| ![FILTER_OPERATOR, Classifier::NAME].contains(n))
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

    #[test]
    fn every_name_and_alias_builds_the_canonical_operator() {
        for (name, canonical) in names_and_aliases() {
            if canonical == Classifier::NAME {
                continue;
            }
            let op = build_operator(name, &serde_json::Value::Null)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(op.name(), canonical, "built from `{name}`");
        }
    }

    #[test]
    fn aliases_resolve_to_their_operator() {
        assert_eq!(canonical_name("normalize"), Some("text.normalize"));
        assert_eq!(canonical_name("text.normalize"), Some("text.normalize"));
        assert_eq!(
            canonical_name("quality.gopher.word_count"),
            Some("quality.gopher_word_count")
        );
        assert_eq!(
            canonical_name("quality.gopher.mean_word_length"),
            Some("quality.gopher_mean_word_length")
        );
        assert_eq!(
            canonical_name("quality.gopher"),
            Some("quality.gopher_quality")
        );
        assert_eq!(canonical_name("embed"), Some("domain.embed"));
        assert_eq!(canonical_name("cluster"), Some("domain.cluster"));
        assert_eq!(canonical_name(FILTER_OPERATOR), Some(FILTER_OPERATOR));
        assert_eq!(canonical_name("dedup.fuzzy"), None);
        for (name, canonical) in names_and_aliases() {
            assert_eq!(canonical_name(name), Some(canonical));
            assert_eq!(registration(name).map(|r| r.name), Some(canonical));
        }
    }

    #[test]
    fn names_end_with_filter_and_are_distinct() {
        assert_eq!(OPERATOR_NAMES.last(), Some(&FILTER_OPERATOR));
        let distinct: HashSet<&str> = OPERATOR_NAMES.iter().copied().collect();
        assert_eq!(distinct.len(), OPERATOR_NAMES.len(), "{OPERATOR_NAMES:?}");
        assert!(registration(FILTER_OPERATOR).is_none());
    }

    #[test]
    fn no_alias_is_another_name_or_alias() {
        let all = names_and_aliases();
        let distinct: HashSet<&str> = all.iter().map(|(name, _)| *name).collect();
        assert_eq!(distinct.len(), all.len(), "{all:?}");
        for registration in &OPERATORS {
            for alias in registration.aliases {
                assert!(!OPERATOR_NAMES.contains(alias), "alias `{alias}`");
            }
        }
    }

    #[test]
    fn path_params_by_name_or_alias() {
        assert_eq!(path_params("quality.classifier"), ["model"]);
        assert_eq!(path_params("embed"), ["model_dir"]);
        assert_eq!(path_params("domain.embed"), ["model_dir"]);
        assert!(path_params("dedup.exact").is_empty());
        assert!(path_params("no.such.operator").is_empty());
        assert!(path_params(FILTER_OPERATOR).is_empty());
    }
}
