//! blend's extension codecs: Ballista's own codecs, plus the parts table (client →
//! scheduler, logical) and the parts scan (scheduler → executors, physical). blend's
//! messages start with [`MAGIC`], which no protobuf message can (field number 0 is
//! invalid), so everything else goes to Ballista's codecs unchanged.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan, ScalarUDF};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use serde::{Deserialize, Serialize};

use crate::parts_scan::{PartsScanExec, ReaderSpec};
use crate::parts_table::{PartsScanSpec, PartsTable};

/// The first bytes of every blend message.
pub const MAGIC: &[u8] = b"\0blend.v1\0";

fn encode_json<T: Serialize>(value: &T, buf: &mut Vec<u8>) -> DfResult<()> {
    buf.extend_from_slice(MAGIC);
    serde_json::to_writer(buf, value).map_err(|e| DataFusionError::Internal(e.to_string()))
}

/// The JSON after the magic, or `None` when `buf` is not blend's.
fn decode_json<T: for<'de> Deserialize<'de>>(buf: &[u8]) -> Option<DfResult<T>> {
    let body = buf.strip_prefix(MAGIC)?;
    Some(serde_json::from_slice(body).map_err(|e| {
        DataFusionError::Internal(format!("a blend plan message does not decode: {e}"))
    }))
}

/// The parts scan as it travels: reader settings and projection (its work list is its
/// child, encoded by DataFusion).
#[derive(Debug, Serialize, Deserialize)]
struct PartsScanMessage {
    reader: ReaderSpec,
    projection: Option<Vec<usize>>,
}

#[derive(Debug, Default)]
pub struct BlendLogicalCodec {
    ballista: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for BlendLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> DfResult<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> DfResult<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn TableProvider>> {
        match decode_json::<PartsScanSpec>(buf) {
            Some(spec) => Ok(Arc::new(PartsTable::try_new(spec?)?)),
            None => self
                .ballista
                .try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> DfResult<()> {
        let any: &dyn std::any::Any = node.as_ref();
        match any.downcast_ref::<PartsTable>() {
            Some(table) => encode_json(table.spec(), buf),
            None => self
                .ballista
                .try_encode_table_provider(table_ref, node, buf),
        }
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> DfResult<()> {
        self.ballista.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<ScalarUDF>> {
        self.ballista.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.ballista.try_encode_udf(node, buf)
    }
}

#[derive(Debug, Default)]
pub struct BlendPhysicalCodec {
    ballista: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for BlendPhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        match decode_json::<PartsScanMessage>(buf) {
            Some(message) => {
                let message = message?;
                let [work] = inputs else {
                    return Err(DataFusionError::Internal(format!(
                        "BlendPartsScanExec has one input (its work list), got {}",
                        inputs.len()
                    )));
                };
                Ok(Arc::new(PartsScanExec::with_work(
                    work.clone(),
                    message.reader,
                    message.projection,
                )?))
            }
            None => self.ballista.try_decode(buf, inputs, ctx, proto_converter),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<()> {
        let any: &dyn std::any::Any = node.as_ref();
        match any.downcast_ref::<PartsScanExec>() {
            Some(scan) => encode_json(
                &PartsScanMessage {
                    reader: scan.reader().clone(),
                    projection: scan.projection().cloned(),
                },
                buf,
            ),
            None => self.ballista.try_encode(node, buf, proto_converter),
        }
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<ScalarUDF>> {
        self.ballista.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.ballista.try_encode_udf(node, buf)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use arrow::array::{AsArray, RecordBatch, StringArray};
    use arrow::compute::concat_batches;
    use arrow::datatypes::{DataType, Field, Schema, UInt64Type};
    use ballista_scheduler::state::task_builder::restrict_plan_to_partitions;
    use blend_datasets::parquet_parts::PartWriter;
    use datafusion::physical_plan::collect;
    use datafusion::prelude::SessionContext;
    use datafusion_proto::bytes::{
        logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
        physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
    };

    use super::*;
    use crate::ORDINAL_COLUMN;
    use crate::parts_table::{OperatorCall, PartSlice, part_slices};

    /// Three parts of 4 documents each (ids d00..d11) in `dir`, as slices.
    fn write_parts(dir: &Path) -> Vec<PartSlice> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("text", DataType::Utf8, false),
        ]));
        let ids: Vec<String> = (0..12).map(|i| format!("d{i:02}")).collect();
        let texts: Vec<String> = (0..12)
            .map(|i| format!("document {i} has {} words", "many ".repeat(i)))
            .collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(ids)),
                Arc::new(StringArray::from(texts)),
            ],
        )
        .unwrap();
        let mut writer = PartWriter::new(dir, "part", schema, 4);
        writer.write(&batch).unwrap();
        part_slices(dir, &writer.finish().unwrap())
    }

    fn spec(parts: Vec<PartSlice>) -> PartsScanSpec {
        PartsScanSpec {
            parts,
            batch_rows: 3,
            operator: Some(OperatorCall {
                name: "quality.gopher_word_count".into(),
                params: serde_json::Value::Null,
                seed: 1,
                memory_budget: 1 << 20,
            }),
        }
    }

    fn rows(batches: &[RecordBatch]) -> RecordBatch {
        concat_batches(&batches[0].schema(), batches).unwrap()
    }

    fn ordinals(batch: &RecordBatch) -> Vec<u64> {
        batch
            .column_by_name(ORDINAL_COLUMN)
            .unwrap()
            .as_primitive::<UInt64Type>()
            .values()
            .to_vec()
    }

    #[tokio::test]
    async fn the_parts_table_survives_the_logical_codec() {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec(write_parts(dir.path()));
        let ctx = SessionContext::new();
        ctx.register_table("docs", Arc::new(PartsTable::try_new(spec.clone()).unwrap()))
            .unwrap();
        let frame = ctx
            .sql(&format!("SELECT * FROM docs ORDER BY {ORDINAL_COLUMN}"))
            .await
            .unwrap();
        let plan = frame.logical_plan().clone();
        let codec = BlendLogicalCodec::default();
        let bytes = logical_plan_to_bytes_with_extension_codec(&plan, &codec).unwrap();
        assert!(
            bytes.windows(MAGIC.len()).any(|w| w == MAGIC),
            "the table travels as blend's message"
        );
        let decoded =
            logical_plan_from_bytes_with_extension_codec(&bytes, &ctx.task_ctx(), &codec).unwrap();
        let before = rows(&frame.collect().await.unwrap());
        let after = rows(
            &ctx.execute_logical_plan(decoded)
                .await
                .unwrap()
                .collect()
                .await
                .unwrap(),
        );
        assert_eq!(before, after);
        assert_eq!(ordinals(&after), (0..12).collect::<Vec<_>>());
        let counts = after
            .column_by_name("gopher_word_count")
            .expect("the operator ran in the scan");
        assert_eq!(counts.len(), 12);
    }

    #[tokio::test]
    async fn the_parts_scan_survives_the_physical_codec() {
        let dir = tempfile::tempdir().unwrap();
        let scan: Arc<dyn ExecutionPlan> =
            Arc::new(PartsScanExec::try_new(&spec(write_parts(dir.path())), None).unwrap());
        let codec = BlendPhysicalCodec::default();
        let bytes = physical_plan_to_bytes_with_extension_codec(scan.clone(), &codec).unwrap();
        let ctx = SessionContext::new();
        let decoded =
            physical_plan_from_bytes_with_extension_codec(&bytes, &ctx.task_ctx(), &codec).unwrap();
        assert_eq!(
            decoded.properties().output_partitioning().partition_count(),
            3
        );
        let before = rows(&collect(scan, ctx.task_ctx()).await.unwrap());
        let after = rows(&collect(decoded, ctx.task_ctx()).await.unwrap());
        assert_eq!(before.num_rows(), 12);
        let mut sorted = ordinals(&after);
        sorted.sort_unstable();
        assert_eq!(sorted, (0..12).collect::<Vec<_>>());
        assert_eq!(before.schema(), after.schema());
    }

    /// Ballista hands each task only its partitions of a stage: the scan must then read
    /// only those parts, with their own ordinals (an unknown leaf would read them all).
    #[tokio::test]
    async fn a_task_restricted_to_one_partition_reads_only_its_part() {
        let dir = tempfile::tempdir().unwrap();
        let scan: Arc<dyn ExecutionPlan> =
            Arc::new(PartsScanExec::try_new(&spec(write_parts(dir.path())), None).unwrap());
        let task = restrict_plan_to_partitions(scan, &[2]).unwrap();
        assert_eq!(task.properties().output_partitioning().partition_count(), 1);
        let ctx = SessionContext::new();
        let batch = rows(&collect(task, ctx.task_ctx()).await.unwrap());
        assert_eq!(ordinals(&batch), vec![8, 9, 10, 11]);
        let ids = batch.column_by_name("id").unwrap().as_string::<i32>();
        assert_eq!(ids.value(0), "d08");
    }

    #[test]
    fn other_messages_go_to_ballistas_codecs() {
        assert!(decode_json::<PartsScanSpec>(b"\x0a\x03abc").is_none());
        assert!(decode_json::<PartsScanSpec>(MAGIC).unwrap().is_err());
    }
}
