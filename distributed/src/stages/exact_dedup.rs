//! `dedup.exact` on the cluster: each document's key on the executors, the first ordinal
//! of every key by a `GROUP BY` shuffle, joined back for `exact_dup` and the first
//! document's id in `exact_dup_of`. The first document in stable order is kept, as
//! locally.

use blend_operators::dedup::exact::{DUP_COLUMN, DUP_OF_COLUMN, ExactDedupParams, HASH_COLUMN};

use super::{
    ClusterStage, ClusterStageRequest, Finish, OUTPUT_PREFIX, ident, ordinal, register, stream_sql,
};
use crate::session::ClusterSession;
use crate::{DistributedError, Result};

/// The query: upstream columns (but those the operator replaces), then the outputs.
fn exact_dedup_sql(
    table: &str,
    request: &ClusterStageRequest,
    params: &ExactDedupParams,
) -> String {
    let ord = ordinal();
    let text = ident(&params.text_column);
    let id = ident(&params.id_column);
    let outputs = [HASH_COLUMN, DUP_COLUMN, DUP_OF_COLUMN];
    let kept: Vec<String> = request
        .output_schema
        .fields()
        .iter()
        .filter(|f| !outputs.contains(&f.name().as_str()))
        .map(|f| format!("keyed.{}", ident(f.name())))
        .collect();
    let out = |name: &str| ident(&format!("{OUTPUT_PREFIX}{name}"));
    format!(
        "WITH keyed AS (SELECT *, blend_dedup_hash({text}) AS __key FROM {table}), \
         firsts AS (SELECT __key, MIN({ord}) AS __first FROM keyed GROUP BY __key), \
         first_ids AS (SELECT firsts.__key, firsts.__first, keyed.{id} AS __first_id \
                       FROM firsts JOIN keyed ON keyed.{ord} = firsts.__first) \
         SELECT {kept}, keyed.__key AS {hash}, keyed.{ord} <> first_ids.__first AS {dup}, \
                CASE WHEN keyed.{ord} <> first_ids.__first THEN first_ids.__first_id END AS {dup_of}, \
                keyed.{ord} \
         FROM keyed JOIN first_ids ON keyed.__key = first_ids.__key \
         ORDER BY keyed.{ord}",
        kept = kept.join(", "),
        hash = out(HASH_COLUMN),
        dup = out(DUP_COLUMN),
        dup_of = out(DUP_OF_COLUMN),
    )
}

pub async fn start(cluster: &ClusterSession, request: ClusterStageRequest) -> Result<ClusterStage> {
    let params: ExactDedupParams = serde_json::from_value(request.operator.params())
        .map_err(|e| DistributedError::invalid(&request.stage, format!("parameters: {e}")))?;
    let table = request.table(false)?;
    let name = register(cluster, &request.stage, table)?;
    let sql = exact_dedup_sql(&name, &request, &params);
    let stream = stream_sql(cluster, &request.stage, &sql).await?;
    Ok(ClusterStage {
        stage: request.stage,
        stream,
        operator: request.operator,
        finish: Finish::Rename,
        output_schema: request.output_schema,
    })
}
