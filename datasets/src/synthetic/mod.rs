//! The deterministic synthetic corpus: documents in several made-up languages and five
//! domains, with planted exact duplicates, near duplicates at known token edit rates, and
//! junk, plus a ground-truth record per document so tests can measure precision and recall.
//! No text comes from anywhere else: every word is built from syllables seeded by `seed`.

mod domains;
mod edits;
mod generator;
mod junk;
mod language;
mod near_dup_accuracy;
mod truth;
mod writer;

pub use generator::{SyntheticConfig, SyntheticCorpus, SyntheticDoc};
pub use near_dup_accuracy::{ClusteredDoc, EditRateAccuracy, NearDupAccuracy, near_dup_accuracy};
pub use truth::{DocKind, GroundTruth, JunkKind};
pub use writer::{
    CORPUS_DIR, CORPUS_MARKER, GROUND_TRUTH_FILE, WrittenCorpus, corpus_is_complete,
    read_ground_truth, write_corpus,
};
