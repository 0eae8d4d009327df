//! Token shards: the Megatron-LM MMIDIDX `.bin`/`.idx` pair (writer and reader) and the
//! `manifest.json` that lists every shard with its sha256, documents and tokens per domain.

pub mod manifest;
pub mod megatron;

pub use manifest::{
    FileEntry, MANIFEST_FILE, ShardEntry, ShardManifest, TokenizerInfo, VerifiedShards,
    verify_shards,
};
pub use megatron::{MegatronReader, MegatronWriter, TokenDtype, WrittenShard};
