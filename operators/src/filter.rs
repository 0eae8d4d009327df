//! `filter`: the one stage that removes rows. Each rule is a named SQL boolean expression
//! over the batch's columns (DataFusion syntax, e.g. `gopher_word_count_pass` or
//! `normalize_reject IS NULL`) saying which rows to KEEP; a row whose expression is false or
//! NULL is removed, as SQL's WHERE does. A row failing several rules is counted under each
//! rule and once in the total. Removed rows come back with a `removed_by` column (rule names,
//! comma-separated) so they can be kept beside the output.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringBuilder};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::DFSchema;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use crate::operator::{default_id_column, default_text_column, parse_params, string_column};
use crate::registry::FILTER_OPERATOR;
use crate::{OperatorError, Result};

pub const REMOVED_BY_COLUMN: &str = "removed_by";

/// One named rule: rows for which `keep` is true stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterRule {
    pub name: String,
    pub keep: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterParams {
    pub rules: Vec<FilterRule>,
    /// Removed ids sampled per rule for the report (the first by stable order).
    #[serde(default = "default_samples")]
    pub samples_per_rule: usize,
    /// Write removed rows beside the output (default true: nothing is lost).
    #[serde(default = "default_true")]
    pub keep_removed: bool,
    /// Warn when more than this share of rows is removed.
    #[serde(default = "default_warn")]
    pub warn_removed_share: f64,
    #[serde(default = "default_text_column")]
    pub text_column: String,
    #[serde(default = "default_id_column")]
    pub id_column: String,
}

fn default_samples() -> usize {
    5
}
fn default_true() -> bool {
    true
}
fn default_warn() -> f64 {
    0.5
}

/// Removals of one rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleStats {
    pub name: String,
    pub keep: String,
    pub removed_docs: u64,
    pub removed_bytes: u64,
    pub sample_ids: Vec<String>,
}

/// Counts of a whole filter run; `input = kept + removed` for docs and bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterStats {
    pub input_docs: u64,
    pub input_bytes: u64,
    pub kept_docs: u64,
    pub kept_bytes: u64,
    pub removed_docs: u64,
    pub removed_bytes: u64,
    pub rules: Vec<RuleStats>,
}

impl FilterStats {
    pub fn removed_share(&self) -> f64 {
        if self.input_docs == 0 {
            0.0
        } else {
            self.removed_docs as f64 / self.input_docs as f64
        }
    }
}

/// Rows kept and rows removed (with `removed_by`) from one batch.
#[derive(Debug)]
pub struct FilterOutput {
    pub kept: RecordBatch,
    pub removed: RecordBatch,
}

#[derive(Debug)]
struct CompiledRule {
    physical: Arc<dyn PhysicalExpr>,
}

/// A filter compiled against one input schema.
#[derive(Debug)]
pub struct Filter {
    params: FilterParams,
    compiled: Vec<CompiledRule>,
    removed_schema: SchemaRef,
    stats: FilterStats,
}

impl Filter {
    /// Parses the rules and compiles them on `ctx` (so functions registered there, such as
    /// blend's UDFs, are available) against `schema`.
    pub fn new(ctx: &SessionContext, schema: &Schema, params: &serde_json::Value) -> Result<Self> {
        let params: FilterParams = parse_params(FILTER_OPERATOR, params)?;
        if params.rules.is_empty() {
            return Err(OperatorError::params(
                FILTER_OPERATOR,
                "needs at least one rule",
            ));
        }
        let df_schema = DFSchema::try_from(schema.clone())
            .map_err(|e| OperatorError::datafusion(FILTER_OPERATOR, e))?;
        let mut compiled = Vec::new();
        for rule in &params.rules {
            let context = |message: String| {
                OperatorError::params(
                    FILTER_OPERATOR,
                    format!("rule `{}` (`{}`): {message}", rule.name, rule.keep),
                )
            };
            let expr = ctx
                .parse_sql_expr(&rule.keep, &df_schema)
                .map_err(|e| context(e.to_string()))?;
            let physical = ctx
                .state()
                .create_physical_expr(expr, &df_schema)
                .map_err(|e| context(e.to_string()))?;
            let data_type = physical
                .data_type(schema)
                .map_err(|e| context(e.to_string()))?;
            if data_type != DataType::Boolean {
                return Err(context(format!(
                    "evaluates to {data_type}, expected a boolean"
                )));
            }
            compiled.push(CompiledRule { physical });
        }
        let mut removed_fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
        removed_fields.push(Arc::new(Field::new(
            REMOVED_BY_COLUMN,
            DataType::Utf8,
            false,
        )));
        let stats = FilterStats {
            rules: params
                .rules
                .iter()
                .map(|r| RuleStats {
                    name: r.name.clone(),
                    keep: r.keep.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        Ok(Self {
            params,
            compiled,
            removed_schema: Arc::new(Schema::new(removed_fields)),
            stats,
        })
    }

    pub fn params(&self) -> &FilterParams {
        &self.params
    }

    pub fn removed_schema(&self) -> SchemaRef {
        self.removed_schema.clone()
    }

    pub fn stats(&self) -> &FilterStats {
        &self.stats
    }

    pub fn apply(&mut self, batch: &RecordBatch) -> Result<FilterOutput> {
        let rows = batch.num_rows();
        let texts = string_column(FILTER_OPERATOR, batch, &self.params.text_column)?;
        let ids = string_column(FILTER_OPERATOR, batch, &self.params.id_column)?;
        let mut failed_rules: Vec<Vec<usize>> = vec![Vec::new(); rows];
        for (rule_index, rule) in self.compiled.iter().enumerate() {
            let value = rule
                .physical
                .evaluate(batch)
                .and_then(|v| v.into_array(rows))
                .map_err(|e| OperatorError::datafusion(FILTER_OPERATOR, e))?;
            let keep = value.as_boolean();
            let stats = &mut self.stats.rules[rule_index];
            for (row, failed) in failed_rules.iter_mut().enumerate() {
                if keep.is_null(row) || !keep.value(row) {
                    failed.push(rule_index);
                    stats.removed_docs += 1;
                    stats.removed_bytes += texts.value(row).len() as u64;
                    if stats.sample_ids.len() < self.params.samples_per_rule {
                        stats.sample_ids.push(ids.value(row).to_string());
                    }
                }
            }
        }
        let keep_mask: BooleanArray = failed_rules.iter().map(|f| Some(f.is_empty())).collect();
        let remove_mask: BooleanArray = failed_rules.iter().map(|f| Some(!f.is_empty())).collect();
        let mut removed_by = StringBuilder::new();
        for (row, failed) in failed_rules.iter().enumerate() {
            let bytes = texts.value(row).len() as u64;
            self.stats.input_docs += 1;
            self.stats.input_bytes += bytes;
            if failed.is_empty() {
                self.stats.kept_docs += 1;
                self.stats.kept_bytes += bytes;
            } else {
                self.stats.removed_docs += 1;
                self.stats.removed_bytes += bytes;
                let names: Vec<&str> = failed
                    .iter()
                    .map(|&i| self.params.rules[i].name.as_str())
                    .collect();
                removed_by.append_value(names.join(","));
            }
        }
        let kept = filter_record_batch(batch, &keep_mask)
            .map_err(|e| OperatorError::arrow(FILTER_OPERATOR, e))?;
        let removed_rows = filter_record_batch(batch, &remove_mask)
            .map_err(|e| OperatorError::arrow(FILTER_OPERATOR, e))?;
        let mut columns: Vec<ArrayRef> = removed_rows.columns().to_vec();
        columns.push(Arc::new(removed_by.finish()));
        let removed = RecordBatch::try_new(self.removed_schema.clone(), columns)
            .map_err(|e| OperatorError::arrow(FILTER_OPERATOR, e))?;
        Ok(FilterOutput { kept, removed })
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, StringArray};

    use super::*;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("text", DataType::Utf8, false),
            Field::new("words", DataType::Int64, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["a", "b", "c", "d"])),
                Arc::new(StringArray::from(vec!["aaaa", "bb", "c", "dddddd"])),
                Arc::new(Int64Array::from(vec![Some(10), Some(1), None, Some(100)])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn counts_each_rule_and_the_union_once() {
        let ctx = SessionContext::new();
        let params = serde_json::json!({"rules": [
            {"name": "enough_words", "keep": "words >= 5"},
            {"name": "not_b_or_c", "keep": "id <> 'b' AND id <> 'c'"},
        ], "samples_per_rule": 1});
        let input = batch();
        let mut filter = Filter::new(&ctx, &input.schema(), &params).unwrap();
        let out = filter.apply(&input).unwrap();
        assert_eq!(out.kept.num_rows(), 2);
        assert_eq!(out.removed.num_rows(), 2);
        let removed_by = out.removed.column(3).as_string::<i32>();
        assert_eq!(removed_by.value(0), "enough_words,not_b_or_c");
        assert_eq!(
            removed_by.value(1),
            "enough_words,not_b_or_c",
            "NULL counts as removed"
        );
        let stats = filter.stats();
        assert_eq!(
            (stats.input_docs, stats.kept_docs, stats.removed_docs),
            (4, 2, 2)
        );
        assert_eq!(
            (stats.input_bytes, stats.kept_bytes, stats.removed_bytes),
            (13, 10, 3)
        );
        assert_eq!(stats.rules[0].removed_docs, 2);
        assert_eq!(stats.rules[0].removed_bytes, 3);
        assert_eq!(stats.rules[0].sample_ids, vec!["b"]);
    }

    #[test]
    fn bad_rules_are_named() {
        let ctx = SessionContext::new();
        let schema = batch().schema();
        let unknown = Filter::new(
            &ctx,
            &schema,
            &serde_json::json!({"rules": [{"name": "r1", "keep": "nope > 1"}]}),
        );
        let message = unknown.unwrap_err().to_string();
        assert!(
            message.contains("r1") && message.contains("nope"),
            "{message}"
        );
        let not_bool = Filter::new(
            &ctx,
            &schema,
            &serde_json::json!({"rules": [{"name": "r2", "keep": "words + 1"}]}),
        );
        assert!(
            not_bool
                .unwrap_err()
                .to_string()
                .contains("expected a boolean")
        );
        assert!(Filter::new(&ctx, &schema, &serde_json::json!({"rules": []})).is_err());
    }
}
