//! How a configured stage runs on the cluster, chosen from its operator
//! ([`cluster_plan`]), and the stream of its output rows in stable order
//! ([`ClusterStage`]), which the pipeline writes into the stage's parts as a local run
//! would.
//!
//! - Row-local operators ([`row_local`]) run inside the parts scan on the executors.
//! - `dedup.exact` ([`exact_dedup`]) is `MIN(ordinal) GROUP BY key`, joined back.
//! - `dedup.minhash` without `verify` ([`minhash`]) shuffles band keys to find each shared
//!   key's smallest document; the star edges come to the client's union-find.
//! - Anything else (k-means domains, TF-IDF embeddings, MinHash with `verify`) runs at the
//!   client, reading the upstream parts as a local run does; [`cluster_plan`] says why.

pub mod exact_dedup;
pub mod minhash;
pub mod ordered_rows;
pub mod row_local;

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::cast;
use arrow::datatypes::SchemaRef;
use blend_operators::Operator;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;

use crate::parts_table::{PartSlice, PartsScanSpec, PartsTable};
use crate::session::ClusterSession;
use crate::{DistributedError, ORDINAL_COLUMN, Result};

/// Where a stage runs when the pipeline has a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterPlan {
    /// Applied per part on the executors.
    RowLocal,
    /// Keys on the executors, `GROUP BY key` shuffle, join back.
    ExactDedup,
    /// Band keys on the executors, `GROUP BY band key` shuffle, union-find at the client.
    MinHash,
    /// At the client, as locally, for the reason given.
    Client(&'static str),
}

/// How `operator` runs on a cluster.
pub fn cluster_plan(operator: &dyn Operator) -> ClusterPlan {
    if operator.row_local() {
        return ClusterPlan::RowLocal;
    }
    match operator.name() {
        "dedup.exact" => ClusterPlan::ExactDedup,
        "dedup.minhash" if operator.params()["verify"] == true => ClusterPlan::Client(
            "MinHash `verify` checks candidate pairs against the texts in one ordered pass",
        ),
        "dedup.minhash" => ClusterPlan::MinHash,
        _ => ClusterPlan::Client(
            "its observe passes see the whole corpus in stable order (k-means, TF-IDF)",
        ),
    }
}

/// What a stage on the cluster reads and how.
#[derive(Debug)]
pub struct ClusterStageRequest {
    pub stage: String,
    /// Prepared at the client (`Operator::prepare`); it finishes what the cluster returns.
    pub operator: Box<dyn Operator>,
    /// The upstream's parts in stable order, with absolute paths.
    pub parts: Vec<PartSlice>,
    pub batch_rows: usize,
    pub seed: u64,
    pub memory_budget: u64,
    /// The schema a local run writes (the upstream's with the operator's outputs).
    pub output_schema: SchemaRef,
}

impl ClusterStageRequest {
    fn scan(&self, with_operator: bool) -> PartsScanSpec {
        PartsScanSpec {
            parts: self.parts.clone(),
            batch_rows: self.batch_rows,
            operator: with_operator.then(|| crate::parts_table::OperatorCall {
                name: self.operator.name().to_string(),
                params: self.operator.params(),
                seed: self.seed,
                memory_budget: self.memory_budget,
            }),
        }
    }

    fn table(&self, with_operator: bool) -> Result<Arc<PartsTable>> {
        PartsTable::try_new(self.scan(with_operator))
            .map(Arc::new)
            .map_err(|e| DistributedError::datafusion(&self.stage, e))
    }
}

/// What the client does to each batch the cluster returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finish {
    /// Row-local: the outputs are there; count them into the operator's summary.
    Count,
    /// Exact dedup: the outputs are there, named `__out_<name>`.
    Rename,
    /// MinHash: the labelled operator adds the outputs.
    Apply,
}

/// A stage's output rows in stable order, as a local run writes them.
pub struct ClusterStage {
    stage: String,
    stream: SendableRecordBatchStream,
    operator: Box<dyn Operator>,
    finish: Finish,
    output_schema: SchemaRef,
}

impl std::fmt::Debug for ClusterStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterStage")
            .field("stage", &self.stage)
            .field("finish", &self.finish)
            .finish()
    }
}

/// Starts `request`'s stage on the cluster; `None` when its plan is `Client`.
pub async fn start(
    cluster: &ClusterSession,
    request: ClusterStageRequest,
) -> Result<Option<ClusterStage>> {
    match cluster_plan(request.operator.as_ref()) {
        ClusterPlan::Client(_) => Ok(None),
        ClusterPlan::RowLocal => row_local::start(cluster, request).await.map(Some),
        ClusterPlan::ExactDedup => exact_dedup::start(cluster, request).await.map(Some),
        ClusterPlan::MinHash => minhash::start(cluster, request).await.map(Some),
    }
}

impl ClusterStage {
    /// The next batch of output rows, finished; `None` after the last.
    pub async fn next(&mut self) -> Option<Result<RecordBatch>> {
        let batch = match self.stream.next().await? {
            Ok(batch) => batch,
            Err(e) => return Some(Err(DistributedError::datafusion(&self.stage, e))),
        };
        Some(self.finish(batch))
    }

    /// What the operator found (as its local run's summary).
    pub fn summary(&self) -> Option<serde_json::Value> {
        self.operator.summary()
    }

    fn finish(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let stage = self.stage.clone();
        match self.finish {
            Finish::Count => {
                let out = conform(&stage, &batch, &self.output_schema, |name| name.to_string())?;
                self.operator
                    .count_output(&out)
                    .map_err(|e| DistributedError::operator(&stage, e))?;
                Ok(out)
            }
            Finish::Rename => {
                let outputs: Vec<String> = self
                    .operator
                    .output_fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                conform(&stage, &batch, &self.output_schema, |name| {
                    if outputs.iter().any(|o| o == name) {
                        format!("{OUTPUT_PREFIX}{name}")
                    } else {
                        name.to_string()
                    }
                })
            }
            Finish::Apply => self
                .operator
                .apply(batch)
                .map_err(|e| DistributedError::operator(&stage, e)),
        }
    }
}

/// Prefix of output columns computed in SQL beside the upstream's columns of that name.
pub const OUTPUT_PREFIX: &str = "__out_";

/// `batch` in the schema a local run writes: each field taken from the column that
/// `source_name` names, cast where SQL widened its type; the ordinal is dropped.
fn conform(
    stage: &str,
    batch: &RecordBatch,
    schema: &SchemaRef,
    source_name: impl Fn(&str) -> String,
) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .map(|field| {
            let name = source_name(field.name());
            let column = batch.column_by_name(&name).ok_or_else(|| {
                DistributedError::invalid(stage, format!("the cluster returned no column `{name}`"))
            })?;
            if column.data_type() == field.data_type() {
                Ok(column.clone())
            } else {
                cast(column, field.data_type())
                    .map_err(|e| DistributedError::invalid(stage, format!("column `{name}`: {e}")))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| DistributedError::invalid(stage, format!("output rows: {e}")))
}

/// Registers `table` under a name unique to this stage, for SQL.
fn register(cluster: &ClusterSession, stage: &str, table: Arc<PartsTable>) -> Result<String> {
    let name: String = format!(
        "blend_stage_{}",
        stage
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
    );
    cluster
        .ctx
        .deregister_table(&name)
        .map_err(|e| DistributedError::datafusion(stage, e))?;
    cluster
        .ctx
        .register_table(&name, table)
        .map_err(|e| DistributedError::datafusion(stage, e))?;
    Ok(name)
}

/// Runs `sql` on the cluster as a stream.
async fn stream_sql(
    cluster: &ClusterSession,
    stage: &str,
    sql: &str,
) -> Result<SendableRecordBatchStream> {
    tracing::debug!("stage `{stage}` on the cluster: {sql}");
    let frame = cluster
        .ctx
        .sql(sql)
        .await
        .map_err(|e| DistributedError::datafusion(stage, e))?;
    frame
        .execute_stream()
        .await
        .map_err(|e| DistributedError::datafusion(stage, e))
}

/// A double-quoted SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A single-quoted SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `ORDINAL_COLUMN` as SQL.
fn ordinal() -> String {
    ident(ORDINAL_COLUMN)
}
