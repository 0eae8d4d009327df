//! A row-local operator on the cluster: the parts scan applies it on the executors, one
//! task per part, and the rows come back merged by ordinal.

use super::{ClusterStage, ClusterStageRequest, Finish, ordinal, register, stream_sql};
use crate::Result;
use crate::session::ClusterSession;

pub async fn start(cluster: &ClusterSession, request: ClusterStageRequest) -> Result<ClusterStage> {
    let table = request.table(true)?;
    let name = register(cluster, &request.stage, table)?;
    let sql = format!("SELECT * FROM {name} ORDER BY {}", ordinal());
    let stream = stream_sql(cluster, &request.stage, &sql).await?;
    Ok(ClusterStage {
        stage: request.stage,
        stream,
        operator: request.operator,
        finish: Finish::Count,
        output_schema: request.output_schema,
    })
}
