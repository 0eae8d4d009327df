//! `domain.from_column`: the document's domain is the value of another column (`source` by
//! default). The stage that later derives domains by clustering adds the same `domain`
//! column, so everything downstream (mixtures, shards) reads domains one way.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field};
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::operator::{Operator, string_column, with_columns};
use crate::spec::OperatorSpec;

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

impl OperatorSpec for DomainFromColumn {
    const NAME: &'static str = "domain.from_column";
    type Params = DomainFromColumnParams;

    fn with_params(params: DomainFromColumnParams) -> Result<Self> {
        Ok(Self { params })
    }

    fn typed_params(&self) -> &DomainFromColumnParams {
        &self.params
    }
}

impl Operator for DomainFromColumn {
    fn output_fields(&self) -> Vec<Field> {
        vec![Field::new(DOMAIN_COLUMN, DataType::Utf8, false)]
    }

    fn row_local(&self) -> bool {
        true
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
