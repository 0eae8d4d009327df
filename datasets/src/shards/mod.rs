//! Token shards: the formats (Megatron-LM MMIDIDX, nanoGPT, llm.c, Parquet) with writers and
//! readers, the plan that draws documents per domain to exact token budgets, and the
//! `manifest.json` that lists every shard with its sha256, documents and tokens per domain.

pub mod budget;
pub mod flat;
pub mod format;
pub mod manifest;
pub mod megatron;
pub mod parquet_tokens;
pub mod split_writer;

pub use budget::{
    BudgetError, DomainDocuments, DomainPlan, SelectionPlan, plan_selection, split_budget,
};
pub use format::{ShardFormat, ShardSetWriter, parse_formats, read_shard};
pub use manifest::{
    FileEntry, MANIFEST_FILE, MANIFEST_VERSION, ShardEntry, ShardManifest, SplitSummary,
    TokenizerInfo, VerifiedShards, verify_shards,
};
pub use megatron::{MegatronReader, MegatronWriter, TokenDtype, WrittenShard};
pub use split_writer::SplitWriter;
