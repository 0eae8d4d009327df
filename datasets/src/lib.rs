//! Everything blend reads and writes on disk: corpus readers (Parquet, JSONL, text folders)
//! that yield one Arrow schema, the synthetic corpus, Parquet part files, and token shards
//! with their manifests. Nothing here scores or filters documents.

pub mod document;
pub mod error;
pub mod files;
mod parquet_guard;
pub mod parquet_parts;
pub mod read;
pub mod shards;
pub mod synthetic;

pub use document::{ID_COLUMN, METADATA_COLUMN, SOURCE_COLUMN, TEXT_COLUMN};
pub use error::{DatasetError, Result};
