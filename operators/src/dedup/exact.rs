//! `dedup.exact`: xxh3-128 of the dedup key of the text (lowercase, whitespace collapsed;
//! see `blend_kernels::dedup_key_hash`). The first document with a key, in the corpus's
//! stable order, is kept; later ones get `exact_dup = true` and `exact_dup_of` = the id of
//! that first document. Memory: one 16-byte key plus the first id per distinct document.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanBuilder, FixedSizeBinaryBuilder, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field};
use blend_kernels::dedup_key_hash;
use serde::{Deserialize, Serialize};

use crate::operator::{
    Operator, OperatorEnv, default_id_column, default_text_column, string_column, with_columns,
};
use crate::spec::OperatorSpec;
use crate::{OperatorError, Result};

pub const HASH_COLUMN: &str = "text_hash";
pub const DUP_COLUMN: &str = "exact_dup";
pub const DUP_OF_COLUMN: &str = "exact_dup_of";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExactDedupParams {
    #[serde(default = "default_text_column")]
    pub text_column: String,
    #[serde(default = "default_id_column")]
    pub id_column: String,
}

#[derive(Debug)]
pub struct ExactDedup {
    params: ExactDedupParams,
    first_id_by_key: HashMap<u128, String>,
}

impl OperatorSpec for ExactDedup {
    const NAME: &'static str = "dedup.exact";
    type Params = ExactDedupParams;

    fn with_params(params: ExactDedupParams) -> Result<Self> {
        Ok(Self {
            params,
            first_id_by_key: HashMap::new(),
        })
    }

    fn typed_params(&self) -> &ExactDedupParams {
        &self.params
    }
}

/// A key, an id and the hash table's share per distinct document. Not bounded by the
/// memory budget: 100M distinct documents need about 8 GB.
const BYTES_PER_DISTINCT_DOCUMENT: u64 = 80;

impl Operator for ExactDedup {
    fn expected_memory(&self, env: &OperatorEnv) -> u64 {
        env.expected_rows * BYTES_PER_DISTINCT_DOCUMENT
    }

    fn output_fields(&self) -> Vec<Field> {
        vec![
            Field::new(HASH_COLUMN, DataType::FixedSizeBinary(16), false),
            Field::new(DUP_COLUMN, DataType::Boolean, false),
            Field::new(DUP_OF_COLUMN, DataType::Utf8, true),
        ]
    }

    fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let texts = string_column(Self::NAME, &batch, &self.params.text_column)?;
        let ids = string_column(Self::NAME, &batch, &self.params.id_column)?;
        let mut hashes = FixedSizeBinaryBuilder::with_capacity(batch.num_rows(), 16);
        let mut is_dup = BooleanBuilder::with_capacity(batch.num_rows());
        let mut dup_of = StringBuilder::new();
        for row in 0..batch.num_rows() {
            let key = dedup_key_hash(texts.value(row));
            hashes
                .append_value(key.to_be_bytes())
                .map_err(|e| OperatorError::arrow(Self::NAME, e))?;
            match self.first_id_by_key.get(&key) {
                Some(first) => {
                    is_dup.append_value(true);
                    dup_of.append_value(first);
                }
                None => {
                    self.first_id_by_key.insert(key, ids.value(row).to_string());
                    is_dup.append_value(false);
                    dup_of.append_null();
                }
            }
        }
        let fields = self.output_fields();
        with_columns(
            Self::NAME,
            &batch,
            vec![
                (fields[0].clone(), Arc::new(hashes.finish()) as ArrayRef),
                (fields[1].clone(), Arc::new(is_dup.finish()) as ArrayRef),
                (fields[2].clone(), Arc::new(dup_of.finish()) as ArrayRef),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, AsArray, StringArray};
    use arrow::datatypes::Schema;

    use super::*;

    fn batch(ids: Vec<&str>, texts: Vec<&str>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("text", DataType::Utf8, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(ids)),
                Arc::new(StringArray::from(texts)),
            ],
        )
        .unwrap()
    }

    #[test]
    fn keeps_first_across_batches() {
        let mut op = ExactDedup::from_json(&serde_json::Value::Null).unwrap();
        let first = op
            .apply(batch(vec!["a", "b"], vec!["Hello  world", "other"]))
            .unwrap();
        let second = op
            .apply(batch(vec!["c", "d"], vec!["hello world", "other text"]))
            .unwrap();
        let dup = |b: &RecordBatch| -> Vec<bool> {
            b.column(3)
                .as_boolean()
                .iter()
                .map(Option::unwrap)
                .collect()
        };
        assert_eq!(dup(&first), vec![false, false]);
        assert_eq!(dup(&second), vec![true, false]);
        let of = second.column(4).as_string::<i32>();
        assert_eq!(of.value(0), "a");
        assert!(of.is_null(1));
    }
}
