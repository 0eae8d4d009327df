//! Ground truth of a synthetic document: what it is (original, copy, near copy, junk), which
//! document it copies, at what edit rate, in which language and domain.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Original,
    ExactDuplicate,
    NearDuplicate,
    Junk,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JunkKind {
    RepeatedLines,
    SymbolSoup,
    VeryShort,
    Boilerplate,
}

/// One line of `ground_truth.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    pub id: String,
    pub kind: DocKind,
    pub domain: String,
    pub language: String,
    /// The original this document copies (exact or near duplicates).
    pub copy_of: Option<String>,
    /// Planned token edit rate of a near duplicate (0.05, 0.15, 0.30).
    pub edit_rate: Option<f64>,
    /// Token edits actually applied to a near duplicate.
    pub edits: Option<u32>,
    pub junk: Option<JunkKind>,
}
