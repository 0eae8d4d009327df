//! Deduplication operators. `exact` flags documents whose normalized text was already seen;
//! `minhash` clusters near duplicates with MinHash-LSH, spilling its band table to disk
//! past the memory budget (`band_runs`).

pub mod band_runs;
pub mod exact;
pub mod minhash;
