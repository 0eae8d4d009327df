//! The `Operator` trait every column-adding stage implements, and the helpers operators
//! share for reading string columns and appending their outputs to a batch.

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BooleanArray, Float64Array, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float64Type, Schema};

use crate::spec::OperatorIdentity;
pub use crate::spec::parse_params;
use crate::{OperatorError, Result};

/// What the stage runner gives an operator before the first batch.
#[derive(Debug, Clone)]
pub struct OperatorEnv {
    /// A private folder for spill files; removed with the stage's temporary folder.
    pub scratch_dir: PathBuf,
    /// Bytes of memory the operator may hold (it spills beyond that).
    pub memory_budget: u64,
    /// Rows the upstream holds (every pass sees exactly these).
    pub expected_rows: u64,
    /// The run's seed, for operators whose own seed parameter is unset.
    pub seed: u64,
}

/// A document operator: reads columns of a batch and returns it with its output columns
/// added (or replaced, when a column of that name exists). It must keep every row in
/// order. Operators see batches in the corpus's stable order and may keep state across
/// them (e.g. exact dedup remembers the keys it has seen).
///
/// Multi-pass operators (fuzzy dedup) first `observe` the whole upstream
/// `observe_passes()` times, each pass closed by `end_pass`, and then `apply` it once more.
///
/// `name()` and `params()` come from [`OperatorIdentity`], which every
/// [`OperatorSpec`](crate::OperatorSpec) has.
pub trait Operator: OperatorIdentity + Send + Debug {
    /// The columns this operator adds or replaces.
    fn output_fields(&self) -> Vec<Field>;

    /// Returns `batch` with the output columns added.
    fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch>;

    /// Called once before any pass.
    fn prepare(&mut self, _env: &OperatorEnv) -> Result<()> {
        Ok(())
    }

    /// How many times the runner streams the upstream through `observe` before `apply`.
    fn observe_passes(&self) -> usize {
        0
    }

    /// Sees one batch of observe pass `pass` (0-based), in stable order.
    fn observe(&mut self, _pass: usize, _batch: &RecordBatch) -> Result<()> {
        Ok(())
    }

    /// Called after the last batch of observe pass `pass`.
    fn end_pass(&mut self, _pass: usize) -> Result<()> {
        Ok(())
    }

    /// What the operator found, for the stage manifest and the report (after `apply`).
    fn summary(&self) -> Option<serde_json::Value> {
        None
    }

    /// Whether each row's outputs depend on that row alone (no observe passes, no state
    /// across batches), so any partition of the rows can be applied anywhere, in any
    /// order: a cluster executor applies such an operator to its share of the parts.
    fn row_local(&self) -> bool {
        false
    }

    /// Counts into the summary what `apply` counts, from a batch this operator's outputs
    /// were computed for elsewhere (a cluster executor applied an instance with the same
    /// parameters). Row-local operators with a summary count here, and `apply` calls it on
    /// its own output, so both paths give the same summary.
    fn count_output(&mut self, _output: &RecordBatch) -> Result<()> {
        Ok(())
    }

    /// Bytes the operator expects to hold at its peak under `env`, beside the batches
    /// streaming through it; the stage prints it before it starts. Row-local operators
    /// hold nothing.
    fn expected_memory(&self, _env: &OperatorEnv) -> u64 {
        0
    }
}

/// Serde default of every `text_column` parameter.
pub(crate) fn default_text_column() -> String {
    "text".into()
}

/// Serde default of every `id_column` parameter.
pub(crate) fn default_id_column() -> String {
    "id".into()
}

/// The column names of `batch`, comma-separated, for error messages.
pub fn column_names(batch: &RecordBatch) -> String {
    batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Column `name` of `batch`, or an error naming the columns it has.
fn named_column<'a>(operator: &str, batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| OperatorError::Column {
            operator: operator.to_string(),
            column: name.to_string(),
            problem: format!("is missing; the batch has {}", column_names(batch)),
        })
}

/// Column `name` of `batch` as a `StringArray` (casting from LargeUtf8 / Utf8View).
pub fn string_column(operator: &str, batch: &RecordBatch, name: &str) -> Result<StringArray> {
    let column = named_column(operator, batch, name)?;
    match column.data_type() {
        DataType::Utf8 => Ok(column.as_string::<i32>().clone()),
        DataType::LargeUtf8 | DataType::Utf8View => {
            let casted =
                cast(column, &DataType::Utf8).map_err(|e| OperatorError::arrow(operator, e))?;
            Ok(casted.as_string::<i32>().clone())
        }
        other => Err(OperatorError::Column {
            operator: operator.to_string(),
            column: name.to_string(),
            problem: format!("has type {other}, expected a string"),
        }),
    }
}

/// Column `name` of `batch` as a `Float64Array` (an operator's own numeric output).
pub fn f64_column(operator: &str, batch: &RecordBatch, name: &str) -> Result<Float64Array> {
    typed_column(operator, batch, name, &DataType::Float64)
        .map(|column| column.as_primitive::<Float64Type>().clone())
}

/// Column `name` of `batch` as a `BooleanArray` (an operator's own flag output).
pub fn bool_column(operator: &str, batch: &RecordBatch, name: &str) -> Result<BooleanArray> {
    typed_column(operator, batch, name, &DataType::Boolean)
        .map(|column| column.as_boolean().clone())
}

fn typed_column(
    operator: &str,
    batch: &RecordBatch,
    name: &str,
    expected: &DataType,
) -> Result<ArrayRef> {
    let column = named_column(operator, batch, name)?;
    if column.data_type() != expected {
        return Err(OperatorError::Column {
            operator: operator.to_string(),
            column: name.to_string(),
            problem: format!("has type {}, expected {expected}", column.data_type()),
        });
    }
    Ok(column.clone())
}

/// `batch` with `columns` appended, replacing any existing column of the same name.
pub fn with_columns(
    operator: &str,
    batch: &RecordBatch,
    columns: Vec<(Field, ArrayRef)>,
) -> Result<RecordBatch> {
    let schema = batch.schema();
    let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
    let mut arrays: Vec<ArrayRef> = batch.columns().to_vec();
    for (field, array) in columns {
        match fields.iter().position(|f| f.name() == field.name()) {
            Some(index) => {
                fields[index] = Arc::new(field);
                arrays[index] = array;
            }
            None => {
                fields.push(Arc::new(field));
                arrays.push(array);
            }
        }
    }
    RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())),
        arrays,
    )
    .map_err(|e| OperatorError::arrow(operator, e))
}
