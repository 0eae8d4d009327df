//! One operator shape for datatrove-style document rules: a rule looks at a document's text
//! and either passes it or names the first check it fails (datatrove's reason strings). The
//! operator adds `<prefix>_pass` and `<prefix>_reason` (null when passed) and counts the
//! reasons for its summary; rows are never removed (`filter` does that).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field};
use rayon::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::operator::{Operator, bool_column, string_column, with_columns};
use crate::spec::OperatorSpec;
use crate::{OperatorError, Result};

/// A document rule with its parameters (the serde struct is the rule).
pub trait DocumentRule: Debug + Send + Sync + Serialize + DeserializeOwned + 'static {
    /// The operator name, e.g. `quality.gopher_quality`.
    const NAME: &'static str;
    /// Earlier operator names that still work in pipeline files.
    const ALIASES: &'static [&'static str] = &[];
    /// The output column prefix, e.g. `gopher_quality`.
    const PREFIX: &'static str;
    fn text_column(&self) -> &str;
    /// Checks parameter ranges.
    fn validate(&self) -> std::result::Result<(), String> {
        Ok(())
    }
    /// `Err(reason)` names the first failed check.
    fn check(&self, text: &str) -> std::result::Result<(), &'static str>;
}

#[derive(Debug)]
pub struct RuleOperator<R> {
    rule: R,
    reasons: BTreeMap<String, u64>,
    passed: u64,
}

impl<R: DocumentRule> OperatorSpec for RuleOperator<R> {
    const NAME: &'static str = R::NAME;
    const ALIASES: &'static [&'static str] = R::ALIASES;
    type Params = R;

    fn with_params(rule: R) -> Result<Self> {
        rule.validate()
            .map_err(|message| OperatorError::params(R::NAME, message))?;
        Ok(Self {
            rule,
            reasons: BTreeMap::new(),
            passed: 0,
        })
    }

    fn typed_params(&self) -> &R {
        &self.rule
    }
}

impl<R: DocumentRule> RuleOperator<R> {
    pub fn rule(&self) -> &R {
        &self.rule
    }
}

impl<R: DocumentRule> Operator for RuleOperator<R> {
    fn output_fields(&self) -> Vec<Field> {
        vec![
            Field::new(format!("{}_pass", R::PREFIX), DataType::Boolean, false),
            Field::new(format!("{}_reason", R::PREFIX), DataType::Utf8, true),
        ]
    }

    fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let texts = string_column(R::NAME, &batch, self.rule.text_column())?;
        let texts: Vec<&str> = texts.iter().map(|t| t.unwrap_or("")).collect();
        let verdicts: Vec<Option<&'static str>> = texts
            .par_iter()
            .map(|text| self.rule.check(text).err())
            .collect();
        let pass: BooleanArray = verdicts.iter().map(|v| Some(v.is_none())).collect();
        let reason: StringArray = verdicts.iter().copied().collect();
        let fields = self.output_fields();
        let columns: Vec<(Field, ArrayRef)> = vec![
            (fields[0].clone(), Arc::new(pass)),
            (fields[1].clone(), Arc::new(reason)),
        ];
        let output = with_columns(R::NAME, &batch, columns)?;
        self.count_output(&output)?;
        Ok(output)
    }

    fn row_local(&self) -> bool {
        true
    }

    fn count_output(&mut self, output: &RecordBatch) -> Result<()> {
        let fields = self.output_fields();
        let pass = bool_column(R::NAME, output, fields[0].name())?;
        let reason = string_column(R::NAME, output, fields[1].name())?;
        for (passed, reason) in pass.iter().zip(reason.iter()) {
            match (passed, reason) {
                (Some(true), _) => self.passed += 1,
                (_, reason) => {
                    *self
                        .reasons
                        .entry(reason.unwrap_or_default().to_string())
                        .or_default() += 1
                }
            }
        }
        Ok(())
    }

    fn summary(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "passed": self.passed, "failed_by_reason": self.reasons }))
    }
}
