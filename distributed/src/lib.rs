//! blend's document stages on Apache DataFusion Ballista: one binary plays every role.
//!
//! - [`session`]: the one session state every role builds: Ballista's config, blend's
//!   codecs ([`codec`]) and blend's functions.
//! - [`roles`]: `blend cluster scheduler` and `blend cluster executor`, Ballista's own
//!   scheduler and executor processes with blend's extension points filled in.
//! - [`parts_table`] and [`parts_scan`]: a stage's upstream Parquet parts as a table whose
//!   rows carry their global ordinal (their place in the corpus's stable order), one
//!   partition per part, optionally through a row-local operator on the executor.
//! - [`stages`]: how each stage runs on the cluster: row-local operators per partition,
//!   exact dedup as `MIN(ordinal) GROUP BY key`, MinHash as a `GROUP BY band key` shuffle
//!   whose star edges meet in the client's union-find. Rows come back in stable order, so
//!   the client writes the same parts as a local run.

pub mod codec;
pub mod error;
pub mod parts_scan;
pub mod parts_table;
pub mod roles;
pub mod session;
pub mod stages;

pub use error::{DistributedError, Result};
pub use session::{ClusterSession, connect};
pub use stages::{ClusterStage, ClusterStageRequest, cluster_plan};

/// The column carrying each document's place in the corpus's stable order (0-based) while
/// a stage runs on the cluster; never written to a stage's parts.
pub const ORDINAL_COLUMN: &str = "_blend_ordinal";
