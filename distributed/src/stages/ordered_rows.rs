//! The upstream's rows in stable order, read at the client from the shared parts (one
//! partition after another of a parts scan, without the cluster): the pass in which the
//! client labels MinHash clusters.

use std::sync::Arc;

use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{StreamExt, TryStreamExt};

use crate::parts_scan::PartsScanExec;
use crate::parts_table::PartsScanSpec;

/// The rows of `spec`'s parts in order, without the ordinal column.
pub fn ordered_rows(spec: &PartsScanSpec) -> datafusion::error::Result<SendableRecordBatchStream> {
    let full = spec.schema()?;
    let without_ordinal: Vec<usize> = (0..full.fields().len() - 1).collect();
    let partitions = spec.parts.len();
    let scan = Arc::new(PartsScanExec::try_new(spec, Some(without_ordinal))?);
    let schema = scan.schema();
    let context = Arc::new(TaskContext::default());
    let stream = futures::stream::iter(0..partitions)
        .map(move |partition| scan.execute(partition, context.clone()))
        .try_flatten();
    Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
}
