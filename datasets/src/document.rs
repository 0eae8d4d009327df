//! The one document schema inside blend: `id`, `text`, `source` (all non-null strings),
//! then any columns the input carried, passed through unchanged.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

pub const ID_COLUMN: &str = "id";
pub const TEXT_COLUMN: &str = "text";
pub const SOURCE_COLUMN: &str = "source";
/// JSONL fields other than id/text/source, kept as one JSON object per row.
pub const METADATA_COLUMN: &str = "metadata";

/// The three leading fields every document batch starts with.
pub fn core_fields() -> Vec<Field> {
    vec![
        Field::new(ID_COLUMN, DataType::Utf8, false),
        Field::new(TEXT_COLUMN, DataType::Utf8, false),
        Field::new(SOURCE_COLUMN, DataType::Utf8, false),
    ]
}

/// The core fields followed by `extra` (made nullable: not every input has them).
pub fn document_schema(extra: &[Field]) -> SchemaRef {
    let mut fields = core_fields();
    fields.extend(extra.iter().map(|f| f.clone().with_nullable(true)));
    Arc::new(Schema::new(fields))
}
