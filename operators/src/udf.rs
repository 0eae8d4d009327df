//! blend's text functions as DataFusion scalar UDFs, so filter rules and `blend sql` can
//! call them: `blend_word_count(text)`, `blend_mean_word_length(text)`, `blend_dedup_key(text)`;
//! and the two that dedup runs on a cluster: `blend_dedup_hash(text)` (the 16-byte key of
//! `dedup.exact`) and `blend_minhash_band_keys(text, params_json, seed)` (the band keys of
//! `dedup.minhash`, from the same kernels).

use std::sync::{Arc, Mutex};

use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeBinaryBuilder, Float64Array, ListBuilder, StringArray,
    UInt64Array, UInt64Builder,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::SessionContext;

use crate::dedup::minhash::{BandKeyer, MinHashDedup};
use crate::spec::OperatorSpec;

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

/// `blend_dedup_hash(text)`: the xxh3-128 dedup key `dedup.exact` writes to `text_hash`.
fn dedup_hash_udf() -> ScalarUDF {
    text_udf("blend_dedup_hash", DataType::FixedSizeBinary(16), |texts| {
        let mut hashes = FixedSizeBinaryBuilder::with_capacity(texts.len(), 16);
        for text in texts.iter() {
            let key = blend_kernels::dedup_key_hash(text.unwrap_or_default());
            hashes
                .append_value(key.to_be_bytes())
                .expect("16-byte values");
        }
        Arc::new(hashes.finish())
    })
}

/// The element field of `blend_minhash_band_keys`'s list.
pub fn band_key_item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::UInt64, true))
}

/// The last keyer built, by its parameters and seed: every batch of one stage reuses it.
type KeyerCache = Mutex<Option<(String, u64, Arc<BandKeyer>)>>;

fn literal_str(args: &[ColumnarValue], index: usize) -> DfResult<String> {
    match args.get(index) {
        Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(value)))) => Ok(value.clone()),
        _ => Err(DataFusionError::Plan(format!(
            "blend_minhash_band_keys: argument {} must be a string literal",
            index + 1
        ))),
    }
}

fn literal_u64(args: &[ColumnarValue], index: usize) -> DfResult<u64> {
    match args.get(index) {
        Some(ColumnarValue::Scalar(ScalarValue::UInt64(Some(value)))) => Ok(*value),
        _ => Err(DataFusionError::Plan(format!(
            "blend_minhash_band_keys: argument {} must be a UInt64 literal",
            index + 1
        ))),
    }
}

fn cached_keyer(cache: &KeyerCache, params: String, seed: u64) -> DfResult<Arc<BandKeyer>> {
    let mut cached = cache.lock().expect("keyer cache lock");
    if let Some((p, s, keyer)) = cached.as_ref()
        && *p == params
        && *s == seed
    {
        return Ok(keyer.clone());
    }
    let json: serde_json::Value = serde_json::from_str(&params)
        .map_err(|e| DataFusionError::Plan(format!("blend_minhash_band_keys: params: {e}")))?;
    let operator = MinHashDedup::from_json(&json)
        .map_err(|e| DataFusionError::Plan(format!("blend_minhash_band_keys: {e}")))?;
    let keyer = Arc::new(
        BandKeyer::new(operator.typed_params(), seed)
            .map_err(|e| DataFusionError::Plan(format!("blend_minhash_band_keys: {e}")))?,
    );
    *cached = Some((params, seed, keyer.clone()));
    Ok(keyer)
}

/// `blend_minhash_band_keys(text, params_json, seed)`: the band keys `dedup.minhash` with
/// these parameters and run seed gives the text; a list of one null for a text without a
/// shingle, so that an `unnest` still shows the document (it joins no cluster).
fn minhash_band_keys_udf() -> ScalarUDF {
    let cache: Arc<KeyerCache> = Arc::new(Mutex::new(None));
    create_udf(
        "blend_minhash_band_keys",
        vec![DataType::Utf8, DataType::Utf8, DataType::UInt64],
        DataType::List(band_key_item()),
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| -> DfResult<ColumnarValue> {
            let keyer = cached_keyer(&cache, literal_str(args, 1)?, literal_u64(args, 2)?)?;
            let texts = ColumnarValue::values_to_arrays(&args[..1])?.remove(0);
            let texts = cast(&texts, &DataType::Utf8)?;
            let texts: Vec<&str> = texts
                .as_string::<i32>()
                .iter()
                .map(Option::unwrap_or_default)
                .collect();
            let mut lists = ListBuilder::with_capacity(UInt64Builder::new(), texts.len())
                .with_field(band_key_item());
            keyer.for_each_keys(&texts, |_, keys| {
                match keys {
                    Some(keys) => lists.values().append_slice(keys),
                    None => lists.values().append_null(),
                }
                lists.append(true);
            });
            Ok(ColumnarValue::Array(Arc::new(lists.finish())))
        }),
    )
}

/// Every blend UDF, for sessions built without a `SessionContext` (cluster roles).
pub fn blend_udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(text_udf("blend_word_count", DataType::UInt64, |texts| {
            Arc::new(
                texts
                    .iter()
                    .map(|t| t.map(word_count))
                    .collect::<UInt64Array>(),
            )
        })),
        Arc::new(text_udf(
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
        )),
        Arc::new(text_udf("blend_dedup_key", DataType::Utf8, |texts| {
            Arc::new(
                texts
                    .iter()
                    .map(|t| {
                        t.map(|t| blend_kernels::hash128_hex(blend_kernels::dedup_key_hash(t)))
                    })
                    .collect::<StringArray>(),
            )
        })),
        Arc::new(dedup_hash_udf()),
        Arc::new(minhash_band_keys_udf()),
    ]
}

/// Registers every blend UDF on `ctx`.
pub fn register_udfs(ctx: &SessionContext) {
    for udf in blend_udfs() {
        ctx.register_udf(udf.as_ref().clone());
    }
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

    #[tokio::test]
    async fn dedup_hash_is_the_exact_dedup_key() {
        let ctx = SessionContext::new();
        register_udfs(&ctx);
        let batches = ctx
            .sql("SELECT blend_dedup_hash('A  b') AS h")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let hash = batches[0]
            .column(0)
            .as_fixed_size_binary()
            .value(0)
            .to_vec();
        let expected = blend_kernels::dedup_key_hash("a b").to_be_bytes();
        assert_eq!(hash, expected);
    }

    #[tokio::test]
    async fn minhash_band_keys_are_the_operators_keys() {
        let ctx = SessionContext::new();
        register_udfs(&ctx);
        let text = "the quick brown fox jumps over the lazy dog again and again";
        let batches = ctx
            .sql(&format!(
                "SELECT blend_minhash_band_keys(t, '{{\"num_perm\": 32}}', arrow_cast(7, 'UInt64')) AS k \
                 FROM (VALUES ('{text}'), ('')) AS v(t)"
            ))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let lists = batches[0].column(0).as_list::<i32>();
        let params = serde_json::json!({ "num_perm": 32 });
        let operator = MinHashDedup::from_json(&params).unwrap();
        let keyer = BandKeyer::new(operator.typed_params(), 7).unwrap();
        let mut expected = Vec::new();
        keyer.for_each_keys(&[text], |_, keys| expected = keys.unwrap().to_vec());
        let first = lists.value(0);
        let first = first.as_primitive::<arrow::datatypes::UInt64Type>();
        assert_eq!(first.values().to_vec(), expected);
        assert_eq!(expected.len(), keyer.bands());
        let none = lists.value(1);
        assert_eq!(
            (none.len(), none.null_count()),
            (1, 1),
            "no shingle: one null key"
        );
    }
}
