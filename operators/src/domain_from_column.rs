//! `domain.from_column`: the document's domain is the value of another column (`source` by
//! default). The stage that later derives domains by clustering adds the same `domain`
//! column, so everything downstream (mixtures, shards) reads domains one way.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field};
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::operator::{Operator, parse_params, string_column, with_columns};

pub const DOMAIN_COLUMN: &str = "domain";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainFromColumnParams {
    #[serde(default = "default_column")]
    pub column: String,
}

fn default_column() -> String {
    "source".into()
}

#[derive(Debug)]
pub struct DomainFromColumn {
    params: DomainFromColumnParams,
}

impl DomainFromColumn {
    pub const NAME: &'static str = "domain.from_column";

    pub fn new(params: &serde_json::Value) -> Result<Self> {
        Ok(Self {
            params: parse_params(Self::NAME, params)?,
        })
    }
}

impl Operator for DomainFromColumn {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn params(&self) -> serde_json::Value {
        serde_json::to_value(&self.params).expect("params serialize")
    }

    fn output_fields(&self) -> Vec<Field> {
        vec![Field::new(DOMAIN_COLUMN, DataType::Utf8, false)]
    }

    fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let values = string_column(Self::NAME, &batch, &self.params.column)?;
        let domains: arrow::array::StringArray = values
            .iter()
            .map(|v| Some(v.filter(|v| !v.is_empty()).unwrap_or("unknown")))
            .collect();
        let field = self.output_fields().remove(0);
        with_columns(
            Self::NAME,
            &batch,
            vec![(field, Arc::new(domains) as ArrayRef)],
        )
    }
}
