//! blend's text functions as DataFusion scalar UDFs, so filter rules and `blend sql` can
//! call them: `blend_word_count(text)`, `blend_mean_word_length(text)`, `blend_dedup_key(text)`.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Float64Array, StringArray, UInt64Array};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::SessionContext;

use crate::quality::gopher::mean_word_length::mean_word_length;
use crate::quality::gopher::word_count::word_count;

fn text_udf<F>(name: &str, output: DataType, compute: F) -> ScalarUDF
where
    F: Fn(&StringArray) -> ArrayRef + Send + Sync + 'static,
{
    create_udf(
        name,
        vec![DataType::Utf8],
        output,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| -> DfResult<ColumnarValue> {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let texts = cast(&arrays[0], &DataType::Utf8)?;
            Ok(ColumnarValue::Array(compute(texts.as_string::<i32>())))
        }),
    )
}

/// Registers every blend UDF on `ctx`.
pub fn register_udfs(ctx: &SessionContext) {
    ctx.register_udf(text_udf("blend_word_count", DataType::UInt64, |texts| {
        Arc::new(
            texts
                .iter()
                .map(|t| t.map(word_count))
                .collect::<UInt64Array>(),
        )
    }));
    ctx.register_udf(text_udf(
        "blend_mean_word_length",
        DataType::Float64,
        |texts| {
            Arc::new(
                texts
                    .iter()
                    .map(|t| t.map(mean_word_length))
                    .collect::<Float64Array>(),
            )
        },
    ));
    ctx.register_udf(text_udf("blend_dedup_key", DataType::Utf8, |texts| {
        Arc::new(
            texts
                .iter()
                .map(|t| t.map(|t| blend_kernels::hash128_hex(blend_kernels::dedup_key_hash(t))))
                .collect::<StringArray>(),
        )
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn udfs_work_in_sql() {
        let ctx = SessionContext::new();
        register_udfs(&ctx);
        let batches = ctx
            .sql(
                "SELECT blend_word_count('a b, c --') AS n, blend_mean_word_length('abc de') AS m, \
                  blend_dedup_key('A  b') = blend_dedup_key('a b') AS same",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let row = &batches[0];
        assert_eq!(
            row.column(0)
                .as_primitive::<arrow::datatypes::UInt64Type>()
                .value(0),
            3
        );
        assert_eq!(
            row.column(1)
                .as_primitive::<arrow::datatypes::Float64Type>()
                .value(0),
            2.5
        );
        assert!(row.column(2).as_boolean().value(0));
    }
}
