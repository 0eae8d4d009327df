//! The execution plan of a [`PartsTable`](crate::parts_table::PartsTable). Its child is a
//! work list: an in-memory source with one partition per part, each a one-row batch
//! (path, first ordinal, rows). Ballista gives each task only its partitions of that list
//! (it restricts in-memory sources, not unknown leaves), so every part is read once. For
//! each work row, partition `i` reads the part on a blocking thread, applies the row-local
//! operator (rebuilt here from its name, parameters and seed), and appends each row's
//! ordinal. The physical codec carries the reader settings and projection; the work list
//! travels as a DataFusion plan, and the schema is derived again where it is decoded.

use std::fmt;
use std::fs::File;
use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt64Type};
use blend_operators::{Operator, OperatorEnv};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties,
    ReplaceChildrenOptions,
};
use futures::StreamExt;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use crate::parts_table::{OperatorCall, PartSlice, PartsScanSpec};

/// Batches a part's reader thread may have ready before the consumer takes them.
const READ_AHEAD_BATCHES: usize = 2;

/// How every part is read: what the codec carries besides the work list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReaderSpec {
    /// A part whose footer gives the upstream schema (the first).
    pub schema_part: String,
    pub batch_rows: usize,
    pub operator: Option<OperatorCall>,
}

impl ReaderSpec {
    /// The full output schema (outputs and ordinal included).
    fn schema(&self) -> DfResult<SchemaRef> {
        PartsScanSpec {
            parts: vec![PartSlice {
                path: self.schema_part.clone(),
                first_ordinal: 0,
                rows: 0,
            }],
            batch_rows: self.batch_rows,
            operator: self.operator.clone(),
        }
        .schema()
    }
}

/// The work list's schema: one row per part.
fn work_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("path", DataType::Utf8, false),
        Field::new("first_ordinal", DataType::UInt64, false),
        Field::new("rows", DataType::UInt64, false),
    ]))
}

/// The work list of `parts`: an in-memory source, one partition per part.
pub fn work_list(parts: &[PartSlice]) -> DfResult<Arc<dyn ExecutionPlan>> {
    let schema = work_schema();
    let partitions = parts
        .iter()
        .map(|part| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(vec![part.path.clone()])),
                    Arc::new(UInt64Array::from(vec![part.first_ordinal])),
                    Arc::new(UInt64Array::from(vec![part.rows])),
                ],
            )
            .map(|batch| vec![batch])
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MemorySourceConfig::try_new_exec(&partitions, schema, None)?)
}

/// The parts of one work-list batch.
fn parts_of(batch: &RecordBatch) -> DfResult<Vec<PartSlice>> {
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| DataFusionError::Internal(format!("work list without `{name}`")))
    };
    let paths = column("path")?.as_string::<i32>().clone();
    let firsts = column("first_ordinal")?
        .as_primitive::<UInt64Type>()
        .clone();
    let rows = column("rows")?.as_primitive::<UInt64Type>().clone();
    Ok((0..batch.num_rows())
        .map(|row| PartSlice {
            path: paths.value(row).to_string(),
            first_ordinal: firsts.value(row),
            rows: rows.value(row),
        })
        .collect())
}

#[derive(Debug)]
pub struct PartsScanExec {
    work: Arc<dyn ExecutionPlan>,
    reader: ReaderSpec,
    projection: Option<Vec<usize>>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl PartsScanExec {
    /// The scan of `spec`'s parts, with `projection` of the full schema.
    pub fn try_new(spec: &PartsScanSpec, projection: Option<Vec<usize>>) -> DfResult<Self> {
        let first = spec
            .parts
            .first()
            .ok_or_else(|| DataFusionError::Plan("a parts scan needs at least one part".into()))?;
        let reader = ReaderSpec {
            schema_part: first.path.clone(),
            batch_rows: spec.batch_rows,
            operator: spec.operator.clone(),
        };
        Self::with_work(work_list(&spec.parts)?, reader, projection)
    }

    /// The scan of the parts `work` lists (what the codec rebuilds).
    pub fn with_work(
        work: Arc<dyn ExecutionPlan>,
        reader: ReaderSpec,
        projection: Option<Vec<usize>>,
    ) -> DfResult<Self> {
        let full = reader.schema()?;
        let schema = match &projection {
            Some(indices) => Arc::new(full.project(indices)?),
            None => full,
        };
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            work.properties().output_partitioning().clone(),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(Self {
            work,
            reader,
            projection,
            schema,
            properties,
        })
    }

    pub fn reader(&self) -> &ReaderSpec {
        &self.reader
    }

    pub fn projection(&self) -> Option<&Vec<usize>> {
        self.projection.as_ref()
    }
}

impl DisplayAs for PartsScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let operator = self
            .reader
            .operator
            .as_ref()
            .map_or("none", |o| o.name.as_str());
        write!(f, "BlendPartsScanExec: operator={operator}")
    }
}

impl ExecutionPlan for PartsScanExec {
    fn name(&self) -> &'static str {
        "BlendPartsScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.work]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return Err(DataFusionError::Internal(format!(
                "BlendPartsScanExec has one child (its work list), got {}",
                children.len()
            )));
        }
        Ok(Arc::new(Self::with_work(
            children.remove(0),
            self.reader.clone(),
            self.projection.clone(),
        )?))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let work = self.work.execute(partition, context)?;
        let reader = self.reader.clone();
        let projection = self.projection.clone();
        let schema = self.schema.clone();
        let stream = work
            .map(move |batch| -> DfResult<SendableRecordBatchStream> {
                let parts = parts_of(&batch?)?;
                Ok(read_parts(
                    parts,
                    &reader,
                    projection.clone(),
                    schema.clone(),
                ))
            })
            .map(|stream| match stream {
                Ok(stream) => stream.boxed(),
                Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
            })
            .flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}

/// The rows of `parts`, in order, each read on a blocking thread.
/// `schema` is the scan's (projected) output schema.
fn read_parts(
    parts: Vec<PartSlice>,
    reader: &ReaderSpec,
    projection: Option<Vec<usize>>,
    schema: SchemaRef,
) -> SendableRecordBatchStream {
    let reader = reader.clone();
    let stream = futures::stream::iter(parts)
        .map(move |part| {
            let (sender, receiver) = tokio::sync::mpsc::channel(READ_AHEAD_BATCHES);
            let part_reader = PartReader {
                part,
                batch_rows: reader.batch_rows,
                operator: reader.operator.clone(),
                projection: projection.clone(),
                // Row-local operators keep no spill files; the folder is for any that would.
                scratch: std::env::temp_dir().join(format!("blend-scratch-{}", std::process::id())),
            };
            tokio::task::spawn_blocking(move || {
                if let Err(error) = part_reader.run(&sender) {
                    let _ = sender.blocking_send(Err(error));
                }
            });
            futures::stream::unfold(receiver, |mut receiver| async move {
                receiver.recv().await.map(|batch| (batch, receiver))
            })
        })
        .flatten();
    Box::pin(RecordBatchStreamAdapter::new(schema, stream))
}

/// What one partition's reader thread needs.
struct PartReader {
    part: PartSlice,
    batch_rows: usize,
    operator: Option<OperatorCall>,
    projection: Option<Vec<usize>>,
    scratch: std::path::PathBuf,
}

type BatchSender = tokio::sync::mpsc::Sender<DfResult<RecordBatch>>;

impl PartReader {
    fn fail(&self, message: impl fmt::Display) -> DataFusionError {
        DataFusionError::Execution(format!("part {}: {message}", self.part.path))
    }

    fn prepared_operator(&self) -> DfResult<Option<Box<dyn Operator>>> {
        let Some(call) = &self.operator else {
            return Ok(None);
        };
        let mut operator = call.build()?;
        let env = OperatorEnv {
            scratch_dir: self.scratch.clone(),
            memory_budget: call.memory_budget,
            expected_rows: self.part.rows,
            seed: call.seed,
        };
        operator
            .prepare(&env)
            .map_err(|e| self.fail(format!("operator `{}`: {e}", call.name)))?;
        Ok(Some(operator))
    }

    /// Reads the part, sending each finished batch; stops when the receiver is gone.
    fn run(&self, sender: &BatchSender) -> DfResult<()> {
        let mut operator = self.prepared_operator()?;
        let file = File::open(&self.part.path).map_err(|e| self.fail(e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| self.fail(e))?
            .with_batch_size(self.batch_rows.max(1))
            .build()
            .map_err(|e| self.fail(e))?;
        let mut ordinal = self.part.first_ordinal;
        for batch in reader {
            let batch = batch.map_err(|e| self.fail(e))?;
            let rows = batch.num_rows();
            let batch = match operator.as_mut() {
                None => batch,
                Some(operator) => {
                    let out = operator
                        .apply(batch)
                        .map_err(|e| self.fail(format!("operator `{}`: {e}", operator.name())))?;
                    if out.num_rows() != rows {
                        return Err(self.fail(format!(
                            "operator `{}` returned {} rows for {rows}",
                            operator.name(),
                            out.num_rows()
                        )));
                    }
                    out
                }
            };
            let batch = with_ordinals(&batch, ordinal)?;
            ordinal += rows as u64;
            let batch = match &self.projection {
                Some(indices) => batch.project(indices)?,
                None => batch,
            };
            if sender.blocking_send(Ok(batch)).is_err() {
                return Ok(());
            }
        }
        if ordinal != self.part.first_ordinal + self.part.rows {
            return Err(self.fail(format!(
                "has {} rows, its manifest says {}",
                ordinal - self.part.first_ordinal,
                self.part.rows
            )));
        }
        Ok(())
    }
}

/// `batch` with the ordinal column appended: `first`, `first + 1`, ….
fn with_ordinals(batch: &RecordBatch, first: u64) -> DfResult<RecordBatch> {
    let ordinals = UInt64Array::from_iter_values(first..first + batch.num_rows() as u64);
    let mut fields: Vec<_> = batch.schema().fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(
        crate::ORDINAL_COLUMN,
        DataType::UInt64,
        false,
    )));
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(ordinals));
    let schema = Schema::new_with_metadata(fields, batch.schema().metadata().clone());
    Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
}
