//! `dedup.minhash` on the cluster. The executors sign every document and emit its band
//! keys (`blend_minhash_band_keys`, the operator's own kernels); a window over each key
//! (`MIN(ordinal) OVER (PARTITION BY key)`, a hash shuffle by key) finds the key's
//! smallest document, and every other document of a shared key comes back as a star edge
//! to it. The client joins the edges in the operator's union-find, which labels clusters
//! by their smallest member, so `dup_cluster`, `dup_cluster_size` and `is_dup` are those
//! of a local run. The edges must fit the memory budget at the client; iterative
//! large-star/small-star rounds on the cluster, for edge lists past it, are not built.

use std::collections::HashSet;

use arrow::array::{Array, AsArray};
use arrow::datatypes::UInt64Type;
use blend_operators::OperatorSpec;
use blend_operators::dedup::minhash::{ExternalGrouping, MinHashDedup};
use futures::StreamExt;

use super::ordered_rows::ordered_rows;
use super::{
    ClusterStage, ClusterStageRequest, Finish, ident, literal, ordinal, register, stream_sql,
};
use crate::session::ClusterSession;
use crate::{DistributedError, Result};

/// Bytes the client holds per edge: the pair, and the key in the shared-key count.
const BYTES_PER_EDGE: u64 = 8 + 16;

/// Star edges `(key, doc, root)` for every document of a shared key but its smallest,
/// and `(NULL, doc, NULL)` for every document without a shingle.
fn edges_sql(table: &str, request: &ClusterStageRequest, text_column: &str) -> String {
    let params = serde_json::to_string(&request.operator.params()).expect("params serialize");
    format!(
        "SELECT key, doc, root FROM ( \
           SELECT key, doc, MIN(doc) OVER (PARTITION BY key) AS root FROM ( \
             SELECT doc, unnest(keys) AS key FROM ( \
               SELECT {ord} AS doc, blend_minhash_band_keys({text}, {params}, arrow_cast({seed}, 'UInt64')) AS keys \
               FROM {table}))) \
         WHERE key IS NULL OR doc <> root",
        ord = ordinal(),
        text = ident(text_column),
        params = literal(&params),
        seed = request.seed,
    )
}

/// The edges the cluster found, and what the summary counts.
#[derive(Debug, Default)]
struct Edges {
    pairs: Vec<(u32, u32)>,
    keys: HashSet<u64>,
    without_shingles: u64,
}

async fn collect_edges(
    cluster: &ClusterSession,
    request: &ClusterStageRequest,
    sql: &str,
) -> Result<Edges> {
    let stage = &request.stage;
    let mut stream = stream_sql(cluster, stage, sql).await?;
    let mut edges = Edges::default();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| DistributedError::datafusion(stage, e))?;
        let keys = batch.column(0).as_primitive::<UInt64Type>();
        let docs = batch.column(1).as_primitive::<UInt64Type>();
        let roots = batch.column(2).as_primitive::<UInt64Type>();
        for row in 0..batch.num_rows() {
            if keys.is_null(row) {
                edges.without_shingles += 1;
                continue;
            }
            let as_u32 = |value: u64| {
                u32::try_from(value)
                    .map_err(|_| DistributedError::invalid(stage, "more than 2^32 documents"))
            };
            edges
                .pairs
                .push((as_u32(roots.value(row))?, as_u32(docs.value(row))?));
            edges.keys.insert(keys.value(row));
        }
        let held = edges.pairs.len() as u64 * BYTES_PER_EDGE;
        if held > request.memory_budget {
            return Err(DistributedError::EdgesOverBudget {
                stage: stage.clone(),
                edges: edges.pairs.len() as u64,
                mib: held >> 20,
                budget_mib: request.memory_budget >> 20,
            });
        }
    }
    Ok(edges)
}

/// The `keep_highest` values in stable order (empty without it), read at the client.
async fn keep_highest_scores(
    request: &ClusterStageRequest,
    operator: &MinHashDedup,
) -> Result<Vec<f64>> {
    if operator.typed_params().keep_highest.is_none() {
        return Ok(Vec::new());
    }
    let stage = &request.stage;
    let mut rows =
        ordered_rows(&request.scan(false)).map_err(|e| DistributedError::datafusion(stage, e))?;
    let mut scores = Vec::new();
    while let Some(batch) = rows.next().await {
        let batch = batch.map_err(|e| DistributedError::datafusion(stage, e))?;
        scores.extend(
            operator
                .keep_highest_values(&batch)
                .map_err(|e| DistributedError::operator(stage, e))?,
        );
    }
    Ok(scores)
}

pub async fn start(cluster: &ClusterSession, request: ClusterStageRequest) -> Result<ClusterStage> {
    let stage = request.stage.clone();
    let params = request.operator.params();
    let text_column = params["text_column"].as_str().unwrap_or("text").to_string();
    let mut operator =
        MinHashDedup::from_json(&params).map_err(|e| DistributedError::operator(&stage, e))?;
    let table = request.table(false)?;
    let name = register(cluster, &stage, table)?;
    let edges = collect_edges(cluster, &request, &edges_sql(&name, &request, &text_column)).await?;
    let documents: u64 = request.parts.iter().map(|p| p.rows).sum();
    let documents = u32::try_from(documents)
        .map_err(|_| DistributedError::invalid(&stage, "more than 2^32 documents"))?;
    let with_shingles = u64::from(documents) - edges.without_shingles;
    let grouping = ExternalGrouping {
        documents_without_shingles: edges.without_shingles,
        band_keys: with_shingles * operator.lsh().bands as u64,
        shared_keys: edges.keys.len() as u64,
        partitions: cluster.ctx.copied_config().target_partitions(),
    };
    let scores = keep_highest_scores(&request, &operator).await?;
    operator
        .label_from_edges(documents, &edges.pairs, grouping, scores)
        .map_err(|e| DistributedError::operator(&stage, e))?;
    tracing::info!(
        "stage `{stage}`: {} candidate edges over {} shared band keys from the cluster",
        edges.pairs.len(),
        edges.keys.len()
    );
    let stream =
        ordered_rows(&request.scan(false)).map_err(|e| DistributedError::datafusion(&stage, e))?;
    Ok(ClusterStage {
        stage,
        stream,
        operator: Box::new(operator),
        finish: Finish::Apply,
        output_schema: request.output_schema,
    })
}
