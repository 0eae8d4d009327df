//! Reads a Parquet experiment table into a polars frame through the `parquet` crate (arrow-rs)
//! rather than polars' own Parquet reader: on a damaged file polars' reader trusts sizes in
//! the footer and asks for exabytes of memory, which aborts the process (found by fuzzing),
//! where arrow-rs returns an error. Integer columns stay integers (run keys), other numeric
//! columns become f64 and every other column text: all an experiment table holds.

use std::path::Path;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatchReader};
use arrow::compute::cast;
use arrow::datatypes::{DataType as ArrowType, Float64Type, Int64Type};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use polars::prelude::{Column, DataFrame};

use crate::{MixerError, Result};

/// The values of one column, in the type the frame gets.
enum Values {
    Integers(Vec<Option<i64>>),
    Floats(Vec<Option<f64>>),
    Texts(Vec<Option<String>>),
}

impl Values {
    fn for_type(data_type: &ArrowType) -> Self {
        if data_type.is_integer() {
            Self::Integers(Vec::new())
        } else if data_type.is_numeric() {
            Self::Floats(Vec::new())
        } else {
            Self::Texts(Vec::new())
        }
    }

    fn target_type(&self) -> ArrowType {
        match self {
            Self::Integers(_) => ArrowType::Int64,
            Self::Floats(_) => ArrowType::Float64,
            Self::Texts(_) => ArrowType::Utf8,
        }
    }

    fn extend(&mut self, array: &ArrayRef) -> std::result::Result<(), String> {
        let array = cast(array, &self.target_type()).map_err(|e| e.to_string())?;
        match self {
            Self::Integers(values) => values.extend(array.as_primitive::<Int64Type>().iter()),
            Self::Floats(values) => values.extend(array.as_primitive::<Float64Type>().iter()),
            Self::Texts(values) => values.extend(
                array
                    .as_string::<i32>()
                    .iter()
                    .map(|value| value.map(str::to_string)),
            ),
        }
        Ok(())
    }

    fn into_column(self, name: &str) -> Column {
        match self {
            Self::Integers(values) => Column::new(name.into(), values),
            Self::Floats(values) => Column::new(name.into(), values),
            Self::Texts(values) => Column::new(name.into(), values),
        }
    }
}

/// Every row of the Parquet file at `path` as a polars frame.
pub fn read_parquet_frame(path: &Path) -> Result<DataFrame> {
    let unreadable = |message: String| {
        MixerError::table(path, format!("not a readable Parquet file ({message})"))
    };
    // In memory (tables are small): a damaged page header can make the reader skip billions
    // of empty Thrift fields, each a system call at the end of a file but a no-op on bytes.
    let bytes = std::fs::read(path).map_err(|e| MixerError::table(path, e.to_string()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes))
        .and_then(|builder| builder.build())
        .map_err(|e| unreadable(e.to_string()))?;
    let schema = reader.schema();
    let mut columns: Vec<Values> = schema
        .fields()
        .iter()
        .map(|field| Values::for_type(field.data_type()))
        .collect();
    let mut height = 0;
    for batch in reader {
        let batch = batch.map_err(|e| unreadable(e.to_string()))?;
        for ((values, array), field) in columns.iter_mut().zip(batch.columns()).zip(schema.fields())
        {
            values.extend(array).map_err(|e| {
                MixerError::table(
                    path,
                    format!("column `{}` ({}): {e}", field.name(), array.data_type()),
                )
            })?;
        }
        height += batch.num_rows();
    }
    let columns = columns
        .into_iter()
        .zip(schema.fields())
        .map(|(values, field)| values.into_column(field.name()))
        .collect();
    DataFrame::new(height, columns).map_err(|e| MixerError::table(path, e.to_string()))
}
