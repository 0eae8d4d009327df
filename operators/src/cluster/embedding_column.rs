//! The `embedding` column: one `FixedSizeList<Float32>` value per document. `domain.embed`
//! writes it; `domain.cluster` reads it (also from `List<Float32|Float64>` columns of
//! user-made embeddings, as long as every row has the same length).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeListArray, Float32Array, GenericListArray, OffsetSizeTrait,
    RecordBatch,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float32Type};

use crate::{OperatorError, Result};

pub const EMBEDDING_COLUMN: &str = "embedding";

/// The field of a `dim`-value embedding column named `name`.
pub fn embedding_field(name: &str, dim: usize) -> Field {
    Field::new(
        name,
        DataType::FixedSizeList(
            Arc::new(Field::new("item", DataType::Float32, false)),
            dim as i32,
        ),
        false,
    )
}

/// A column of `rows` embeddings from row-major `values` (`rows × dim`).
pub fn embedding_array(values: Vec<f32>, dim: usize) -> ArrayRef {
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    Arc::new(FixedSizeListArray::new(
        item,
        dim as i32,
        Arc::new(Float32Array::from(values)),
        None,
    ))
}

fn column_error(operator: &str, column: &str, problem: String) -> OperatorError {
    OperatorError::Column {
        operator: operator.to_string(),
        column: column.to_string(),
        problem,
    }
}

/// Appends the embeddings of `batch`'s column `name` to `out` (row-major) and returns their
/// dimension. `first_row` is the batch's first row in the stream, for error messages.
pub fn read_embeddings(
    operator: &str,
    batch: &RecordBatch,
    name: &str,
    first_row: u64,
    out: &mut Vec<f32>,
) -> Result<usize> {
    let column = batch.column_by_name(name).ok_or_else(|| {
        column_error(
            operator,
            name,
            "is missing; run the `domain.embed` operator before `domain.cluster` (or name your embedding column with `embedding_column`)".into(),
        )
    })?;
    if let Some(row) = (0..column.len()).find(|&i| column.is_null(i)) {
        return Err(column_error(
            operator,
            name,
            format!("is null at row {}", first_row + row as u64),
        ));
    }
    match column.data_type() {
        DataType::FixedSizeList(_, size) => {
            let list = column.as_fixed_size_list();
            let values = cast(list.values(), &DataType::Float32)
                .map_err(|e| OperatorError::arrow(operator, e))?;
            let values = values.as_primitive::<Float32Type>();
            let dim = *size as usize;
            let start = list.offset() * dim;
            out.extend_from_slice(&values.values()[start..start + list.len() * dim]);
            Ok(dim)
        }
        DataType::List(_) => read_list(operator, name, column.as_list::<i32>(), first_row, out),
        DataType::LargeList(_) => {
            read_list(operator, name, column.as_list::<i64>(), first_row, out)
        }
        other => Err(column_error(
            operator,
            name,
            format!("has type {other}, expected a list of floats"),
        )),
    }
}

fn read_list<O: OffsetSizeTrait>(
    operator: &str,
    name: &str,
    list: &GenericListArray<O>,
    first_row: u64,
    out: &mut Vec<f32>,
) -> Result<usize> {
    let mut dim = None;
    for row in 0..list.len() {
        let value = cast(&list.value(row), &DataType::Float32)
            .map_err(|e| OperatorError::arrow(operator, e))?;
        let value = value.as_primitive::<Float32Type>();
        match dim {
            None => dim = Some(value.len()),
            Some(d) if d != value.len() => {
                return Err(column_error(
                    operator,
                    name,
                    format!(
                        "has {} values at row {} but {d} before it; every embedding needs the same length",
                        value.len(),
                        first_row + row as u64
                    ),
                ));
            }
            Some(_) => {}
        }
        out.extend(value.iter().map(|v| v.unwrap_or(f32::NAN)));
    }
    Ok(dim.unwrap_or(0))
}
