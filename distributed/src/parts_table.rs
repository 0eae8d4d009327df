//! A stage's upstream parts as a DataFusion table: [`PartsScanSpec`] names the part files
//! with the ordinal of each one's first row, and optionally a row-local operator to apply
//! on the executors. The logical codec carries the spec from the client to the scheduler,
//! whose planner turns the table into a [`PartsScanExec`].

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{RecordBatch, new_empty_array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use blend_datasets::parquet_parts::PartFile;
use blend_operators::operator::with_columns;
use blend_operators::{Operator, build_operator};
use datafusion::catalog::Session;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use crate::ORDINAL_COLUMN;
use crate::parts_scan::PartsScanExec;

/// One upstream part file and the ordinal of its first row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartSlice {
    /// Absolute path, readable by every executor (the work folder is shared).
    pub path: String,
    pub first_ordinal: u64,
    pub rows: u64,
}

/// The slices of `parts` (a stage's parts in stable order) in `dir`: each part's path and
/// the ordinal of its first row.
pub fn part_slices(dir: &Path, parts: &[PartFile]) -> Vec<PartSlice> {
    let mut first_ordinal = 0;
    parts
        .iter()
        .map(|part| {
            let slice = PartSlice {
                path: dir.join(&part.name).to_string_lossy().into_owned(),
                first_ordinal,
                rows: part.rows,
            };
            first_ordinal += part.rows;
            slice
        })
        .collect()
}

/// A row-local operator for the executors: registry name, parameters and run seed, from
/// which each executor rebuilds the operator the client would have run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorCall {
    pub name: String,
    pub params: serde_json::Value,
    pub seed: u64,
    pub memory_budget: u64,
}

impl OperatorCall {
    pub fn build(&self) -> DfResult<Box<dyn Operator>> {
        build_operator(&self.name, &self.params)
            .map_err(|e| DataFusionError::Plan(format!("operator `{}`: {e}", self.name)))
    }
}

/// What a parts scan reads: the parts in stable order, the batch size, the operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartsScanSpec {
    pub parts: Vec<PartSlice>,
    pub batch_rows: usize,
    pub operator: Option<OperatorCall>,
}

/// The schema a Parquet part holds (from its footer).
pub fn part_schema(path: &str) -> DfResult<SchemaRef> {
    let file = File::open(path).map_err(|e| DataFusionError::Plan(format!("{path}: {e}")))?;
    Ok(ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| DataFusionError::Plan(format!("{path}: {e}")))?
        .schema()
        .clone())
}

impl PartsScanSpec {
    /// The rows' schema: the parts' columns, the operator's outputs added or replaced (as
    /// `apply` does), then the ordinal.
    pub fn schema(&self) -> DfResult<SchemaRef> {
        let first = self
            .parts
            .first()
            .ok_or_else(|| DataFusionError::Plan("a parts scan needs at least one part".into()))?;
        let upstream = part_schema(&first.path)?;
        let with_outputs = match &self.operator {
            None => upstream,
            Some(call) => output_schema(call.build()?.as_ref(), upstream)?,
        };
        let mut fields: Vec<Arc<Field>> = with_outputs.fields().iter().cloned().collect();
        fields.push(Arc::new(Field::new(
            ORDINAL_COLUMN,
            DataType::UInt64,
            false,
        )));
        Ok(Arc::new(Schema::new_with_metadata(
            fields,
            with_outputs.metadata().clone(),
        )))
    }
}

/// `upstream` with `operator`'s output fields added or replaced, as its `apply` does.
pub fn output_schema(operator: &dyn Operator, upstream: SchemaRef) -> DfResult<SchemaRef> {
    let empty = RecordBatch::new_empty(upstream);
    let outputs = operator
        .output_fields()
        .into_iter()
        .map(|field| {
            let array = new_empty_array(field.data_type());
            (field, array)
        })
        .collect();
    let batch = with_columns(operator.name(), &empty, outputs)
        .map_err(|e| DataFusionError::Plan(e.to_string()))?;
    Ok(batch.schema())
}

/// The parts of one stage's upstream, as a table.
#[derive(Debug)]
pub struct PartsTable {
    spec: PartsScanSpec,
    schema: SchemaRef,
}

impl PartsTable {
    pub fn try_new(spec: PartsScanSpec) -> DfResult<Self> {
        let schema = spec.schema()?;
        Ok(Self { spec, schema })
    }

    pub fn spec(&self) -> &PartsScanSpec {
        &self.spec
    }
}

#[async_trait]
impl TableProvider for PartsTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(PartsScanExec::try_new(
            &self.spec,
            projection.cloned(),
        )?))
    }
}
